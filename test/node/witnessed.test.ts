import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { countWitnesses, unwitnessedRelay, witnessBelief, type SignedCheckpoint } from '../../src/client/index.ts'
import { ensurePolicy, PolicyError } from '../../src/policy/index.ts'
import {
  cosign,
  cosignerKey,
  formatCheckpoint,
  formatCosignerKey,
  formatVerifierKey,
  keyPairFromSeed,
  parseCheckpoint,
  signNote,
  type CosignerKey,
  type KeyPair,
} from '../../src/verify/index.ts'

/**
 * The client's witness requirement (issue 16.4): a checkpoint is believed only with cosignatures
 * of k distinct named witnesses over its very body, each with a sane time. Cosignatures here are
 * made by the same `cosign` the relays' witnesses use.
 */

const ORIGIN = 'log.test/vouch-log'
const NOW = 1_750_000_000_000
let logKey: KeyPair
const witnesses: { key: CosignerKey; pair: KeyPair; vkey: string }[] = []
let note: string
let body: string

beforeAll(async () => {
  logKey = await keyPairFromSeed(new Uint8Array(32).fill(7))
  for (let i = 0; i < 6; i++) {
    const pair = await keyPairFromSeed(new Uint8Array(32).fill(20 + i))
    const name = `w${i}.test/vouch-witness`
    witnesses.push({ key: cosignerKey(name, pair.publicKey), pair, vkey: formatCosignerKey(name, pair.publicKey) })
  }
  body = formatCheckpoint({ origin: ORIGIN, size: 5, root: new Uint8Array(32).fill(3) })
  note = await signNote(body, ORIGIN, logKey.publicKey, logKey.secretKey)
})

const line = (w: number, time = NOW / 1000 - 60, over = body) => cosign(over, witnesses[w]!.key, witnesses[w]!.pair.secretKey, Math.round(time))
const keys = (...ws: number[]) => ws.map((w) => witnesses[w]!.key)
const at = { nowMs: NOW }

describe('countWitnesses', () => {
  it('counts a named witness whose cosignature verifies over this body, and no one else', async () => {
    const n = note + (await line(1)) + (await line(4))
    expect(await countWitnesses(n, keys(1), 1, at)).toEqual({ ok: true, cosigners: [{ name: witnesses[1]!.key.name, time: NOW / 1000 - 60 }], refused: [] })
    // A witness not named does not count, however valid its line.
    expect((await countWitnesses(n, keys(0), 1, at)).ok).toBe(false)
    expect((await countWitnesses(n, keys(1, 4), 2, at)).cosigners.map((c) => c.name)).toEqual([witnesses[1]!.key.name, witnesses[4]!.key.name])
    expect((await countWitnesses(n, keys(1, 2), 2, at)).ok).toBe(false)
  })

  it('counts a witness once however many lines it has, and refuses to be told one witness twice', async () => {
    const n = note + (await line(1)) + (await line(1, NOW / 1000 - 30))
    const r = await countWitnesses(n, keys(1, 2), 2, at)
    expect(r.ok).toBe(false)
    expect(r.cosigners).toHaveLength(1)
    await expect(countWitnesses(n, [witnesses[1]!.key, witnesses[1]!.key], 2, at)).rejects.toThrow(/named twice/)
  })

  it('does not count a cosignature over another checkpoint, or one whose bytes were changed', async () => {
    const other = formatCheckpoint({ origin: ORIGIN, size: 6, root: new Uint8Array(32).fill(4) })
    expect((await countWitnesses(note + (await line(1, undefined, other)), keys(1), 1, at)).ok).toBe(false)
    const good = await line(1)
    const b64 = good.trimEnd().split(' ').pop()!
    const raw = Buffer.from(b64, 'base64')
    raw[raw.length - 1]! ^= 1
    expect((await countWitnesses(note + good.replace(b64, raw.toString('base64')), keys(1), 1, at)).ok).toBe(false)
  })

  it('refuses times from the future beyond the skew, and older than maxAgeSeconds', async () => {
    const ahead = note + (await line(1, NOW / 1000 + 3600))
    expect(await countWitnesses(ahead, keys(1), 1, at)).toMatchObject({ ok: false, refused: [{ why: 'future' }] })
    expect((await countWitnesses(ahead, keys(1), 1, { ...at, clockSkewMs: 2 * 3600_000 })).ok).toBe(true)
    expect((await countWitnesses(note + (await line(1, NOW / 1000 + 60)), keys(1), 1, at)).ok).toBe(true)
    const old = note + (await line(1, NOW / 1000 - 86_400))
    expect((await countWitnesses(old, keys(1), 1, at)).ok).toBe(true)
    expect(await countWitnesses(old, keys(1), 1, { ...at, maxAgeSeconds: 3600 })).toMatchObject({ ok: false, refused: [{ why: 'too_old' }] })
    // A fresh line beside a stale one counts.
    expect((await countWitnesses(old + (await line(1)), keys(1), 1, { ...at, maxAgeSeconds: 3600 })).ok).toBe(true)
  })

  it('throws RangeError on k outside 1…n and on a malformed note', async () => {
    await expect(countWitnesses(note, keys(1), 0, at)).rejects.toThrow(RangeError)
    await expect(countWitnesses(note, keys(1), 2, at)).rejects.toThrow(RangeError)
    await expect(countWitnesses('no signatures\n', keys(1), 1, at)).rejects.toThrow(RangeError)
    await expect(countWitnesses(`${note}— bad line\n`, keys(1), 1, at)).rejects.toThrow(RangeError)
  })

  it('property: ok exactly when at least k of the named witnesses cosigned, whatever the order and the strangers', async () => {
    // Lines are made once; a run picks which witnesses sign, which are named, k, and the order.
    const lines = await Promise.all(witnesses.map((_, i) => line(i)))
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([0, 1, 2, 3, 4, 5]),
        fc.subarray([0, 1, 2, 3, 4, 5], { minLength: 1 }),
        fc.nat(),
        fc.nat(),
        async (signers, named, kPick, seed) => {
          const k = 1 + (kPick % named.length)
          const order = [...signers].sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13))
          const n = note + order.map((i) => lines[i]).join('')
          const r = await countWitnesses(n, keys(...named), k, at)
          const expected = named.filter((i) => signers.includes(i))
          expect(r.cosigners.map((c) => c.name)).toEqual(expected.map((i) => witnesses[i]!.key.name))
          expect(r.ok).toBe(expected.length >= k)
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('witnessBelief', () => {
  const signed = (n: string): SignedCheckpoint => ({ relay: 'http://a.test', verifierKey: 'a.test+00000000+AQ', note: n, opened: { text: body, verified: true } as never, checkpoint: parseCheckpoint(body)! })

  it('believes a checkpoint with k cosignatures, and otherwise says not_witnessed with the count and why', async () => {
    const believe = witnessBelief({ witnesses: [witnesses[1]!.vkey, witnesses[2]!.vkey], k: 2 }, () => NOW)
    expect(await believe(signed(note + (await line(1)) + (await line(2))))).toBe(true)
    const one = await believe(signed(note + (await line(1)) + (await line(2, NOW / 1000 + 7200))))
    expect(one).toMatchObject({ code: 'not_witnessed' })
    const message = (one as { message: string }).message
    expect(message).toContain(`http://a.test's checkpoint of ${ORIGIN} (5 leaves) is not witnessed: it has 1 (from ${witnesses[1]!.key.name}) of the 2 cosignatures`)
    expect(message).toContain(`${witnesses[2]!.key.name}'s is dated 2 h in the future`)
    expect(await believe(signed(`${note}— w1.test/vouch-witness AAAA\n`))).toMatchObject({ code: 'not_witnessed', message: expect.stringMatching(/cannot be read/) })
  })

  it('refuses a bad requirement at once, before any relay is asked', () => {
    expect(() => witnessBelief({ witnesses: ['nope'], k: 1 })).toThrow(/not a cosignature\/v1/)
    expect(() => witnessBelief({ witnesses: [witnesses[0]!.vkey], k: 2 })).toThrow(RangeError)
    expect(unwitnessedRelay('http://b.test')).toMatchObject({ code: 'not_witnessed', message: expect.stringContaining('publishes no log') })
  })
})

describe('the policy field logs', () => {
  const base = { version: 1, trust: { keys: [] } }
  const problem = (logs: unknown) => {
    try {
      ensurePolicy({ ...base, logs })
      return ''
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError)
      return (e as Error).message
    }
  }

  it('accepts witnesses in signed-note key form, with k defaulting to 1, and is absent by default', () => {
    expect(ensurePolicy(base).logs).toBeUndefined()
    const p = ensurePolicy({ ...base, logs: { witnesses: [{ key: witnesses[0]!.vkey, name: witnesses[0]!.key.name }, { key: witnesses[1]!.vkey }] } })
    expect(p.logs).toEqual({ witnesses: [{ key: witnesses[0]!.vkey, name: witnesses[0]!.key.name }, { key: witnesses[1]!.vkey }], k: 1 })
  })

  it('names each problem with its path', () => {
    expect(problem({ witnesses: [] })).toMatch(/logs\.witnesses: name at least one witness/)
    expect(problem({ witnesses: [{ key: 'did:key:z6Mk' }] })).toMatch(/logs\.witnesses\.0\.key: must be a witness verifier key/)
    // A log's own verifier key (type 0x01) is not a witness key.
    expect(problem({ witnesses: [{ key: formatVerifierKey(ORIGIN, logKey.publicKey) }] })).toMatch(/logs\.witnesses\.0\.key: must be a witness verifier key/)
    expect(problem({ witnesses: [{ key: witnesses[0]!.vkey }], k: 2 })).toMatch(/logs\.k: is 2, but only 1 witness is named/)
    expect(problem({ witnesses: [{ key: witnesses[0]!.vkey }, { key: witnesses[0]!.vkey }] })).toMatch(/logs\.witnesses\.1\.key: names the witness "w0\.test\/vouch-witness" a second time/)
    expect(problem({ witnesses: [{ key: witnesses[0]!.vkey, name: 'w9.test/vouch-witness' }] })).toMatch(/logs\.witnesses\.0\.name: is "w9\.test\/vouch-witness" but the key names "w0\.test\/vouch-witness"/)
    expect(problem({ witnesses: [{ key: witnesses[0]!.vkey }], k: 1, extra: true })).toMatch(/logs/)
    expect(problem({ witnesses: [{ key: witnesses[0]!.vkey }], maxAgeSeconds: 0 })).toMatch(/logs\.maxAgeSeconds/)
  })
})
