import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { ROOT, runVouch, type Run } from './run-vouch.ts'

/**
 * Git and OCI from the CLI's side: `publish --git`, `verify --checkout`, `bridge git` and
 * `bridge oci`, the built CLI against one real local relay, with repositories made by the real
 * git (both object formats) and an OCI image layout written here.
 */

type Net = Awaited<ReturnType<typeof startNetwork>>
type Who = 'me' | 'bridge'

let net: Net
let work: string
const dids = {} as Record<Who, string>

function vouch(who: Who, args: string[], cwd = work): Promise<Run> {
  return runVouch(args, { cwd, env: { HOME: work, VOUCH_HOME: join(work, who), VOUCH_RELAYS: net.relays.map((r) => r.url).join(' ') } })
}

/** git, isolated from the machine's and user's configuration. */
const GIT_ENV = () => ({ ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: work, LC_ALL: 'C' })
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=x', '-c', 'user.email=x@example.org', '-c', 'tag.gpgSign=false', ...args], { cwd: dir, env: GIT_ENV(), encoding: 'utf8' }).trim()

/** A repository with two versions: v1.0.0 (annotated tag) and 1.1.0 (lightweight), and a blob tag. */
function repo(name: string, format: 'sha1' | 'sha256'): string {
  const d = join(work, name)
  mkdirSync(join(d, 'src'), { recursive: true })
  git(d, 'init', '-q', `--object-format=${format}`)
  writeFileSync(join(d, 'src/index.js'), 'export const v = 1\n')
  writeFileSync(join(d, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 })
  git(d, 'add', '-A')
  git(d, 'commit', '-q', '-m', 'one')
  git(d, 'tag', '-a', '-m', 'release 1.0.0', 'v1.0.0')
  writeFileSync(join(d, 'src/index.js'), 'export const v = 2\n')
  git(d, 'commit', '-q', '-am', 'two')
  git(d, 'tag', '1.1.0')
  return d
}

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
  work = mkdtempSync(join(tmpdir(), 'vouch-forges-'))
  net = await startNetwork({ relays: 1, topology: 'line' })
  for (const who of ['me', 'bridge'] as const) {
    const r = await vouch(who, ['init', '--json'])
    expect(r.code).toBe(0)
    dids[who] = r.json.did
  }
  expect((await vouch('me', ['policy', 'init'])).code).toBe(0)
}, 120_000)

afterAll(async () => {
  await net?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('vouch publish --git and verify --checkout', { timeout: 60_000 }, () => {
  for (const format of ['sha1', 'sha256'] as const) {
    it(`claims the tree and the tag's commit beside the NAR (${format}), and a checkout is confirmed against them`, async () => {
      const d = repo(`pub-${format}`, format)
      git(d, 'checkout', '-q', 'v1.0.0')
      const pub = await vouch('me', ['publish', `mylib-${format}@1.0.0`, d, '--git', '--no-upload', '--json'])
      expect(pub.stderr).toBe('')
      expect(pub.code).toBe(0)
      const tree = git(d, 'rev-parse', 'v1.0.0^{tree}')
      const commit = git(d, 'rev-parse', 'v1.0.0^{commit}')
      expect(pub.json.git).toMatchObject({ tree: `gitoid:tree:${format}:${tree}`, commit: `gitoid:commit:${format}:${commit}`, tag: 'v1.0.0', objectFormat: format })
      expect(pub.json.git.ids).toHaveLength(2)

      const ok = await vouch('me', ['verify', `mylib-${format}@1.0.0`, '--checkout', d, '--json'])
      expect(ok.code).toBe(0)
      expect(ok.json.git).toEqual([
        { claim: 'git-tree', format, id: `gitoid:tree:${format}:${tree}` },
        { claim: 'git-commit', format, id: `gitoid:commit:${format}:${commit}` },
      ])
      expect(ok.json.checkout).toMatchObject({ ok: true, trees: [{ format, ok: true, id: `gitoid:tree:${format}:${tree}` }] })

      // Another version's files: the verdict stands, the checkout does not.
      git(d, 'checkout', '-q', '1.1.0')
      const bad = await vouch('me', ['verify', `mylib-${format}@1.0.0`, '--checkout', d])
      expect(bad.code).toBe(1)
      expect(bad.stdout).toMatch(/^verdict +trusted$/m)
      expect(bad.stdout).toMatch(/✗ checkout: .* does not match: its .* tree is gitoid:tree:/)
      expect(bad.stdout).toContain(`the trusted git-tree claim is gitoid:tree:${format}:${tree}`)
    })
  }

  it('refuses a tag whose tree is not the directory (nothing published), and claims only the tree outside a repository', async () => {
    const d = repo('dirty', 'sha1')
    writeFileSync(join(d, 'untracked.txt'), 'x')
    const r = await vouch('me', ['publish', 'dirty@1.1.0', d, '--git', '--no-upload'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/tag 1\.1\.0 .* holds tree [0-9a-f]{40} there/)
    expect((await vouch('me', ['query', 'dirty@1.1.0', '--json'])).json.statements ?? []).toHaveLength(0)
    expect((await vouch('me', ['publish', 'dirty@1.1.0', d, '--git', '--tag', 'nope', '--no-upload'])).code).toBe(2)

    const plain = join(work, 'plain')
    mkdirSync(plain)
    writeFileSync(join(plain, 'a'), 'a\n')
    const p = await vouch('me', ['publish', 'plain@1.0.0', plain, '--git', '--object-format', 'sha256', '--no-upload', '--json'])
    expect(p.code).toBe(0)
    expect(p.json.git).toMatchObject({ objectFormat: 'sha256', noCommit: 'not in a git repository' })
    expect(p.json.git.tree).toMatch(/^gitoid:tree:sha256:[0-9a-f]{64}$/)
    // No git claim at all: a checkout cannot be confirmed.
    const none = await vouch('me', ['verify', 'plain@0.0.0', '--checkout', plain])
    expect(none.code).toBe(1)
    expect((await vouch('me', ['publish', 'plain@1.0.0', join(plain, 'a'), '--git'])).code).toBe(2)
    expect((await vouch('me', ['publish', 'plain@1.0.0', plain, '--tag', 'v1'])).code).toBe(2)
  })
})
