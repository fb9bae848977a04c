import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { makeStatement, testKey } from '../helpers.ts'
import { runVouch, type Run } from './run-vouch.ts'

/**
 * Witnessed time bounds for revocation (issue 16.6), end to end on two real relays on loopback,
 * B witnessing A. A key publishes claim 1, which A's log integrates and B cosigns; the key is then
 * revoked from T; a thief holding it publishes claim 2 dated before T. Under "from-time" claim 2
 * counts (the hole); under "witnessed" claim 1 counts and claim 2 is refused, and verify says why.
 */
let net: Awaited<ReturnType<typeof startNetwork>>
let work: string
let a: string
let witnessB: string
let root: string
let revokedAt: number
const pkg = `pkg:generic/timebound-${process.pid}`
const npmName = `timebound-${process.pid}`
const npm = `pkg:npm/${npmName}`
const A = 'sha512-H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYOD1MChgxlK/CNVgJSql50IQVG82n7u86MEs/HlXsmUv6adQ=='
const C = 'sha512-rMKNsr63tCuqHLAkPUAcy04/zkTXsCh5pSeZqt/1QVItiCJZiy+mZPnVFWwAySSAXXXDhovVbCrLgdN+mONa3A=='

async function post(relay: string, statements: unknown[]): Promise<void> {
  const res = await fetch(`${relay}/v1/statements`, { method: 'POST', body: JSON.stringify(statements), headers: { 'content-type': 'application/json' } })
  expect(res.status, await res.clone().text()).toBe(200)
}

/** Runs A's cron until a witnessed checkpoint includes leaf `index` and is A's current one. */
async function witnessed(index: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await fetch(`${a}/__scheduled`)
    await new Promise((r) => setTimeout(r, 250))
    const res = await fetch(`${a}/v1/log/witnessed?index=${index}`)
    const latest = await fetch(`${a}/v1/log/witnessed`)
    const cp = await (await fetch(`${a}/v1/log/checkpoint`)).text()
    if (res.status === 200 && latest.status === 200 && (await latest.text()) === cp) return
    await res.body?.cancel()
  }
  throw new Error(`leaf ${index} was not witnessed`)
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-timebound-'))
  net = await startNetwork({ relays: 2, topology: 'line', peerTimeoutMs: 5000 })
  a = net.relays[0]!.url
  witnessB = ((await (await fetch(`${net.relays[1]!.url}/.well-known/vouch`)).json()) as { witness: { verifierKey: string } }).witness.verifierKey
  const me = await testKey(71)
  const author = await testKey(72)
  root = me.did
  const t0 = Date.now() - 60_000
  // Leaves 0 and 1: the grant and claim 1; then the same for an npm package, for `vouch check` (leaves 2, 3).
  await post(a, [await makeStatement(me, { subject: author.did, claim: 'author', object: pkg, time: t0 })])
  await post(a, [await makeStatement(author, { subject: `${pkg}@1.0.0`, claim: 'source', object: `sha256-${'A'.repeat(43)}=`, time: t0 + 1000 })])
  await post(a, [await makeStatement(me, { subject: author.did, claim: 'author', object: npm, time: t0 })])
  await post(a, [await makeStatement(author, { subject: `${npm}@1.0.0`, claim: 'source', object: A, time: t0 + 1000 })])
  await witnessed(3)
  // A cosignature names whole seconds, and a bound is the end of its second: revoke in a later one.
  await new Promise((r) => setTimeout(r, 1100))
  // The key is stolen: it is revoked from now (leaf 2).
  revokedAt = Date.now()
  await post(a, [await makeStatement(me, { subject: author.did, claim: 'author', object: pkg, time: revokedAt, not: true })])
  await post(a, [await makeStatement(me, { subject: author.did, claim: 'author', object: npm, time: revokedAt, not: true })])
  // The thief's claim 2, dated before the revocation (leaf 3); it is logged and witnessed too, but only now.
  await post(a, [await makeStatement(author, { subject: `${pkg}@2.0.0`, claim: 'source', object: `sha256-${'B'.repeat(42)}A=`, time: revokedAt - 30_000 })])
  await post(a, [await makeStatement(author, { subject: `${npm}@2.0.0`, claim: 'source', object: C, time: revokedAt - 30_000 })])
  await witnessed(7)
  writeFileSync(
    join(work, 'package-lock.json'),
    JSON.stringify({
      name: 'app',
      lockfileVersion: 3,
      packages: { '': { name: 'app' }, [`node_modules/${npmName}`]: { version: '1.0.0', integrity: A }, [`node_modules/x/node_modules/${npmName}`]: { version: '2.0.0', integrity: C } },
    }),
  )
}, 180_000)

afterAll(async () => {
  await net?.stop()
  rmSync(work, { recursive: true, force: true })
})

const vouch = (args: string[], home: string): Promise<Run> => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: home }, json: args.includes('--json'), source: true })

function home(name: string, revocation: string): string {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ version: 1, trust: { keys: [root] }, logs: { witnesses: [{ key: witnessB }], k: 1 }, revocation }))
  return dir
}

type Node = { rule: string; ok: boolean; text: string; children?: Node[] }
const nodes = (e: Node): Node[] => [e, ...(e.children ?? []).flatMap(nodes)]
const witnessName = () => witnessB.slice(0, witnessB.indexOf('+'))

describe('revocation "witnessed" against a back-dating thief', () => {
  it('under from-time, the back-dated claim 2 counts: the hole this closes', async () => {
    const r = await vouch(['verify', `${pkg}@2.0.0`, '--relay', a, '--json'], home('from-time', 'from-time'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.verdict).toBe('trusted')
  }, 60_000)

  it('under witnessed, claim 1 counts (witnessed before T) and claim 2 is refused, each explained', async () => {
    const h = home('witnessed', 'witnessed')
    const one = await vouch(['verify', `${pkg}@1.0.0`, '--relay', a, '--json'], h)
    expect(one.code, one.stderr + JSON.stringify(one.json?.explanation)).toBe(0)
    expect(one.json.verdict).toBe('trusted')
    const counted = nodes(one.json.explanation).find((n) => n.rule === 'witnessed')!
    expect(counted.ok).toBe(true)
    expect(counted.text).toMatch(new RegExp(`^counted: .*'s claim was witnessed by ${witnessName().replace(/[.]/g, '\\.')} by \\S+Z, before the key was revoked from ${new Date(revokedAt).toISOString()}$`))

    const two = await vouch(['verify', `${pkg}@2.0.0`, '--relay', a, '--json'], h)
    expect(two.code).toBe(1)
    expect(two.json.verdict).toBe('untrusted')
    const refused = nodes(two.json.explanation).find((n) => n.rule === 'not-witnessed')!
    expect(refused.ok).toBe(false)
    expect(refused.text).toContain(`was revoked from ${new Date(revokedAt).toISOString()} and this claim was first witnessed by `)
    expect(refused.text).toContain(`(its own time ${new Date(revokedAt - 30_000).toISOString()} is the key's word, which a thief can back-date)`)
    // The text output shows the same lines.
    const text = await vouch(['verify', `${pkg}@2.0.0`, '--relay', a], h)
    expect(text.stdout).toContain('✗ not counted: ')
    expect(text.stdout).toContain("which a thief can back-date")
  }, 60_000)

  it('vouch check applies it too: the witnessed version verifies, the back-dated one is refused with the reason', async () => {
    const byOf = (r: Run) => Object.fromEntries((r.json.packages as { subject: string; outcome: string; reason?: string }[]).map((p) => [p.subject, p]))
    const before = await vouch(['check', 'package-lock.json', '--relay', a, '--json'], home('check-from-time', 'from-time'))
    expect(byOf(before)[`${npm}@2.0.0`]?.outcome, before.stderr).toBe('verified')
    const r = await vouch(['check', 'package-lock.json', '--relay', a, '--json'], home('check-witnessed', 'witnessed'))
    const by = byOf(r)
    expect(by[`${npm}@1.0.0`]?.outcome, r.stderr).toBe('verified')
    expect(by[`${npm}@2.0.0`]).toMatchObject({ outcome: 'no trusted claim', reason: expect.stringContaining('which a thief can back-date') })
  }, 60_000)

  it('a bundle carries the witnessed times: vouch check --bundle gives the online verdict offline, and a bound that was changed does not count', async () => {
    const h = home('bundle-witnessed', 'witnessed')
    const byOf = (r: Run) => Object.fromEntries((r.json.packages as { subject: string; outcome: string }[]).map((p) => [p.subject, p.outcome]))
    const online = await vouch(['check', 'package-lock.json', '--relay', a, '--json'], h)
    const file = join(work, 'witnessed-bundle.json')
    const made = await vouch(['bundle', 'package-lock.json', '-o', file, '--relay', a, '--json'], h)
    expect(made.code, made.stderr).toBe(0)
    // Claim 1 and claim 2 of the revoked key: each with its witnessed checkpoint and proofs.
    expect(made.json.witnessedTimes).toBe(2)
    const offline = await vouch(['check', 'package-lock.json', '--bundle', file, '--json'], h)
    expect(byOf(offline)).toEqual(byOf(online))
    expect(byOf(offline)).toEqual({ [`${npm}@1.0.0`]: 'verified', [`${npm}@2.0.0`]: 'no trusted claim' })

    // Without the bounds (an older bundle), the revoked key's claims do not count under "witnessed".
    const bundle = JSON.parse(readFileSync(file, 'utf8'))
    const bare = join(work, 'bare-bundle.json')
    writeFileSync(bare, JSON.stringify({ ...bundle, log: bundle.log.map(({ bounds: _, ...g }: { bounds: unknown }) => g) }))
    const old = await vouch(['check', 'package-lock.json', '--bundle', bare, '--json'], h)
    expect(byOf(old)[`${npm}@1.0.0`]).toBe('no trusted claim')
    // A cosignature changed in the bundle: that bound is refused, with the reason, and claim 1 no longer counts.
    const forged = join(work, 'forged-bundle.json')
    const flip = (note: string) => note.replace(/(\n— [^\n]*vouch-witness )([A-Za-z0-9+/])/, (_m, pre: string, c: string) => pre + (c === 'A' ? 'B' : 'A'))
    writeFileSync(forged, JSON.stringify({ ...bundle, log: bundle.log.map((g: { bounds?: { witnessed: string }[] }) => ({ ...g, bounds: g.bounds?.map((b) => ({ ...b, witnessed: flip(b.witnessed) })) })) }))
    const bad = await vouch(['check', 'package-lock.json', '--bundle', forged, '--json'], h)
    expect(byOf(bad)[`${npm}@1.0.0`]).toBe('no trusted claim')
    expect(bad.stderr).toContain('no witnessed time for ')
    expect(bad.stderr).toContain('of the 1 valid cosignatures the policy requires')
  }, 90_000)
})
