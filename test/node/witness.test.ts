import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { openNote, parseVerifierKey, splitNote, verifyCosignedCheckpoint } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Relays witness each other (PROTOCOL §6.11), three real relays on loopback in a line A–B–C: A's
 * cron submits its checkpoint to its peer B's witness, and A's /v1/log/checkpoint then carries B's
 * cosignature over the same body, verifiable with the key B publishes. C is not A's peer, so it
 * does not witness A (404) and A does not submit to it.
 */
let net: Awaited<ReturnType<typeof startNetwork>>

beforeAll(async () => {
  net = await startNetwork({ relays: 3, topology: 'line', peerTimeoutMs: 5000 })
}, 120_000)
afterAll(async () => net?.stop())

const wellKnown = async (url: string) => (await (await fetch(`${url}/.well-known/vouch`)).json()) as { log: { verifierKey: string }; witness: { verifierKey: string } }

describe('witnessing between relays', () => {
  it("A's checkpoint gets B's cosignature after A's cron, and A serves it beside its checkpoint", async () => {
    const [a, b, c] = net.relays as [(typeof net.relays)[0], (typeof net.relays)[0], (typeof net.relays)[0]]
    const s = await makeStatement(await testKey(61), { subject: 'pkg:generic/witnessed@1', time: Date.now() })
    expect((await fetch(`${a.url}/v1/statements`, { method: 'POST', body: JSON.stringify([s]), headers: { 'content-type': 'application/json' } })).status).toBe(200)
    const [wa, wb, wc] = await Promise.all([wellKnown(a.url), wellKnown(b.url), wellKnown(c.url)])
    let note = ''
    for (let i = 0; i < 40; i++) {
      await fetch(`${a.url}/__scheduled`)
      await new Promise((r) => setTimeout(r, 250))
      note = await (await fetch(`${a.url}/v1/log/checkpoint`)).text()
      if ((await verifyCosignedCheckpoint(note, [wb.witness.verifierKey], 1)).ok) break
    }
    expect((await openNote(note, parseVerifierKey(wa.log.verifierKey)!)).verified).toBe(true)
    const r = await verifyCosignedCheckpoint(note, [wb.witness.verifierKey, wc.witness.verifierKey], 1)
    expect(r.cosigners.map((x) => x.name)).toEqual([`${b.url.replace('http://', '')}/vouch-witness`])
    expect(Math.abs(r.cosigners[0]!.time - Date.now() / 1000)).toBeLessThan(120)
    expect(splitNote(note).body.split('\n')[1]).toBe('1')

    // B recorded A's checkpoint; C, which A does not list, refuses it as an unknown log.
    const plain = note.split('\n— ').slice(0, 2).join('\n— ') + '\n'
    const toC = await fetch(`${c.url}/v1/witness/add-checkpoint`, { method: 'POST', body: `old 0\n\n${plain}` })
    expect(toC.status).toBe(404)
    const toB = await fetch(`${b.url}/v1/witness/add-checkpoint`, { method: 'POST', body: `old 0\n\n${plain}` })
    expect([toB.status, await toB.text()]).toEqual([409, '1\n'])
  }, 60_000)
})
