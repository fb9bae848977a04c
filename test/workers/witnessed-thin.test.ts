import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { keepWitnessed, thinWitnessed, witnessedFor } from '../../src/log/index.ts'
import { cosign, cosignerKey, keyPairFromSeed, splitNote } from '../../src/verify/index.ts'

/**
 * Thinning the witnessed history (PROTOCOL §6.13): rows younger than 30 days are all kept; older
 * ones become one per clock hour, the largest of each, so the checkpoint answered for any old leaf
 * moves less than an hour later and still includes it. A note with no readable time is kept.
 */

const DAY = 86_400_000
const NOW = Date.parse('2026-11-30T12:34:56Z')
const ORIGIN = 'relay.test/vouch-log'
const rows = async () => (await env.DB.prepare('SELECT size FROM witnessed ORDER BY size').all<{ size: number }>()).results.map((r) => r.size)

/** A stored note of `size` leaves cosigned at `time` (POSIX seconds) by one witness; the log's own line is a dummy of 64 bytes. */
async function note(size: number, time: number): Promise<string> {
  const w = await keyPairFromSeed(new Uint8Array(32).fill(5))
  const body = `${ORIGIN}\n${size}\n${btoa(String.fromCharCode(...new Uint8Array(32).fill(size % 256)))}\n`
  return `${body}\n— ${ORIGIN} ${btoa(String.fromCharCode(...new Uint8Array(68)))}\n${await cosign(body, cosignerKey('w.test/witness', w.publicKey), w.secretKey, time)}`
}
const timeOf = (n: string) => Number(new DataView(splitNote(n).signatures[1]!.signature.buffer, splitNote(n).signatures[1]!.signature.byteOffset, 8).getBigUint64(0))

beforeEach(async () => {
  await env.DB.prepare('DELETE FROM witnessed').run()
})

describe('thinWitnessed', () => {
  it('keeps the last 30 days whole and one row an hour before, each old leaf answered less than an hour later', async () => {
    // 40 days ago, from a clock hour on: one row every 10 minutes for 3 hours (18 rows, 6 an hour); then 10 rows a day ago.
    const h0 = Math.floor((NOW - 40 * DAY) / 3_600_000) * 3600
    const old = Array.from({ length: 18 }, (_, i) => ({ size: 10 * (i + 1), time: h0 + 600 * i }))
    const recent = Array.from({ length: 10 }, (_, j) => ({ size: 200 + 10 * j, time: Math.floor((NOW - DAY) / 1000) + 60 * j }))
    for (const r of [...old, ...recent]) await keepWitnessed(env.DB, r.size, await note(r.size, r.time))
    // An old row with no readable cosignature time stays whatever its neighbours.
    await keepWitnessed(env.DB, 185, `${ORIGIN}\n185\nROOT=\n\n— ${ORIGIN} sig\n`)
    const leaves = Array.from({ length: 290 }, (_, i) => i)
    const before = await Promise.all(leaves.map((i) => witnessedFor(env.DB, i)))

    const r = await thinWitnessed(env.DB, NOW)
    expect(r).toEqual({ read: 29, deleted: 15 })
    expect(await rows()).toEqual([60, 120, 180, 185, ...recent.map((x) => x.size)])
    const after = await Promise.all(leaves.map((i) => witnessedFor(env.DB, i)))
    for (const i of leaves) {
      const [b, a] = [before[i]!, after[i]!]
      // Still a checkpoint that includes the leaf, never earlier, and less than an hour later.
      expect(Number(a.split('\n')[1])).toBeGreaterThan(i)
      if (b.includes('sig\n') || a.includes('sig\n')) continue
      expect(timeOf(a) - timeOf(b)).toBeGreaterThanOrEqual(0)
      expect(timeOf(a) - timeOf(b)).toBeLessThan(3600)
    }
    // A second pass finds nothing more; the latest checkpoint is untouched.
    expect((await thinWitnessed(env.DB, NOW)).deleted).toBe(0)
    expect(await witnessedFor(env.DB)).toBe(await note(290, recent[9]!.time))
  })

  it('a row in the same hour as the 30-day line is kept until the line has passed its hour', async () => {
    const line = Math.floor((NOW - 30 * DAY) / 1000)
    await keepWitnessed(env.DB, 1, await note(1, line - 10))
    await keepWitnessed(env.DB, 2, await note(2, line + 10))
    // Size 1 is older than 30 days but size 2, in the same hour, is not: 1's leaves move to 2, 20 s later.
    const sameHour = Math.floor((line - 10) / 3600) === Math.floor((line + 10) / 3600)
    expect((await thinWitnessed(env.DB, NOW)).deleted).toBe(sameHour ? 1 : 0)
    expect(await rows()).toEqual(sameHour ? [2] : [1, 2])
  })
})
