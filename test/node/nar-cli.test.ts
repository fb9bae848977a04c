/**
 * `vouch hash DIR`, the built CLI users run (bin/vouch.js → dist/), against real `nix-hash` on
 * random trees: what a user compares is the two commands' output, so that is what is tested.
 *
 * Nix 2.8's `nix-hash --type sha256 DIR` prints base16 (`--base32` Nix's base32; it has no
 * `--sri`); `vouch hash DIR` prints SRI (`sha256-` and base64), as `nix hash path` does. Same
 * bytes, other spellings: the test decodes ours and compares it with nix-hash's base16.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runVouch } from './run-vouch.ts'

const run = promisify(execFile)
const hasNix = spawnSync('nix-hash', ['--version'], { encoding: 'utf8' }).status === 0

type Tree =
  | { type: 'file'; executable: boolean; contents: Uint8Array }
  | { type: 'symlink'; target: string }
  | { type: 'dir'; entries: [string, Tree][] }

// Names a NAR sorts by bytes, not by UTF-16 or locale: upper before lower, a combining accent
// apart from the precomposed letter, astral emoji after everything of the BMP.
const NAME_CHARS = ['a', 'B', 'z', '.', '-', '_', ' ', '0', 'ä', 'é', 'e\u0301', 'ß', '日', '😀', '~']
const name = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 4 }).filter((s) => s !== '.' && s !== '..')
const tree = fc.letrec<{ node: Tree; dir: Tree }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'tree' },
    fc.record({ type: fc.constant('file' as const), executable: fc.boolean(), contents: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ type: fc.constant('symlink' as const), target: fc.constantFrom('a', '../x', '/nonexistent/😀', 'ä/b', '.') }),
    tie('dir'),
  ),
  dir: fc.record({
    type: fc.constant('dir' as const),
    // Empty directories included: a NAR keeps them (git does not).
    entries: fc.uniqueArray(fc.tuple(name, tie('node')), { maxLength: 6, selector: ([n]) => n }),
  }),
}))

function write(t: Tree, path: string): void {
  if (t.type === 'file') {
    writeFileSync(path, t.contents)
    chmodSync(path, t.executable ? 0o755 : 0o644)
  } else if (t.type === 'symlink') symlinkSync(t.target, path)
  else {
    mkdirSync(path)
    for (const [n, child] of t.entries) write(child, join(path, n))
  }
}

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vouch-nar-cli-'))
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
})
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

describe('vouch hash against nix-hash', () => {
  it.skipIf(!hasNix)(
    'prints the hash nix-hash --type sha256 prints, on random trees (needs nix-hash on PATH, Debian nix-bin; skipped without it)',
    async () => {
      let n = 0
      await fc.assert(
        fc.asyncProperty(tree.dir, async (t) => {
          const dir = join(tmp, `t${n++}`)
          write(t, dir)
          const [ours, theirs] = await Promise.all([runVouch(['hash', dir], { env: {} }), run('nix-hash', ['--type', 'sha256', dir])])
          expect(ours.stderr).toBe('')
          expect(ours.code).toBe(0)
          const sri = ours.stdout.trim()
          expect(sri).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/)
          expect(Buffer.from(sri.slice('sha256-'.length), 'base64').toString('hex')).toBe(theirs.stdout.trim())
        }),
        { numRuns: 25 },
      )
    },
    180_000,
  )
})
