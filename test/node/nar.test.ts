import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NarFileError, hashFile, narHashPath, narStreamPath, unpackNar } from '../../src/nar/fs.ts'
import { NAR_LIMITS, NarParseError, narChunks, parseNar, type NarNode } from '../../src/nar/index.ts'
import { base64, hex } from '../../src/verify/bytes.ts'

const run = promisify(execFile)
const utf8 = (s: string) => new TextEncoder().encode(s)
const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

// ---------------------------------------------------------------------------------------------
// Trees: the fixtures' JSON form, an in-memory form, writing one to disk, reading one from a NAR

type JsonBytes = string | { hex: string }
type JsonTree =
  | { type: 'regular'; mode?: string; contents: { utf8: string } | { hex: string } | { pattern: number } }
  | { type: 'symlink'; target: JsonBytes }
  | { type: 'directory'; mode?: string; entries: [JsonBytes, JsonTree][] }

interface Fixture {
  name: string
  description: string
  linuxOnly?: boolean
  tree: JsonTree
  narSize?: number
  sha256?: { sri: string; base16: string; base32: string }
}
interface Vectors {
  description: string
  nix: string | null
  fixtures: Fixture[]
}

type Tree =
  | { type: 'regular'; mode: number; contents: Uint8Array }
  | { type: 'symlink'; target: Uint8Array }
  | { type: 'directory'; mode: number; entries: [Uint8Array, Tree][] }

/** The fixtures' large-file contents: byte i is i mod 251 (a prime, so no period lines up with 8 or 1 MiB). */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = i % 251
  return b
}
const jsonBytes = (b: JsonBytes) => (typeof b === 'string' ? utf8(b) : hex.decode(b.hex))

function fromJson(j: JsonTree): Tree {
  if (j.type === 'symlink') return { type: 'symlink', target: jsonBytes(j.target) }
  const mode = parseInt(j.mode ?? (j.type === 'directory' ? '0755' : '0644'), 8)
  if (j.type === 'directory') return { type: 'directory', mode, entries: j.entries.map(([n, t]) => [jsonBytes(n), fromJson(t)]) }
  const c = j.contents
  const contents = 'utf8' in c ? utf8(c.utf8) : 'hex' in c ? hex.decode(c.hex) : pattern(c.pattern)
  return { type: 'regular', mode, contents }
}

const countFiles = (t: Tree): number =>
  t.type === 'regular' ? 1 : t.type === 'symlink' ? 0 : t.entries.reduce((n, [, c]) => n + countFiles(c), 0)

const bjoin = (dir: Buffer, name: Uint8Array) => Buffer.concat([dir, Buffer.from('/'), name])

/** Writes a tree at `path`; modes are set explicitly, so the umask does not matter. */
function writeTree(t: Tree, path: Buffer): void {
  if (t.type === 'symlink') return symlinkSync(Buffer.from(t.target), path)
  if (t.type === 'regular') {
    writeFileSync(path, t.contents)
    return chmodSync(path, t.mode)
  }
  mkdirSync(path)
  for (const [name, child] of t.entries) writeTree(child, bjoin(path, name))
  chmodSync(path, t.mode) // last, so a read-only directory could still be filled
}

/**
 * The same tree as a NarNode: entries handed over in reverse order (the serialiser must sort),
 * contents in uneven chunks (chunking must not matter).
 */
const CONTENT_CHUNKS = [1, 7, 3, 65536, 2, 100_000]
function toNode(t: Tree): NarNode {
  if (t.type === 'symlink') return { type: 'symlink', target: t.target }
  if (t.type === 'directory') return { type: 'directory', entries: async () => [...t.entries].reverse().map(([n, c]) => [n, toNode(c)] as const) }
  return {
    type: 'regular',
    executable: (t.mode & 0o100) !== 0,
    size: t.contents.length,
    contents: function* () {
      for (let i = 0, k = 0; i < t.contents.length; i += CONTENT_CHUNKS[k]!, k = (k + 1) % CONTENT_CHUNKS.length) {
        yield t.contents.subarray(i, i + CONTENT_CHUNKS[k]!)
      }
    },
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c.slice())
  return concat(parts)
}

const narOf = (t: Tree) => collect(narChunks(toNode(t)))
const sriOf = (b: Uint8Array, alg = 'sha256') => `${alg}-${createHash(alg).update(b).digest('base64')}`

/** A NAR fed in pieces of the given sizes, cycled, to exercise every boundary in the parser. */
async function* pieces(b: Uint8Array, sizes: number[] = [b.length || 1]): AsyncGenerator<Uint8Array> {
  for (let i = 0, k = 0; i < b.length; k = (k + 1) % sizes.length) {
    yield b.subarray(i, i + sizes[k]!)
    i += sizes[k]!
  }
}

/** The tree a NAR describes, read back with parseNar. */
async function treeOf(source: AsyncIterable<Uint8Array>): Promise<Tree> {
  let root: Tree | undefined
  const dirs = new Map<string, Extract<Tree, { type: 'directory' }>>()
  const key = (path: Uint8Array[]) => path.map((p) => hex.encode(p)).join('/')
  for await (const e of parseNar(source)) {
    const node: Tree =
      e.type === 'directory'
        ? { type: 'directory', mode: 0o755, entries: [] }
        : e.type === 'symlink'
          ? { type: 'symlink', target: e.target }
          : { type: 'regular', mode: e.executable ? 0o755 : 0o644, contents: await collect(e.contents) }
    if (node.type === 'directory') dirs.set(key(e.path), node)
    if (e.path.length === 0) root = node
    else dirs.get(key(e.path.slice(0, -1)))!.entries.push([e.path.at(-1)!, node])
  }
  return root!
}

// ---------------------------------------------------------------------------------------------
// Nix

const hasNix = spawnSync('nix-hash', ['--version'], { encoding: 'utf8' }).status === 0
const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz' // no e, o, t, u
/** Nix's base32 (src/libutil/hash.cc printHash32): least significant 5 bits of the hash last. */
function nixBase32(b: Uint8Array): string {
  let s = ''
  for (let n = Math.ceil((b.length * 8) / 5) - 1; n >= 0; n--) {
    const i = (n * 5) >> 3
    const j = (n * 5) & 7
    s += NIX32[((b[i]! >> j) | (i + 1 < b.length ? b[i + 1]! << (8 - j) : 0)) & 0x1f]
  }
  return s
}
const nixHash = async (path: string, ...args: string[]) => (await run('nix-hash', ['--type', 'sha256', ...args, path])).stdout.trim()

// ---------------------------------------------------------------------------------------------

const VECTORS_URL = new URL('../vectors/nar/fixtures.json', import.meta.url)
const vectors = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as Vectors
const onLinux = process.platform === 'linux'
const UPDATE = process.env.NAR_VECTORS_UPDATE === '1'

/** JSON with anything short on one line, so a tree reads as a tree. */
function pretty(v: unknown, indent = ''): string {
  const flat = JSON.stringify(v)
  if (flat.length <= 100 || typeof v !== 'object' || v === null) return flat
  const inner = `${indent}  `
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + pretty(x, inner)).join(',\n')}\n${indent}]`
  const fields = Object.entries(v).filter(([, x]) => x !== undefined)
  return `{\n${fields.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${pretty(x, inner)}`).join(',\n')}\n${indent}}`
}

let tmp: string
let serial = 0
const fresh = (label: string) => join(tmp, `${label}-${serial++}`)
const fixturePath = (f: Fixture) => join(tmp, 'fixtures', f.name)

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vouch-nar-'))
  mkdirSync(join(tmp, 'fixtures'))
  for (const f of vectors.fixtures) if (onLinux || !f.linuxOnly) writeTree(fromJson(f.tree), Buffer.from(fixturePath(f)))
})
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

describe('NAR hashes of fixture trees equal nix-hash 2.8 (test/vectors/nar)', () => {
  it.runIf(UPDATE && hasNix)('regenerates fixtures.json from nix-hash (NAR_VECTORS_UPDATE=1)', async () => {
    vectors.nix = spawnSync('nix-hash', ['--version'], { encoding: 'utf8' }).stdout.trim()
    for (const f of vectors.fixtures) {
      if (f.linuxOnly && !onLinux) throw new Error('regenerate the vectors on Linux')
      const p = fixturePath(f)
      const sri = (await run('nix', ['--extra-experimental-features', 'nix-command', 'hash', 'path', '--type', 'sha256', p])).stdout.trim()
      const narSize = spawnSync('nix-store', ['--dump', p], { maxBuffer: 1 << 30 }).stdout.length
      Object.assign(f, { narSize, sha256: { sri, base16: await nixHash(p), base32: await nixHash(p, '--base32') } })
    }
    const fixtures = vectors.fixtures.map(({ name, description, linuxOnly, narSize, sha256, tree }) => ({ name, description, linuxOnly, narSize, sha256, tree }))
    writeFileSync(VECTORS_URL, pretty({ ...vectors, fixtures }) + '\n')
  })

  for (const f of vectors.fixtures) {
    it.skipIf(f.linuxOnly && !onLinux)(`${f.name}: ${f.description}`, async () => {
      const want = f.sha256!
      // The three spellings nix printed are one hash.
      const bytes = base64.decode(want.sri.slice('sha256-'.length))
      expect(hex.encode(bytes)).toBe(want.base16)
      expect(nixBase32(bytes)).toBe(want.base32)

      const p = fixturePath(f)
      expect(await narHashPath(p)).toEqual({ sri: want.sri, narSize: f.narSize })
      const streamed = await collect(narStreamPath(p))
      expect(sriOf(streamed)).toBe(want.sri)
      // The pure serialiser alone, over the JSON description, agrees too.
      const built = await narOf(fromJson(f.tree))
      expect(built.length).toBe(f.narSize)
      expect(sriOf(built)).toBe(want.sri)
    })
  }

  it.skipIf(!hasNix)('the stored hashes still agree with nix-hash on this machine (needs nix-hash on PATH; skipped without it)', async () => {
    for (const f of vectors.fixtures) {
      if (f.linuxOnly && !onLinux) continue
      expect(await nixHash(fixturePath(f), '--base32'), f.name).toBe(f.sha256!.base32)
    }
  })

  it('marks a file executable iff its owner may execute it (S_IXUSR), as Nix does', async () => {
    const seen = new Map<string, boolean>()
    for await (const e of parseNar(narStreamPath(fixturePath(vectors.fixtures[0]!)))) {
      if (e.type === 'regular') seen.set(e.path.map((p) => Buffer.from(p).toString()).join('/'), e.executable)
    }
    expect(seen.get('bin/run.sh')).toBe(true) // 0755
    expect(seen.get('owner-x-only')).toBe(true) // 0744
    expect(seen.get('group-x-only')).toBe(false) // 0654
    expect(seen.get('private/secret')).toBe(false) // 0600
  })

  it('reports progress, ending at the NAR size, and hashes with other algorithms', async () => {
    const p = fixturePath(vectors.fixtures[0]!)
    const calls: { bytes: number; files: number }[] = []
    const r = await narHashPath(p, { alg: 'sha512', onProgress: (x) => calls.push(x) })
    expect(r.sri).toBe(sriOf(await collect(narStreamPath(p)), 'sha512'))
    expect(calls.at(-1)).toEqual({ bytes: r.narSize, files: countFiles(fromJson(vectors.fixtures[0]!.tree)) })
    expect(calls.every((c, i) => i === 0 || c.bytes >= calls[i - 1]!.bytes)).toBe(true)
    await expect(narHashPath(p, { alg: 'md5' as never })).rejects.toThrow(RangeError)
  })
})

// ---------------------------------------------------------------------------------------------
// Random trees

const BYTE_NAME_CHARS = ['a', 'b', 'B', '.', '-', '0', ' ', 'ä', 'é', 'e\u0301', '😀', '\uFFFD', '~']
const stringName = fc
  .string({ unit: fc.constantFrom(...BYTE_NAME_CHARS), minLength: 1, maxLength: 3 })
  .filter((s) => s !== '.' && s !== '..')
  .map(utf8)
/** Any bytes a Linux name may hold, UTF-8 or not. */
const byteName = fc
  .uint8Array({ min: 1, max: 255, minLength: 1, maxLength: 4 })
  .filter((b) => !b.includes(0x2f) && !(b.length <= 2 && b.every((c) => c === 0x2e)))

function trees(name: fc.Arbitrary<Uint8Array>) {
  const target = fc.string({ unit: fc.constantFrom('a', '/', '.', 'ä', 'x'), minLength: 1, maxLength: 8 }).map(utf8)
  return fc.letrec<{ tree: Tree; file: Tree; link: Tree; dir: Tree }>((tie) => ({
    tree: fc.oneof({ maxDepth: 3, depthIdentifier: 'tree' }, tie('file'), tie('link'), tie('dir')),
    file: fc.record({
      type: fc.constant('regular' as const),
      mode: fc.constantFrom(0o644, 0o755, 0o654, 0o744, 0o600, 0o700),
      contents: fc.uint8Array({ maxLength: 40 }),
    }),
    link: fc.record({ type: fc.constant('symlink' as const), target }),
    dir: fc.record({
      type: fc.constant('directory' as const),
      mode: fc.constant(0o755),
      entries: fc.uniqueArray(fc.tuple(name, tie('tree')), { maxLength: 5, selector: ([n]) => hex.encode(n) }),
    }),
  }))
}
const stringTrees = trees(stringName)
const byteTrees = trees(fc.oneof(stringName, byteName))
const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 })

describe('random trees', () => {
  it.skipIf(!hasNix)(
    'hash as nix-hash --type sha256 --base32 does (needs nix-hash on PATH; skipped without it)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(stringTrees.dir, stringTrees.tree), async (t) => {
          const p = fresh('nix')
          writeTree(t, Buffer.from(p))
          const [ours, theirs] = await Promise.all([narHashPath(p), nixHash(p, '--base32')])
          expect(nixBase32(base64.decode(ours.sri.slice(7)))).toBe(theirs)
        }),
        { numRuns: 30 },
      )
    },
    60_000,
  )

  it('survive NAR → parse (in any chunking) → NAR byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(byteTrees.tree, chunkSizes, async (t, sizes) => {
        const nar = await narOf(t)
        const again = await narOf(await treeOf(pieces(nar, sizes)))
        expect(hex.encode(again)).toBe(hex.encode(nar))
      }),
      { numRuns: 300 },
    )
  })

  it('survive NAR → unpackNar → narStreamPath byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(byteTrees.dir, byteTrees.tree), chunkSizes, async (t, sizes) => {
        const nar = await narOf(t)
        const out = fresh('unpack')
        expect(await unpackNar(pieces(nar, sizes), out)).toMatchObject({ sri: sriOf(nar), narSize: nar.length })
        expect(hex.encode(await collect(narStreamPath(out)))).toBe(hex.encode(nar))
      }),
      { numRuns: 40 },
    )
  }, 30_000)

  it('serialise the same whatever order entries are given in, sorted by bytes not UTF-16', async () => {
    const names = ['\uFFFD', '😀', 'a', 'B', 'a.b', 'a-b', 'ä'].map((n) => [n, { type: 'symlink', target: 'x' }] as const)
    const order = async (list: typeof names) => collect(narChunks({ type: 'directory', entries: () => list }))
    const a = await order(names)
    expect(hex.encode(await order([...names].reverse()))).toBe(hex.encode(a))
    const listed: string[] = []
    for await (const e of parseNar(pieces(a))) if (e.path.length) listed.push(Buffer.from(e.path[0]!).toString())
    expect(listed).toEqual(['B', 'a', 'a-b', 'a.b', 'ä', '\uFFFD', '😀'])
  })

  it('refuse every truncation of a valid NAR', async () => {
    const nar = await narOf({
      type: 'directory',
      mode: 0o755,
      entries: [
        [utf8('a'), { type: 'regular', mode: 0o755, contents: utf8('hello') }],
        [utf8('d'), { type: 'directory', mode: 0o755, entries: [[utf8('l'), { type: 'symlink', target: utf8('../a') }]] }],
      ],
    })
    for (let cut = 0; cut < nar.length; cut++) {
      await expect(drain(pieces(nar.subarray(0, cut), [5])), `cut at ${cut}`).rejects.toThrow(NarParseError)
    }
    await expect(drain(pieces(nar, [5]))).resolves.toBeUndefined()
  })
})

// ---------------------------------------------------------------------------------------------
// Hostile NARs

type Part = string | Uint8Array | { u64: bigint }
/** Builds a NAR by hand: a string is framed as a NAR string, `{ u64 }` is a bare number, bytes are raw. */
function nar(...parts: Part[]): Uint8Array {
  const out: Uint8Array[] = []
  const num = (n: bigint) => {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setBigUint64(0, n, true)
    return b
  }
  for (const p of parts) {
    if (typeof p === 'string') {
      const b = utf8(p)
      out.push(num(BigInt(b.length)), b, new Uint8Array((8 - (b.length % 8)) % 8))
    } else if (p instanceof Uint8Array) out.push(p)
    else out.push(num(p.u64))
  }
  return concat(out)
}
const HEAD = ['nix-archive-1', '(', 'type', 'directory'] as const
const entry = (name: string, ...node: Part[]): Part[] => ['entry', '(', 'name', name, 'node', '(', 'type', ...node, ')', ')']
const file = (contents: string): Part[] => ['regular', 'contents', contents]
const link = (target: string): Part[] => ['symlink', 'target', target]

/** Reads every entry and all contents, keeping nothing. */
async function drain(source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const e of parseNar(source)) if (e.type === 'regular') for await (const _ of e.contents);
}

async function refuses(bytes: Uint8Array | AsyncIterable<Uint8Array>, message: RegExp): Promise<void> {
  const source = bytes instanceof Uint8Array ? pieces(bytes, [7]) : bytes
  const err = await drain(source).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(NarParseError)
  expect((err as Error).message).toMatch(message)
}

describe('hostile NARs are refused', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['bad magic', nar('nix-archive-2', '(', 'type', ...link('x'), ')'), /expected "nix-archive-1"/],
    ['not a NAR at all', utf8('PK\x03\x04 a zip file, not a NAR'), /nix-archive-1|larger than|more than/],
    ['unsorted entries', nar(...HEAD, ...entry('b', ...link('x')), ...entry('a', ...link('x')), ')'), /"a" .* not after "b"/],
    ['duplicate entries', nar(...HEAD, ...entry('a', ...link('x')), ...entry('a', ...file('')), ')'), /"a" .* not after "a"/],
    ['a ".." entry', nar(...HEAD, ...entry('..', ...link('x')), ')'), /entry name "\.\." .* is "\." or "\.\."/],
    ['a "." entry', nar(...HEAD, ...entry('.', ...link('x')), ')'), /is "\." or "\.\."/],
    ['an empty name', nar(...HEAD, ...entry('', ...link('x')), ')'), /is empty/],
    ['a name with "/"', nar(...HEAD, ...entry('etc/passwd', ...file('x')), ')'), /"etc\/passwd" .* contains "\/"/],
    ['a name with NUL', nar(...HEAD, ...entry('a\0b', ...file('x')), ')'), /contains NUL/],
    ['a name over 255 bytes', nar(...HEAD, ...entry('x'.repeat(256), ...file('x')), ')'), /256 bytes, more than 255/],
    ['an empty symlink target', nar('nix-archive-1', '(', 'type', ...link(''), ')'), /target .* is empty/],
    ['a symlink target with NUL', nar('nix-archive-1', '(', 'type', ...link('a\0'), ')'), /target .* contains NUL/],
    ['an unknown node type', nar('nix-archive-1', '(', 'type', 'fifo', ')'), /unknown node type "fifo"/],
    ['an unknown token in a directory', nar(...HEAD, 'entries', ')'), /expected "entry" or "\)"/],
    ['"contents" before "executable"', nar('nix-archive-1', '(', 'type', 'regular', 'contents', 'x', 'executable', '', ')'), /expected "\)"/],
    ['a non-empty executable marker', nar('nix-archive-1', '(', 'type', 'regular', 'executable', 'yes', 'contents', 'x', ')'), /marker .* not empty/],
    ['a regular file without contents', nar('nix-archive-1', '(', 'type', 'regular', ')'), /expected "contents"/],
    ['non-zero padding after a token', nar('nix-archive-1').map((b, i) => (i === 23 ? 1 : b)), /non-zero padding after token/],
    ['non-zero padding after contents', concat([nar('nix-archive-1', '(', 'type', 'regular', 'contents', { u64: 1n }), utf8('x\0\0\0\0\0\0\x01'), nar(')')]), /non-zero padding after contents/],
    ['trailing data', concat([nar('nix-archive-1', '(', 'type', ...link('x'), ')'), new Uint8Array(8)]), /trailing data/],
    ['a missing ")"', nar('nix-archive-1', '(', 'type', ...link('x')), /truncated/],
    ['a name length of 2^40', nar(...HEAD, 'entry', '(', 'name', { u64: 2n ** 40n }), /1099511627776 bytes, more than 255/],
    ['a token length of 2^63', nar('nix-archive-1', '(', { u64: 2n ** 63n }), /larger than 2\^53/],
    ['a contents size of 2^60', nar('nix-archive-1', '(', 'type', 'regular', 'contents', { u64: 2n ** 60n }), /larger than 2\^53/],
    ['a contents size of 2^50 with 8 bytes behind it', nar('nix-archive-1', '(', 'type', 'regular', 'contents', { u64: 2n ** 50n }, 'abcdefg'), /truncated in contents/],
  ]
  for (const [what, bytes, message] of cases) it(what, () => refuses(bytes, message))

  it('a directory nested 100,000 deep, refused at the depth limit without reading it all', async () => {
    let pulled = 0
    async function* bomb() {
      yield nar(...HEAD)
      for (let i = 0; i < 100_000; i++, pulled++) yield nar('entry', '(', 'name', 'd', 'node', '(', 'type', 'directory')
    }
    await refuses(bomb(), new RegExp(`deeper than ${NAR_LIMITS.depth}`))
    expect(pulled).toBeLessThan(NAR_LIMITS.depth + 2)
  })

  it('maxBytes caps the stream and a declared size beyond it', async () => {
    const big = nar('nix-archive-1', '(', 'type', 'regular', 'contents', 'x'.repeat(100), ')')
    const events = async (b: Uint8Array, maxBytes: number) => {
      for await (const e of parseNar(pieces(b, [16]), { maxBytes })) if (e.type === 'regular') await collect(e.contents)
    }
    await expect(events(big, 64)).rejects.toThrow(/larger than 64 bytes|more than the NAR may hold/)
    await expect(events(big, big.length)).resolves.toBeUndefined()
  })

  it('unpackNar refuses a hostile NAR, writes nothing outside dest and removes what it wrote', async () => {
    const parent = fresh('hostile')
    mkdirSync(parent)
    const dest = join(parent, 'out')
    const bytes = nar(...HEAD, ...entry('a', ...file('fine')), ...entry('..', ...file('escaped')), ')')
    await expect(unpackNar(pieces(bytes), dest)).rejects.toThrow(NarParseError)
    expect(readdirSync(parent)).toEqual([])
  })
})

describe('contents of a parsed regular file', () => {
  const two = nar(...HEAD, ...entry('a', ...file('first')), ...entry('b', ...file('second')), ')')
  it('are skipped when not read', async () => {
    const seen: string[] = []
    for await (const e of parseNar(pieces(two, [3]))) if (e.type === 'regular') seen.push(`${e.path[0]![0]}:${e.size}`)
    expect(seen).toEqual(['97:5', '98:6'])
  })
  it('cannot be read after the parser moved on', async () => {
    const held: AsyncIterable<Uint8Array>[] = []
    for await (const e of parseNar(pieces(two, [3]))) if (e.type === 'regular') held.push(e.contents)
    await expect(collect(held[0]!)).rejects.toThrow(/only once, before the next entry/)
  })
  it('cannot be finished after the parser moved on', async () => {
    const it = parseNar(pieces(two, [2]))
    await it.next() // the directory
    const a = (await it.next()).value!
    if (a.type !== 'regular') throw new Error('expected a file')
    const reader = a.contents[Symbol.asyncIterator]()
    await reader.next()
    await it.next()
    await expect(reader.next()).rejects.toThrow(/after the parser moved on/)
  })
})

// ---------------------------------------------------------------------------------------------

describe('the serialiser refuses trees Nix could not hold', () => {
  const dir = (...entries: [unknown, unknown][]) => narOf2({ type: 'directory', entries: () => entries as never })
  const narOf2 = (n: NarNode) => collect(narChunks(n))
  const leaf = { type: 'symlink', target: 'x' }
  for (const [name, why] of [
    ['', /"" in \(root\) is empty/],
    ['.', /"\." in \(root\) is "\." or "\.\."/],
    ['..', /"\.\." in \(root\) is "\." or "\.\."/],
    ['a/b', /"a\/b" in \(root\) contains "\/"/],
    ['a\0b', /"a\\u0000b" in \(root\) contains NUL/],
    ['x'.repeat(256), /longer than 255 bytes/],
  ] as const) {
    it(`the name ${JSON.stringify(name.slice(0, 8))}`, async () => {
      const err = await dir([name, leaf]).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RangeError)
      expect((err as Error).message).toMatch(why)
    })
  }
  it('names that are not strings or bytes, or not well-formed UTF-16', async () => {
    await expect(dir([42, leaf])).rejects.toThrow(TypeError)
    await expect(dir(['\uD800', leaf])).rejects.toThrow(/not well-formed/)
  })
  it('a name twice, naming the entry and its directory', async () => {
    const nested = { type: 'directory', entries: () => [['n', leaf], [utf8('n'), leaf]] }
    await expect(dir(['sub', nested])).rejects.toThrow(/entry name "n" appears twice in sub/)
  })
  it('contents that do not match the declared size', async () => {
    const f = (size: number, chunks: Uint8Array[]): NarNode => ({ type: 'regular', executable: false, size, contents: () => chunks })
    await expect(narOf2(f(3, [utf8('ab')]))).rejects.toThrow(/are 2 bytes, not its size 3/)
    await expect(narOf2(f(1, [utf8('ab')]))).rejects.toThrow(/longer than its size 1/)
    await expect(narOf2(f(-1, []))).rejects.toThrow(RangeError)
  })
  it('unknown node types and symlinks with no target', async () => {
    await expect(narOf2({ type: 'fifo' } as never)).rejects.toThrow(/unknown type "fifo"/)
    await expect(narOf2({ type: 'symlink', target: '' })).rejects.toThrow(/target of \(root\) is empty/)
  })
})

describe('file system', () => {
  it('refuses sockets and other special files, naming the path', async () => {
    const d = fresh('special')
    mkdirSync(d)
    const server = createServer()
    await new Promise<void>((ok) => server.listen(join(d, 'sock'), ok))
    try {
      const err = await narHashPath(d).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NarFileError)
      expect((err as Error).message).toMatch(/sock is a socket: a NAR holds only regular files, directories and symlinks/)
    } finally {
      server.close()
    }
  })

  it('refuses a file that changes while it is read', async () => {
    const p = fresh('changing')
    writeFileSync(p, 'original contents')
    const it = narStreamPath(p)
    await it.next() // the header, size already written
    truncateSync(p, 3)
    await expect(it.next()).rejects.toThrow(NarFileError)
  })

  it('narHashPath refuses a large file that shrinks or grows while it is hashed', async () => {
    // onProgress runs as the first MiB is hashed: the change lands before the last read is asked for.
    const shrinks = fresh('shrinks')
    writeFileSync(shrinks, pattern(3 * 1024 * 1024))
    let cut = false
    const truncate = () => void (cut || ((cut = true), truncateSync(shrinks, 1.5 * 1024 * 1024)))
    await expect(narHashPath(shrinks, { onProgress: truncate })).rejects.toThrow(/shrank while it was being read/)
    const grows = fresh('grows')
    writeFileSync(grows, pattern(3 * 1024 * 1024))
    let added = false
    const append = () => void (added || ((added = true), writeFileSync(grows, 'more', { flag: 'a' })))
    await expect(narHashPath(grows, { onProgress: append })).rejects.toThrow(/grew while it was being read/)
    // Untouched, a size that is a multiple of the read size and one that is not both hash whole.
    for (const n of [2 * 1024 * 1024, 2 * 1024 * 1024 + 3]) {
      const p = fresh('whole')
      writeFileSync(p, pattern(n))
      expect((await narHashPath(p)).narSize).toBe(n + 112 + ((8 - (n % 8)) % 8))
    }
  })

  it('can be stopped half-way through a large file', async () => {
    const p = fresh('large')
    writeFileSync(p, pattern(3 * 1024 * 1024))
    const it = narStreamPath(p)
    await it.next() // the header
    expect((await it.next()).value).toHaveLength(1024 * 1024) // a second read is now in flight
    await it.return()
    expect((await narHashPath(p)).narSize).toBe(3 * 1024 * 1024 + 112)
  })

  it('does not follow a symlink given as the path', async () => {
    const p = fresh('link')
    symlinkSync('/etc/passwd', p)
    expect(await narHashPath(p)).toEqual({ sri: sriOf(await narOf({ type: 'symlink', target: utf8('/etc/passwd') })), narSize: 128 })
  })

  it('unpackNar creates dest, with Nix modes, and refuses an existing one', async () => {
    const src = fixturePath(vectors.fixtures[0]!)
    const out = fresh('unpacked')
    const r = await unpackNar(narStreamPath(src), out)
    expect(r.sri).toBe(vectors.fixtures[0]!.sha256!.sri)
    expect(lstatSync(join(out, 'bin/run.sh')).mode & 0o111).toBe(0o111)
    expect(lstatSync(join(out, 'group-x-only')).mode & 0o111).toBe(0)
    expect(lstatSync(join(out, 'dangling')).isSymbolicLink()).toBe(true)
    expect((await narHashPath(out)).sri).toBe(r.sri)
    await expect(unpackNar(narStreamPath(src), out)).rejects.toThrow(/already exists/)
    expect(existsSync(out)).toBe(true)
  })

  it('hashFile hashes a file’s bytes (an npm tarball’s integrity)', async () => {
    const p = fresh('abc')
    writeFileSync(p, 'abc')
    expect(await hashFile(p)).toEqual({ sri: 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=', size: 3 })
    expect((await hashFile(p, 'sha512')).sri).toBe('sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==')
    const big = fresh('big')
    const bytes = pattern(3 * 1024 * 1024 + 5)
    writeFileSync(big, bytes)
    expect(await hashFile(big, 'sha512')).toEqual({ sri: sriOf(bytes, 'sha512'), size: bytes.length })
  })
})
