import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { bulkQuery, keyPairFromSeed, publish, sign } from '../../src/client/index.ts'
import { npmSubject, readLockfile } from '../../src/cli/lockfile.ts'
import { encodeDidKey } from '../../src/verify/index.ts'
import { ROOT, runVouch } from './run-vouch.ts'

const FIX = join(ROOT, 'test/fixtures/lockfiles')
const fixture = (name: string) => readLockfile(name, readFileSync(join(FIX, name), 'utf8'))
const A = 'sha512-H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYOD1MChgxlK/CNVgJSql50IQVG82n7u86MEs/HlXsmUv6adQ=='
const C = 'sha512-rMKNsr63tCuqHLAkPUAcy04/zkTXsCh5pSeZqt/1QVItiCJZiy+mZPnVFWwAySSAXXXDhovVbCrLgdN+mONa3A=='
const NAR = 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='

describe('lockfile reader', () => {
  it('reads npm lockfiles v1, v2 and v3: purls with scoped names percent-encoded, the strongest SRI digest, links and non-registry versions skipped', () => {
    const v3 = fixture('package-lock-v3.json')
    expect(v3.packages.map((p) => [p.subject, p.digest])).toEqual([
      ['pkg:npm/good@1.0.0', A],
      ['pkg:npm/%40scope/differs@2.0.0', expect.stringMatching(/^sha512-/)],
      ['pkg:npm/yanked@0.1.0', C],
      ['pkg:npm/unknown@3.0.0', A],
    ])
    expect(v3.skipped.map((s) => s.path)).toEqual(['node_modules/local'])
    expect(fixture('package-lock-v2.json').packages.map((p) => p.subject)).toEqual(['pkg:npm/good@1.0.0'])
    const v1 = fixture('package-lock-v1.json')
    expect(v1.packages.map((p) => [p.path, p.subject, p.digest?.slice(0, 5)])).toEqual([
      ['node_modules/good', 'pkg:npm/good@1.0.0', 'sha51'],
      ['node_modules/good/node_modules/old', 'pkg:npm/old@0.0.1', 'sha1-'],
    ])
    expect(v1.skipped[0]!.path).toBe('node_modules/gitdep')
    expect(npmSubject('@s/n', '1.0.0')).toBe('pkg:npm/%40s/n@1.0.0')
  })

  it('reads flake.lock: GitHub inputs as pkg:github, other git inputs as pkg:generic, the narHash as digest; inputs without a revision skipped', () => {
    const f = fixture('flake.lock')
    expect(f.packages).toEqual([
      { path: 'nixpkgs', subject: 'pkg:github/nixos/nixpkgs@0123456789abcdef0123456789abcdef01234567', digest: NAR },
      { path: 'mylib', subject: 'pkg:generic/mylib@89abcdef0123456789abcdef0123456789abcdef', digest: NAR },
    ])
    expect(f.skipped.map((s) => s.path)).toEqual(['local'])
    expect(() => readLockfile('x.json', '{"a":1}')).toThrow(/not a package-lock/)
  })
})

describe('vouch check against a real relay', { timeout: 60_000 }, () => {
  let net: Awaited<ReturnType<typeof startNetwork>>
  let work = ''
  beforeAll(async () => {
    const bridge = await keyPairFromSeed(new Uint8Array(32).fill(7))
    const author = await keyPairFromSeed(new Uint8Array(32).fill(8))
    const bridgeDid = encodeDidKey(bridge.publicKey)
    const authorDid = encodeDidKey(author.publicKey)
    execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
    net = await startNetwork({ relays: 1, topology: 'line' })
    const t = Date.now() - 10_000
    const pub = (key: typeof bridge, subject: string, claim: string, object: string, not = false, dt = 0) => sign({ v: 1, actor: encodeDidKey(key.publicKey), subject, claim, object, ...(not && { not: true as const }), time: t + dt }, key)
    const statements = await Promise.all([
      pub(bridge, 'pkg:npm/good@1.0.0', 'published', A),
      // The author's NAR hash of the same version: another form, not a conflict.
      pub(author, 'pkg:npm/good@1.0.0', 'source', NAR),
      pub(bridge, 'pkg:npm/%40scope/differs@2.0.0', 'published', A),
      pub(bridge, 'pkg:npm/yanked@0.1.0', 'published', C),
      pub(bridge, 'pkg:npm/yanked@0.1.0', 'published', C, true, 1),
      pub(author, 'pkg:github/nixos/nixpkgs@0123456789abcdef0123456789abcdef01234567', 'source', NAR),
    ])
    await publish([net.relays[0]!.url], statements)
    work = mkdtempSync(join(tmpdir(), 'vouch-check-'))
    for (const f of ['package-lock-v3.json', 'flake.lock']) writeFileSync(join(work, f), readFileSync(join(FIX, f)))
    mkdirSync(join(work, '.vouch'))
    writeFileSync(join(work, '.vouch/policy.json'), JSON.stringify({ version: 1, trust: { keys: [authorDid] }, bridges: [{ key: bridgeDid, ecosystems: ['npm'] }] }))
  }, 120_000)

  afterAll(async () => {
    await net?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  const vouch = (args: string[]) => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: join(work, 'home'), VOUCH_RELAYS: net.relays[0]!.url } })

  it('bulkQuery returns every statement about the subjects, verified, in requests of 1000', async () => {
    const subjects = ['pkg:npm/good@1.0.0', ...Array.from({ length: 1500 }, (_, i) => `pkg:npm/none-${i}@1.0.0`)]
    const r = await bulkQuery([net.relays[0]!.url], subjects, { claims: ['published', 'source'] })
    expect(r.statements.map((s) => s.statement.claim).sort()).toEqual(['published', 'source'])
    expect(r.relays[0]!.requests).toBe(2)
    expect(r.truncated.size).toBe(0)
  })

  it('judges each package: verified, hash differs, yanked, no trusted claim; --json summary, exit 1, the project policy', async () => {
    const r = await vouch(['check', 'package-lock-v3.json', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(1)
    expect(r.json.policy).toBe(join(work, '.vouch/policy.json'))
    expect(r.json.summary).toMatchObject({ verified: 1, 'hash differs': 1, yanked: 1, 'no trusted claim': 1, conflict: 0 })
    const by = Object.fromEntries(r.json.packages.map((p: { subject: string; outcome: string; rule?: string }) => [p.subject, p]))
    expect(by['pkg:npm/good@1.0.0'].outcome).toBe('verified')
    expect(by['pkg:npm/%40scope/differs@2.0.0']).toMatchObject({ outcome: 'hash differs', rule: 'source' })
    expect(by['pkg:npm/yanked@0.1.0']).toMatchObject({ outcome: 'yanked', rule: 'yank' })
    expect(by['pkg:npm/unknown@3.0.0']).toMatchObject({ outcome: 'no trusted claim', rule: 'source' })
    const only = await vouch(['check', 'package-lock-v3.json', '--only-fail'])
    expect(only.code).toBe(1)
    expect(only.stdout).not.toMatch(/ok\s+pkg:npm\/good/)
    expect(only.stdout).toMatch(/FAIL\s+pkg:npm\/yanked@0.1.0: yanked/)
  })

  it('a lockfile of 1,200 packages takes a handful of requests, not one per package', async () => {
    const lock = JSON.parse(readFileSync(join(FIX, 'package-lock-v3.json'), 'utf8'))
    for (let i = 0; i < 1200; i++) lock.packages[`node_modules/many-${i}`] = { version: '1.0.0', integrity: A }
    writeFileSync(join(work, 'big-lock.json'), JSON.stringify(lock))
    const r = await vouch(['check', 'big-lock.json', '--json'])
    expect(r.json.summary).toMatchObject({ verified: 1, 'no trusted claim': 1201, yanked: 1 })
    // Versions (2 requests of ≤1000 subjects), author grants by object (2), builds of accepted
    // hashes the version claims name (1); then the trusted-builder graph from the one root, once.
    expect(r.json.requests.bulk).toBeLessThanOrEqual(5)
    expect(r.json.requests.other).toBeLessThanOrEqual(2)
  })

  it('vouch bundle writes what the check read; check --bundle repeats it with no relay at all, and refuses a changed bundle', async () => {
    const online = await vouch(['check', 'package-lock-v3.json', '--json'])
    const made = await vouch(['bundle', 'package-lock-v3.json', '-o', 'b.json', '--json'])
    expect(made.code).toBe(0)
    expect(made.json.statements).toBeGreaterThanOrEqual(4)
    const bundle = JSON.parse(readFileSync(join(work, 'b.json'), 'utf8'))
    expect(bundle.mediaType).toBe('application/vnd.vouch.bundle.v1+json')
    // No relay configured anywhere: the check must not need one.
    const offline = (args: string[]) => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: join(work, 'offline-home') } })
    const r = await offline(['check', 'package-lock-v3.json', '--bundle', 'b.json', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(1)
    expect(r.json.summary).toEqual(online.json.summary)
    expect(r.json.packages.map((p: { outcome: string }) => p.outcome)).toEqual(online.json.packages.map((p: { outcome: string }) => p.outcome))
    expect(r.json.requests).toEqual({ bulk: 0, other: 0 })
    // The relay is a log: one signed checkpoint, every statement with its inclusion proof, checked offline.
    expect(made.json).toMatchObject({ logChecked: made.json.statements, checkpoints: 1 })
    expect(bundle.log).toHaveLength(1)
    expect(bundle.log[0].entries).toHaveLength(bundle.statements.length)
    expect(r.json.log).toMatchObject({ logs: [{ relay: net.relays[0]!.url, kept: 'none' }], logChecked: bundle.statements.length, notLogChecked: 0, dropped: [] })
    // With the checkpoints the online check kept: the same log, compared as far as offline allows.
    const kept = await vouch(['check', 'package-lock-v3.json', '--bundle', 'b.json', '--json'])
    expect(kept.json.log.logs[0].kept).toMatch(/^(same tree|other size)/)
    const human = await offline(['check', 'package-lock-v3.json', '--bundle', 'b.json'])
    expect(human.stdout).toMatch(/log: \d+ statements included in 1 signed checkpoint; consistency with your kept checkpoints is not checked offline/)
    // A proof that fails drops its statement (named); a checkpoint that fails refuses the bundle.
    const badProof = structuredClone(bundle)
    const victim = badProof.log[0].entries.find((e: { proof: string[] }) => e.proof.length > 0)
    victim.proof[0] = Buffer.alloc(32).toString('base64')
    writeFileSync(join(work, 'p.json'), JSON.stringify(badProof))
    const dropped = await offline(['check', 'package-lock-v3.json', '--bundle', 'p.json', '--json'])
    expect(dropped.stderr).toMatch(new RegExp(`dropped ${victim.statement.replace(/[+/]/g, '\\$&')}: its inclusion proof at leaf ${victim.index}`))
    expect(dropped.json.log.dropped).toHaveLength(1)
    const badCp = structuredClone(bundle)
    badCp.log[0].checkpoint = badCp.log[0].checkpoint.replace(/\n(\d+)\n/, (_: string, n: string) => `\n${Number(n) + 1}\n`)
    writeFileSync(join(work, 'c.json'), JSON.stringify(badCp))
    const refused = await offline(['check', 'package-lock-v3.json', '--bundle', 'c.json'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/tampered|is not a checkpoint of/)
    const noLog = structuredClone(bundle)
    delete noLog.log
    writeFileSync(join(work, 'l.json'), JSON.stringify(noLog))
    expect((await offline(['check', 'package-lock-v3.json', '--bundle', 'l.json'])).stderr).toMatch(/statements are not log-checked/)
    // Without a relay and without a bundle there is nothing to check against.
    expect((await offline(['check', 'package-lock-v3.json'])).code).toBe(2)
    // One changed byte in a signed statement: the whole check fails, naming the statement.
    const i = bundle.statements.findIndex((s: { object?: string }) => s.object === A)
    const tampered = structuredClone(bundle)
    tampered.statements[i].object = C
    writeFileSync(join(work, 't.json'), JSON.stringify(tampered))
    const bad = await offline(['check', 'package-lock-v3.json', '--bundle', 't.json'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(new RegExp(`statements\\[${i}\\] does not verify \\(bad_signature`))
    expect(bad.stdout).toBe('')
    writeFileSync(join(work, 'n.json'), '{"mediaType": "something/else"}')
    const notBundle = await offline(['check', 'package-lock-v3.json', '--bundle', 'n.json'])
    expect(notBundle.code).toBe(5)
    expect(notBundle.stderr).toMatch(/not a vouch bundle/)
  })

  it('a flake.lock whose inputs are all claimed exits 0 once the unclaimed input is gone', async () => {
    const r = await vouch(['check', 'flake.lock', '--json'])
    expect(r.json.summary).toMatchObject({ verified: 1, 'no trusted claim': 1 })
    const lock = JSON.parse(readFileSync(join(work, 'flake.lock'), 'utf8'))
    delete lock.nodes.mylib
    writeFileSync(join(work, 'flake.lock'), JSON.stringify(lock))
    const ok = await vouch(['check', 'flake.lock'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/verified: 1/)
  })
})
