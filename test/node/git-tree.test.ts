import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { GitTreeError, gitTreeOfPath } from '../../src/git/fs.ts'
import { compareTreeEntries, GIT_MODES } from '../../src/git/index.ts'
import { utf8 } from '../../src/verify/index.ts'
import { runVouch } from './run-vouch.ts'

const base = mkdtempSync(join(tmpdir(), 'vouch-git-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let n = 0
const fresh = () => {
  const d = join(base, `t${n++}`)
  mkdirSync(d)
  return d
}

/** git, isolated from the machine's and user's configuration, so only its defaults apply. */
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: base, LC_ALL: 'C' }
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=x', '-c', 'user.email=x', ...args], { cwd: dir, env: GIT_ENV, encoding: 'utf8' }).trim()

/** The reference: a fresh repository in `dir`, everything added (ignored files too: -f), its tree. */
function gitWriteTree(dir: string, format: 'sha1' | 'sha256'): string {
  git(dir, 'init', '-q', `--object-format=${format}`)
  git(dir, 'add', '-A', '-f')
  return git(dir, 'write-tree')
}

type Node = { kind: 'file'; text: string; exec: boolean } | { kind: 'link'; target: string } | { kind: 'dir'; entries: [string, Node][] }

// Names chosen to exercise git's order ("a" as a tree sorts after "a.b" and "a-", before "a0"),
// case, non-ASCII bytes, spaces, and ignore files that git add -A -f must not honour.
const NAMES = ['a', 'a.b', 'a-', 'a0', 'ab', 'A', 'b', 'é', 'x y', '.gitignore', '.hidden', 'z'.repeat(30)]
const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ kind: fc.constant('file' as const), text: fc.oneof(fc.constant(''), fc.constant('*\n'), fc.string({ maxLength: 40 })), exec: fc.boolean() }),
  fc.record({ kind: fc.constant('link' as const), target: fc.constantFrom('a', '../x', 'does-not-exist', 'é/ü', '.') }),
)
const { node } = fc.letrec<{ node: Node; dir: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('dir')),
  dir: fc.record({ kind: fc.constant('dir' as const), entries: fc.uniqueArray(fc.tuple(fc.constantFrom(...NAMES), tie('node')), { maxLength: 5, selector: (e) => e[0] }) }),
}))
const tree = fc.uniqueArray(fc.tuple(fc.constantFrom(...NAMES), node), { maxLength: 6, selector: (e) => e[0] })

function write(dir: string, entries: [string, Node][]): void {
  for (const [name, nd] of entries) {
    const p = join(dir, name)
    if (nd.kind === 'file') {
      writeFileSync(p, nd.text)
      chmodSync(p, nd.exec ? 0o755 : 0o644)
    } else if (nd.kind === 'link') symlinkSync(nd.target, p)
    else {
      mkdirSync(p)
      write(p, nd.entries)
    }
  }
}

describe('vouch hash --git: the tree id git write-tree gives', () => {
  for (const format of ['sha1', 'sha256'] as const) {
    it(`agrees with the real git on random trees (${format})`, async () => {
      await fc.assert(
        fc.asyncProperty(tree, async (entries) => {
          const dir = fresh()
          write(dir, entries)
          const want = gitWriteTree(dir, format)
          // Hashed after git made .git there: it must be skipped.
          const got = await gitTreeOfPath(dir, { format })
          expect(got.hex).toBe(want)
          expect(got.gitoid).toBe(`gitoid:tree:${format}:${want}`)
        }),
        { numRuns: 30 },
      )
    }, 120_000)
  }

  it('ignores empty directories, keeps the owner execute bit only, and names the empty tree', async () => {
    const dir = fresh()
    expect((await gitTreeOfPath(dir)).hex).toBe('4b825dc642cb6eb9a060e54bf8d69288fbee4904')
    expect((await gitTreeOfPath(dir, { format: 'sha256' })).hex).toBe('6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321')
    mkdirSync(join(dir, 'empty/deeper'), { recursive: true })
    expect((await gitTreeOfPath(dir)).hex).toBe('4b825dc642cb6eb9a060e54bf8d69288fbee4904')
    writeFileSync(join(dir, 'f'), 'x')
    chmodSync(join(dir, 'f'), 0o644)
    const plain = (await gitTreeOfPath(dir)).hex
    chmodSync(join(dir, 'f'), 0o654) // group and other execute: git ignores them
    expect((await gitTreeOfPath(dir)).hex).toBe(plain)
    chmodSync(join(dir, 'f'), 0o744)
    expect((await gitTreeOfPath(dir)).hex).not.toBe(plain)
    expect((await gitTreeOfPath(dir)).hex).toBe(gitWriteTree(dir, 'sha1'))
  })

  it('refuses what git would not add as a plain tree: a nested repository, a FIFO; and a file', async () => {
    const dir = fresh()
    mkdirSync(join(dir, 'sub/.git'), { recursive: true })
    writeFileSync(join(dir, 'sub/f'), 'x')
    await expect(gitTreeOfPath(dir)).rejects.toThrow(/submodule/)
    const d2 = fresh()
    execFileSync('mkfifo', [join(d2, 'pipe')])
    await expect(gitTreeOfPath(d2)).rejects.toThrow(GitTreeError)
    writeFileSync(join(d2, 'file'), '')
    await expect(gitTreeOfPath(join(d2, 'file'))).rejects.toThrow(/not a directory/)
  })

  it('sorts a tree as if its name ended in "/"', () => {
    const e = (name: string, mode: string) => ({ name: utf8(name), mode: mode as typeof GIT_MODES.tree })
    const sorted = [e('a', GIT_MODES.tree), e('a.b', GIT_MODES.file), e('a0', GIT_MODES.file), e('a-', GIT_MODES.file)].sort(compareTreeEntries).map((x) => new TextDecoder().decode(x.name))
    expect(sorted).toEqual(['a-', 'a.b', 'a', 'a0'])
    expect(compareTreeEntries(e('a', GIT_MODES.file), e('a', GIT_MODES.tree))).toBeLessThan(0)
  })

  it('vouch hash --git prints the id as git does, the gitoid with --json, and refuses bad options with exit 2', async () => {
    const dir = fresh()
    write(dir, [['src', { kind: 'dir', entries: [['main.c', { kind: 'file', text: 'int main;', exec: false }]] }], ['run', { kind: 'file', text: '#!/bin/sh', exec: true }]])
    const env = { HOME: dir, VOUCH_HOME: join(dir, '.vouch-home') }
    const human = await runVouch(['hash', '--git', dir], { env })
    expect(human.code).toBe(0)
    const json = await runVouch(['hash', '--git', dir, '--object-format', 'sha256', '--json'], { env })
    expect(human.stdout.trim()).toBe(gitWriteTree(dir, 'sha1'))
    const want256 = gitWriteTree(fresh256(dir), 'sha256')
    expect(json.json).toMatchObject({ hash: `gitoid:tree:sha256:${want256}`, id: want256, type: 'git-tree', objectFormat: 'sha256', files: 2 })
    expect((await runVouch(['hash', '--git', dir, '--object-format', 'sha512'], { env })).code).toBe(2)
    expect((await runVouch(['hash', dir, '--object-format', 'sha256'], { env })).code).toBe(2)
    expect((await runVouch(['hash', '--git', join(dir, 'missing')], { env })).code).toBe(5)
  })
})

/** A copy of `dir` without its .git, for a second repository in another object format. */
function fresh256(dir: string): string {
  const d = fresh()
  execFileSync('cp', ['-a', `${dir}/.`, d])
  rmSync(join(d, '.git'), { recursive: true, force: true })
  rmSync(join(d, '.vouch-home'), { recursive: true, force: true })
  return d
}
