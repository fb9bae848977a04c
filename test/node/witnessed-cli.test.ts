import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { formatCosignerKey, keyPairFromSeed, verifyCosignedCheckpoint } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'
import { runVouch, type Run } from './run-vouch.ts'

/**
 * A client policy that requires witness cosignatures (issue 16.4), end to end: two real relays on
 * loopback in a line A–B, where B witnesses A. Once A's cron has collected B's cosignature,
 * `vouch verify` against A passes under "1 of B"; under an unknown witness or "2 of B and that
 * one", A's answers are dropped as not_witnessed and the command fails saying so.
 */
let net: Awaited<ReturnType<typeof startNetwork>>
let work: string
let a: string
let witnessB: string
const subject = `pkg:generic/witnessed-${process.pid}@1.0.0`
let trusted: string

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-witnessed-'))
  net = await startNetwork({ relays: 2, topology: 'line', peerTimeoutMs: 5000 })
  a = net.relays[0]!.url
  const b = net.relays[1]!.url
  const key = await testKey(62)
  trusted = key.did
  const s = await makeStatement(key, { subject, time: Date.now() - 1000 })
  const posted = await fetch(`${a}/v1/statements`, { method: 'POST', body: JSON.stringify([s]), headers: { 'content-type': 'application/json' } })
  expect(posted.status).toBe(200)
  witnessB = ((await (await fetch(`${b}/.well-known/vouch`)).json()) as { witness: { verifierKey: string } }).witness.verifierKey
  // A's cron integrates the statement and submits its checkpoint to its peer B's witness.
  for (let i = 0; i < 40; i++) {
    await fetch(`${a}/__scheduled`)
    await new Promise((r) => setTimeout(r, 250))
    const note = await (await fetch(`${a}/v1/log/checkpoint`)).text()
    if (note.split('\n')[1] === '1' && (await verifyCosignedCheckpoint(note, [witnessB], 1)).ok) break
  }
}, 120_000)

afterAll(async () => {
  await net?.stop()
  rmSync(work, { recursive: true, force: true })
})

const vouch = (args: string[], home: string): Promise<Run> => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: home }, json: true, source: true })

/** A fresh VOUCH_HOME whose policy.json trusts the publisher and requires `logs`. */
function home(name: string, logs: unknown): string {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ version: 1, trust: { keys: [trusted] }, logs }))
  return dir
}

const nameOf = (vkey: string) => vkey.slice(0, vkey.indexOf('+'))

describe('a policy requiring witness cosignatures', () => {
  it('1 of B: vouch verify against A passes, and says the checkpoints were witnessed', async () => {
    const h = home('one-of-b', { witnesses: [{ key: witnessB }], k: 1 })
    const r = await vouch(['verify', subject, '--relay', a, '--json'], h)
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.verdict).toBe('trusted')
    expect(r.json.logs).toEqual({ k: 1, witnesses: [nameOf(witnessB)], notWitnessed: [] })
    const text = await vouch(['verify', subject, '--relay', a], h)
    expect(text.stdout).toContain(`✓ every relay read had a checkpoint with 1 of 1 witness cosignature (${nameOf(witnessB)})`)
    // query and show honour the same policy without being given it.
    const q = await vouch(['query', '--subject', subject, '--relay', a, '--json'], h)
    expect(q.code, q.stderr).toBe(0)
    expect(q.json.warnings).toEqual([])
  }, 60_000)

  it('an unknown witness, or 2 of B and it: A is not witnessed, and verify, query and show fail saying so', async () => {
    // Without a policy the statement is there to be shown.
    const plain = await vouch(['query', '--subject', subject, '--relay', a, '--json'], join(work, 'no-policy'))
    expect(plain.code, plain.stderr).toBe(0)
    const id = plain.json.statements[0].id as string
    const stranger = await keyPairFromSeed(new Uint8Array(32).fill(63))
    const unknown = formatCosignerKey('stranger.test/vouch-witness', stranger.publicKey)
    for (const [name, logs, has] of [
      ['unknown', { witnesses: [{ key: unknown }] }, 'it has 0 of the 1 cosignature the policy requires'],
      ['two', { witnesses: [{ key: witnessB }, { key: unknown }], k: 2 }, `it has 1 (from ${nameOf(witnessB)}) of the 2 cosignatures the policy requires`],
    ] as const) {
      const h = home(name, logs)
      const r = await vouch(['verify', subject, '--relay', a, '--json'], h)
      expect(r.code, r.stderr).toBe(1)
      // A's answers were dropped, so nothing trusted is left, and the verdict says why.
      expect(r.json.verdict).toBe('untrusted')
      expect(r.json.gathered.statements).toBe(0)
      expect(r.json.logs.notWitnessed).toEqual([{ relay: a, message: expect.stringContaining(`${a}'s checkpoint of `) }])
      expect(r.json.logs.notWitnessed[0].message).toContain(`is not witnessed: ${has}`)
      const node = r.json.explanation.children.find((c: { rule: string }) => c.rule === 'logs')
      expect(node).toMatchObject({ ok: false, text: expect.stringContaining(`not witnessed, answers dropped: ${a}`), children: [{ rule: 'not_witnessed', ok: false }] })
      expect(r.json.warnings.join('\n')).toContain('is not witnessed')
      const q = await vouch(['query', '--subject', subject, '--relay', a], h)
      expect(q.code).toBe(1)
      expect(q.stderr).toContain('is not witnessed')
      const show = await vouch(['show', id, '--relay', a], h)
      expect(show.code).toBe(1)
      expect(show.stderr).toContain('is not witnessed')
      // Nothing is kept from a relay whose checkpoint is not believed.
      expect(existsSync(join(h, 'logs'))).toBe(false)
    }
  }, 60_000)

  it('after unwitnessed leaves are appended, the witnessed prefix still counts and the tail is refused, naming both sizes', async () => {
    // A second statement, logged (A's checkpoint reaches 2 leaves) but not yet witnessed: no cron round since.
    const later = `pkg:generic/witnessed-later-${process.pid}@1.0.0`
    const posted = await fetch(`${a}/v1/statements`, { method: 'POST', body: JSON.stringify([await makeStatement(await testKey(62), { subject: later, time: Date.now() - 500 })]), headers: { 'content-type': 'application/json' } })
    expect(posted.status).toBe(200)
    let note = ''
    for (let i = 0; i < 20 && note.split('\n')[1] !== '2'; i++) {
      await new Promise((r) => setTimeout(r, 300))
      note = await (await fetch(`${a}/v1/log/checkpoint`)).text()
    }
    expect(note.split('\n')[1]).toBe('2')
    expect((await verifyCosignedCheckpoint(note, [witnessB], 1)).ok).toBe(false)
    const h = home('prefix', { witnesses: [{ key: witnessB }], k: 1 })
    const old = await vouch(['verify', subject, '--relay', a, '--json'], h)
    expect(old.code, old.stderr).toBe(0)
    expect(old.json.verdict).toBe('trusted')
    expect(old.json.logs.notWitnessed).toEqual([])
    const tail = await vouch(['verify', later, '--relay', a, '--json'], h)
    expect(tail.code).toBe(1)
    expect(tail.json.verdict).toBe('untrusted')
    expect(tail.json.gathered.statements).toBe(0)
    // The relay is named under the policy's witness rule, with the leaf, both sizes and what to do.
    expect(tail.json.logs.notWitnessed).toEqual([{ relay: a, message: expect.stringContaining(`leaf 1 of ${a}'s log `) }])
    const said = tail.json.logs.notWitnessed[0].message as string
    expect(said).toContain(`leaf 1 of ${a}'s log `)
    expect(said).toContain(`is not witnessed yet: the latest checkpoint its witnesses cosigned (${nameOf(witnessB)}) has 1 leaf, its current one 2`)
    expect(said).toContain("retry after the relay's next witness round")
  }, 60_000)
})
