import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * The dependency rules of docs/ARCHITECTURE.md, checked against the import statements of every
 * file in src/. The scanner is TypeScript's own pre-processor (`ts.preProcessFile`), which reads
 * `import … from`, `export … from`, side-effect imports and `import('…')` and skips comments and
 * strings, so a rule cannot be broken by an import that a regular expression would miss.
 */

const ROOT = join(import.meta.dirname, '../..')
const MAX_LINES = 400

/** One import of one of our files by another, as paths relative to the repository root. */
interface Arrow {
  from: string
  to: string
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    // The generated Env types are not code anyone writes or imports.
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Relative specifiers only: packages (hono, zod, node:…) are not folders of ours. */
function arrowsOf(file: string, text: string): { arrows: Arrow[]; packages: string[] } {
  const arrows: Arrow[] = []
  const packages: string[] = []
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!fileName.startsWith('.')) {
      packages.push(fileName)
      continue
    }
    arrows.push({ from: rel(file), to: rel(resolve(dirname(file), fileName)) })
  }
  return { arrows, packages }
}

const rel = (path: string) => relative(ROOT, path).split('\\').join('/')

const FILES = sourceFiles(join(ROOT, 'src'))
const TEXT = new Map(FILES.map((f) => [rel(f), readFileSync(f, 'utf8')]))
const SCANNED = FILES.map((f) => ({ file: rel(f), ...arrowsOf(f, TEXT.get(rel(f))!) }))
const ARROWS = SCANNED.flatMap((s) => s.arrows)

/**
 * A rule names the importing files it governs (`from`; a folder ends in `/`) and either the only
 * places they may import from or the places they must never import from; or it names imported
 * files (`to`) and the only places that may import them. `why` is printed with a breach.
 */
type Rule =
  | { from: string; only: readonly string[]; why: string }
  | { from: string; never: readonly string[]; why: string }
  | { to: string; onlyFrom: readonly string[]; why: string }

/** Folders and files that exist only to run the relay (the Worker), never a library or the CLI. */
const RELAY = ['src/routes/', 'src/http/', 'src/store/', 'src/gossip/', 'src/blobs/', 'src/explorer/', 'src/config.ts', 'src/app.ts', 'src/index.ts']
/** What users run: none of it is loaded by the relay. */
const CLIENT_SIDE = ['src/client/', 'src/cli/', 'src/bridges/', 'src/bridge-worker/']

const RULES: readonly Rule[] = [
  { from: 'src/verify/', only: ['src/verify/'], why: 'the protocol is a pure leaf shared by the relay, the client and the CLI' },
  {
    from: 'src/policy/',
    only: ['src/policy/', 'src/verify/', 'src/identity/types.ts'],
    why: 'policy is pure (statements in, verdict out); it takes alias proofs as the leaf types of identity, never their I/O',
  },
  { from: 'src/net/', only: ['src/net/', 'src/verify/'], why: 'the one outbound door is used by relay and client alike, so it imports none of its callers' },
  { from: 'src/client/', never: ['src/policy/', 'src/cli/', ...RELAY], why: 'the client speaks HTTP, not relay internals; the one gatherer lives in policy, over a source' },
  { from: 'src/bridges/', never: ['src/policy/', 'src/cli/', ...RELAY], why: 'bridges publish through the client; they run in the CLI, not in the relay' },
  { from: 'src/bridge-worker/', only: ['src/bridge-worker/', 'src/bridges/', 'src/client/', 'src/verify/'], why: 'the bridge Worker runs the bridges with a KV checkpoint; it is not a relay' },
  { from: 'src/store/', never: ['src/routes/', 'src/http/', 'src/app.ts', 'src/index.ts'], why: 'storage knows no HTTP' },
  { from: 'src/blobs/', never: ['src/gossip/'], why: 'blob sources are configuration handed in by the route, not gossip state' },
  { from: 'src/identity/', never: ['src/policy/'], why: 'identity produces proofs; policy consumes them' },
  { from: 'src/cli/', never: RELAY, why: 'the CLI reaches relays over HTTP through the client, like any other user' },
  { from: 'src/nar/', only: ['src/nar/', 'src/verify/'], why: 'the NAR codec is a leaf the client and CLI share' },
  { from: 'src/git/', only: ['src/git/', 'src/verify/'], why: 'git object hashing is a leaf like the NAR codec' },
  { from: 'src/gossip/', never: ['src/routes/'], why: 'a pulled statement takes the same ingest path as a POST, not a route' },
  ...RELAY.map((from) => ({ from, never: CLIENT_SIDE, why: 'none of the client side runs in the relay' })),
  { to: 'src/http/', onlyFrom: RELAY, why: 'src/http/ is the inbound side of the relay only; outbound requests go through src/net/' },
]

const under = (path: string, place: string) => (place.endsWith('/') ? path.startsWith(place) : path === place)

/** Every arrow that breaks a rule, as readable lines (empty when the tree keeps them all). */
function breaches(arrows: readonly Arrow[], rules: readonly Rule[] = RULES): string[] {
  const out: string[] = []
  for (const a of arrows) {
    for (const r of rules) {
      const bad =
        'to' in r
          ? under(a.to, r.to) && !r.onlyFrom.some((p) => under(a.from, p))
          : under(a.from, r.from) && ('only' in r ? !r.only.some((p) => under(a.to, p)) : r.never.some((p) => under(a.to, p)))
      if (bad) out.push(`${a.from} imports ${a.to}: ${r.why}`)
    }
  }
  return out
}

/** The files `src/cli/index.ts` loads as commands: `name: { …, load: () => import('./commands/x.ts') }`. */
function commandFiles(): Set<string> {
  return new Set(ARROWS.filter((a) => a.from === 'src/cli/index.ts' && a.to.startsWith('src/cli/commands/')).map((a) => a.to))
}

/**
 * Commands are loaded one at a time by the command table, so one must not import another (it
 * would load a second command's code and couple their options). A command may be split into
 * parts named after it (`bridge-npm.ts` for `bridge.ts`), imported only by that command.
 */
function commandBreaches(arrows: readonly Arrow[], commands: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const a of arrows) {
    if (!a.from.startsWith('src/cli/commands/') || !a.to.startsWith('src/cli/commands/')) continue
    const base = a.from.slice(0, -'.ts'.length)
    const isOwnPart = !commands.has(a.to) && a.to.startsWith(`${base}-`)
    if (!isOwnPart) out.push(`${a.from} imports ${a.to}: a command imports no other command file`)
  }
  return out
}

describe('the import scanner', () => {
  it('sees static, re-exported and lazy imports, and every one names a file that exists', () => {
    expect(FILES.length).toBeGreaterThan(100)
    // The CLI's commands are all lazy `import()`s, so a scanner blind to them would find none.
    expect(commandFiles().size).toBeGreaterThanOrEqual(15)
    // verify/index.ts is nothing but `export * from`.
    expect(ARROWS.filter((a) => a.from === 'src/verify/index.ts').length).toBeGreaterThanOrEqual(8)
    for (const a of ARROWS) expect(existsSync(join(ROOT, a.to)), `${a.from} → ${a.to}`).toBe(true)
  })

  it('finds each kind of breach in a tree that has one', () => {
    const bad: Arrow[] = [
      { from: 'src/verify/json.ts', to: 'src/store/statements.ts' },
      { from: 'src/policy/gather.ts', to: 'src/identity/check.ts' },
      { from: 'src/policy/gather.ts', to: 'src/net/index.ts' },
      { from: 'src/net/fetch.ts', to: 'src/client/http.ts' },
      { from: 'src/client/query.ts', to: 'src/policy/index.ts' },
      { from: 'src/client/http.ts', to: 'src/http/body.ts' },
      { from: 'src/client/http.ts', to: 'src/config.ts' },
      { from: 'src/bridges/http.ts', to: 'src/http/body.ts' },
      { from: 'src/store/ingest.ts', to: 'src/routes/statements.ts' },
      { from: 'src/blobs/pull-through.ts', to: 'src/gossip/index.ts' },
      { from: 'src/identity/method.ts', to: 'src/policy/engine.ts' },
      { from: 'src/cli/commands/show.ts', to: 'src/store/statements.ts' },
      { from: 'src/nar/fs.ts', to: 'src/cli/config.ts' },
      { from: 'src/identity/http.ts', to: 'src/http/body.ts' },
      { from: 'src/gossip/pull.ts', to: 'src/routes/feed.ts' },
      { from: 'src/explorer/trust.ts', to: 'src/client/source.ts' },
      { from: 'src/routes/blobs.ts', to: 'src/bridges/index.ts' },
      { from: 'src/index.ts', to: 'src/cli/index.ts' },
    ]
    for (const a of bad) expect(breaches([a]), `${a.from} → ${a.to}`).not.toEqual([])
    expect(breaches([{ from: 'src/policy/engine.ts', to: 'src/identity/types.ts' }, { from: 'src/routes/feed.ts', to: 'src/store/statements.ts' }])).toEqual([])
    const commands = new Set(['src/cli/commands/fetch.ts', 'src/cli/commands/verify.ts', 'src/cli/commands/bridge.ts'])
    expect(commandBreaches([{ from: 'src/cli/commands/fetch.ts', to: 'src/cli/commands/verify.ts' }], commands)).toHaveLength(1)
    expect(commandBreaches([{ from: 'src/cli/commands/bridge-npm.ts', to: 'src/cli/commands/fetch.ts' }], commands)).toHaveLength(1)
    expect(commandBreaches([{ from: 'src/cli/commands/bridge.ts', to: 'src/cli/commands/bridge-npm.ts' }], commands)).toEqual([])
  })
})

describe('the dependency rules of docs/ARCHITECTURE.md', () => {
  it('no import in src/ breaks a folder rule', () => {
    expect(breaches(ARROWS)).toEqual([])
  })

  it('no command module imports another command', () => {
    expect(commandBreaches(ARROWS, commandFiles())).toEqual([])
  })

  it(`no file in src/ is over ${MAX_LINES} lines`, () => {
    const long = [...TEXT].filter(([, text]) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0) > MAX_LINES).map(([file]) => file)
    expect(long).toEqual([])
  })

  /**
   * workerd is not Node: of Node's modules, only `node:crypto` (which workerd implements natively
   * under `nodejs_compat`) is allowed, for the log's synchronous SHA-256 (src/verify/tlog.ts).
   */
  const WORKER_NODE_MODULES = new Set(['node:crypto'])
  it('nothing the Worker loads imports a node: module but node:crypto (workerd is not Node)', () => {
    const seen = new Set<string>()
    const todo = ['src/index.ts', 'src/bridge-worker/index.ts'] // both Workers
    const bad: string[] = []
    while (todo.length > 0) {
      const file = todo.pop()!
      if (seen.has(file)) continue
      seen.add(file)
      const s = SCANNED.find((x) => x.file === file)!
      for (const p of s.packages) if (p.startsWith('node:') && !WORKER_NODE_MODULES.has(p)) bad.push(`${file} imports ${p}`)
      todo.push(...s.arrows.map((a) => a.to))
    }
    expect(seen.size).toBeGreaterThan(50)
    expect(bad).toEqual([])
  })
})
