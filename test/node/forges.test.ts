import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
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
    const q = await vouch('me', ['query', '--subject', 'pkg:generic/dirty@1.1.0', '--json'])
    expect(q.code).toBe(0)
    expect(q.json.statements).toEqual([])
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

describe('vouch bridge git', { timeout: 60_000 }, () => {
  for (const format of ['sha1', 'sha256'] as const) {
    it(`claims each tag's commit (annotated tags peeled) and tree from a local clone (${format}); again is a no-op; a moved tag is withdrawn`, async () => {
      const d = repo(`bridge-${format}`, format)
      git(d, 'tag', 'blobtag', git(d, 'hash-object', '-w', 'run.sh'))
      const r = await vouch('bridge', ['bridge', 'git', d, '--name', `proj-${format}`, '--json'])
      expect(r.code).toBe(0)
      expect(r.json.warnings).toEqual([expect.stringContaining('blobtag (blob)')])
      const want = (tag: string) => ({
        tag,
        subject: `pkg:generic/proj-${format}@${tag.replace(/^v/, '')}`,
        commit: `gitoid:commit:${format}:${git(d, 'rev-parse', `${tag}^{commit}`)}`,
        tree: `gitoid:tree:${format}:${git(d, 'rev-parse', `${tag}^{tree}`)}`,
        status: 'published',
        withdrawn: [],
      })
      expect(r.json.objectFormat).toBe(format)
      expect(r.json.tags).toEqual([want('1.1.0'), want('v1.0.0')])
      // The annotated tag's own object is not what is claimed: its commit is.
      expect(r.json.tags[1].commit).not.toContain(git(d, 'rev-parse', 'v1.0.0'))
      const q = await vouch('bridge', ['query', '--subject', `pkg:generic/proj-${format}@1.0.0`, '--json'])
      expect(q.json.statements.map((s: any) => [s.statement.claim, s.statement.object, s.statement.meta]).sort()).toEqual([
        ['git-commit', want('v1.0.0').commit, { tag: 'v1.0.0' }],
        ['git-tree', want('v1.0.0').tree, { tag: 'v1.0.0' }],
      ])

      const again = await vouch('bridge', ['bridge', 'git', d, '--name', `proj-${format}`, '--json'])
      expect(again.json.tags.map((t: any) => t.status)).toEqual(['already', 'already'])

      const old = want('1.1.0').commit
      writeFileSync(join(d, 'src/index.js'), 'export const v = 3\n')
      git(d, 'commit', '-q', '-am', 'three')
      git(d, 'tag', '-f', '1.1.0')
      const moved = await vouch('bridge', ['bridge', 'git', d, '--name', `proj-${format}`, '--tag', '1.1.0', '--json'])
      expect(moved.code).toBe(0)
      expect(moved.json.tags).toEqual([{ ...want('1.1.0'), withdrawn: [old] }])
      const after = await vouch('bridge', ['query', '--subject', `pkg:generic/proj-${format}@1.1.0`, '--claim', 'git-commit', '--json'])
      expect(after.json.statements.filter((s: any) => s.statement.not).map((s: any) => s.statement.object)).toEqual([old])
    })
  }

  it('over a URL gives commits only, records no local path, and refuses what it cannot list', async () => {
    const d = repo('remote', 'sha1')
    const r = await vouch('bridge', ['bridge', 'git', `file://${d}`, '--name', 'pkg:github/alice/remote', '--dry-run', '--json'])
    expect(r.code).toBe(0)
    expect(r.json.tags.map((t: any) => [t.subject, t.tree])).toEqual([['pkg:github/alice/remote@1.1.0', undefined], ['pkg:github/alice/remote@1.0.0', undefined]])
    expect(r.json.statements.map((s: any) => s.meta)).toEqual([{ tag: '1.1.0' }, { tag: 'v1.0.0' }])
    expect((await vouch('bridge', ['bridge', 'git', join(work, 'nowhere'), '--name', 'x'])).code).toBe(4)
    expect((await vouch('bridge', ['bridge', 'git', d])).code).toBe(2)
    expect((await vouch('bridge', ['bridge', 'git', d, '--name', 'a/b'])).code).toBe(2)
    expect((await vouch('bridge', ['bridge', 'git', '--upload-pack=touch /tmp/x', '--name', 'x'])).code).not.toBe(0)
  })
})

/** A tiny OCI image layout: an index of two platforms' manifests, tagged `tag`. */
function layout(name: string, tag: string | undefined) {
  const d = join(work, name)
  mkdirSync(join(d, 'blobs/sha256'), { recursive: true })
  const put = (text: string) => {
    const hex = createHash('sha256').update(text).digest('hex')
    writeFileSync(join(d, 'blobs/sha256', hex), text)
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(text) }
  }
  const manifests = (['amd64', 'arm64'] as const).map((architecture) => {
    const config = put(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
    const layer = put(`layer for ${architecture}`)
    const m = put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }] }))
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, platform: { architecture, os: 'linux', ...(architecture === 'arm64' && { variant: 'v8' }) } }
  })
  const index = put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))
  writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, ...(tag && { annotations: { 'org.opencontainers.image.ref.name': tag } }) }] }))
  return { dir: d, index: index.digest, manifests: manifests.map((m) => m.digest) }
}

const sri = (digest: string) => `sha256-${Buffer.from(digest.slice(7), 'hex').toString('base64')}`

describe('vouch bridge oci', { timeout: 60_000 }, () => {
  it('claims the tag as the index digest and a build per platform; vouch verify accepts the image and its builds', async () => {
    const l = layout('img', 'docker.io/library/img:1.0')
    const dry = await vouch('me', ['bridge', 'oci', l.dir, '--name', 'img', '--dry-run', '--json'])
    expect(dry.code).toBe(0)
    expect(dry.json.images).toEqual([{ tag: '1.0', subject: 'pkg:oci/img@1.0', digest: l.index, kind: 'index', status: 'planned', platforms: [{ platform: 'linux/amd64', digest: l.manifests[0] }, { platform: 'linux/arm64/v8', digest: l.manifests[1] }] }])
    expect(dry.json.statements.map((s: any) => [s.subject, s.claim, s.object, s.meta.system])).toEqual([
      ['pkg:oci/img@1.0', 'source', sri(l.index), undefined],
      [sri(l.index), 'build', sri(l.manifests[0]!), 'linux/amd64'],
      [sri(l.index), 'build', sri(l.manifests[1]!), 'linux/arm64/v8'],
    ])
    const human = await vouch('me', ['bridge', 'oci', l.dir, '--name', 'img'])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(`pkg:oci/img@1.0  ${l.index} (index)`)
    expect((await vouch('me', ['bridge', 'oci', l.dir, '--name', 'img', '--json'])).json.images[0].status).toBe('already')

    expect((await vouch('me', ['trust-builder', dids.me])).code).toBe(0)
    const v = await vouch('me', ['verify', 'pkg:oci/img@1.0', '--json'])
    expect(v.code).toBe(0)
    expect(v.json).toMatchObject({ verdict: 'trusted', source: sri(l.index), digest: l.index })
    expect(v.json.builds.map((b: any) => [b.system, b.output]).sort()).toEqual([['linux/amd64', sri(l.manifests[0]!)], ['linux/arm64/v8', sri(l.manifests[1]!)]])
    expect((await vouch('me', ['verify', 'pkg:oci/img@1.0'])).stdout).toMatch(new RegExp(`^digest +${l.index}$`, 'm'))
  })

  it('refuses a blob that does not hash to its name, a missing blob, a tag it lacks, and a bad name; nothing is published', async () => {
    const l = layout('bad', undefined)
    expect((await vouch('me', ['bridge', 'oci', l.dir, '--name', 'bad'])).code).toBe(4) // no ref name and no --tag
    writeFileSync(join(l.dir, 'blobs/sha256', l.manifests[1]!.slice(7)), 'tampered')
    const tampered = await vouch('me', ['bridge', 'oci', l.dir, '--name', 'bad', '--tag', '2.0'])
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toMatch(/is 8 bytes, its descriptor says|does not hash to its name/)
    rmSync(join(l.dir, 'blobs/sha256', l.manifests[1]!.slice(7)))
    expect((await vouch('me', ['bridge', 'oci', l.dir, '--name', 'bad', '--tag', '2.0'])).code).toBe(4)
    expect((await vouch('me', ['bridge', 'oci', l.dir, '--name', 'Bad', '--tag', '2.0'])).code).toBe(2)
    expect((await vouch('me', ['bridge', 'oci', join(work, 'nowhere'), '--name', 'bad'])).code).toBe(4)
    const q = await vouch('me', ['query', '--subject', 'pkg:oci/bad@2.0', '--json'])
    expect(q.json.statements).toEqual([])
  })
})

describe('the pure parts', () => {
  it('parseLsRemote peels annotated tags whatever the line order, and refuses mixed formats and stray lines', async () => {
    const { parseLsRemote } = await import('../../src/git/repo.ts')
    const { gitSubject, tagVersion } = await import('../../src/bridges/index.ts')
    const fc = (await import('fast-check')).default
    const oid = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`))
    fc.assert(
      fc.property(fc.constantFrom(40, 64), fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9.]{0,8}$/), oid(64), oid(64), fc.boolean()), { maxLength: 6, selector: (t) => t[0] }), fc.boolean(), (len, tuples, reverse) => {
        const tags = tuples.map((t) => t[0])
        const rows = tuples.map(([tag, a, b, annotated]) => ({ tag, self: a.slice(0, len), peeled: annotated ? b.slice(0, len) : undefined }))
        let lines = rows.flatMap((r) => [`${r.self}\trefs/tags/${r.tag}`, ...(r.peeled ? [`${r.peeled}\trefs/tags/${r.tag}^{}`] : [])])
        if (reverse) lines = lines.reverse()
        const got = parseLsRemote(lines.join('\n') + '\n')
        expect(got.format).toBe(tags.length ? (len === 40 ? 'sha1' : 'sha256') : undefined)
        expect(new Map(got.tags.map((t) => [t.tag, [t.object, t.annotated]]))).toEqual(new Map(rows.map((r) => [r.tag, [r.peeled ?? r.self, r.peeled !== undefined]])))
      }),
    )
    expect(() => parseLsRemote(`${'a'.repeat(40)}\trefs/tags/x\n${'b'.repeat(64)}\trefs/tags/y\n`)).toThrow(/two object formats/)
    expect(() => parseLsRemote(`${'a'.repeat(40)}\trefs/heads/main\n`)).toThrow(/unexpected line/)
    expect(tagVersion('v1.2.3')).toBe('1.2.3')
    expect(tagVersion('version-2')).toBe('version-2')
    expect(gitSubject('mylib', 'v1.0.0')).toBe('pkg:generic/mylib@1.0.0')
    expect(gitSubject('pkg:github/alice/x', 'release/1 a')).toBe('pkg:github/alice/x@release%2F1%20a')
    expect(() => gitSubject('pkg:github/alice/x@1', 'v1')).toThrow(/without version/)
  })
})
