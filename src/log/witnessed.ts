/**
 * The log's witnessed history (PROTOCOL §6.13): checkpoints with the cosignatures collected for
 * them, one row per tree size. Knows no HTTP.
 */
import { splitNote } from '../verify/index.ts'

/**
 * Keeps `note` (the checkpoint with its cosignature lines) for its tree size. A later run that got
 * more cosignatures for the same checkpoint replaces it with the fuller note: the checkpoint is
 * the same (a log does not sign two trees of one size), only lines are added.
 */
export async function keepWitnessed(db: D1Database, size: number, note: string): Promise<void> {
  await db.prepare('INSERT INTO witnessed (size, note) VALUES (?1, ?2) ON CONFLICT (size) DO UPDATE SET note = excluded.note WHERE length(excluded.note) > length(note)').bind(size, note).run()
}

/**
 * The earliest witnessed checkpoint that includes leaf `index` (its size > index), or with no
 * index the latest one; undefined when there is none. The log only grows, so the answer for an
 * index never names another checkpoint once it exists.
 */
export async function witnessedFor(db: D1Database, index?: number): Promise<string | undefined> {
  const q = index === undefined ? db.prepare('SELECT note FROM witnessed ORDER BY size DESC LIMIT 1') : db.prepare('SELECT note FROM witnessed WHERE size > ?1 ORDER BY size LIMIT 1').bind(index)
  return (await q.first<string>('note')) ?? undefined
}

/** Rows kept whole (PROTOCOL §6.13): a month of one a minute; older ones are thinned to one an hour. */
export const WITNESSED_KEEP_MS = 30 * 86_400_000
const HOUR_S = 3600
const PAGE = 1000

/** A cosignature's signature bytes: u64 time ‖ 64-byte Ed25519 signature (the log's own line has 64). */
const COSIGNATURE_BYTES = 72

/** When a stored note was witnessed: its earliest cosignature time (POSIX seconds), or undefined when none can be read. */
function witnessedAt(note: string): number | undefined {
  let times: number[]
  try {
    times = splitNote(note)
      .signatures.filter((s) => s.signature.length === COSIGNATURE_BYTES)
      .map((s) => Number(new DataView(s.signature.buffer, s.signature.byteOffset, 8).getBigUint64(0)))
  } catch {
    return undefined
  }
  return times.length ? Math.min(...times) : undefined
}

/**
 * Thins the witnessed history older than WITNESSED_KEEP_MS to one row per clock hour, the
 * largest size of each: a bound only needs the earliest witnessed checkpoint after a leaf, and
 * the next row kept in the same hour includes every leaf a removed one did, so an old bound moves
 * less than an hour later. Rows whose note cannot be read for a time are kept. Reads the history
 * from its start up to the first row younger than that (after a year, ~9,000 thinned rows plus
 * a day's 1,440), so the cron runs it once a day.
 */
export async function thinWitnessed(db: D1Database, nowMs: number): Promise<{ read: number; deleted: number }> {
  const cutoff = (nowMs - WITNESSED_KEEP_MS) / 1000
  const doomed: number[] = []
  let prev: { size: number; hour: number } | undefined
  let after = -1
  let read = 0
  pages: for (;;) {
    const page = (await db.prepare('SELECT size, note FROM witnessed WHERE size > ?1 ORDER BY size LIMIT ?2').bind(after, PAGE).all<{ size: number; note: string }>()).results
    read += page.length
    for (const r of page) {
      const t = witnessedAt(r.note)
      const hour = t === undefined ? undefined : Math.floor(t / HOUR_S)
      // The previous (old) row's leaves are all in this one, witnessed within the same hour.
      if (prev && hour === prev.hour) doomed.push(prev.size)
      if (t !== undefined && t >= cutoff) break pages
      prev = hour === undefined ? undefined : { size: r.size, hour }
      after = r.size
    }
    if (page.length < PAGE) break
  }
  // One bound parameter for the whole list (D1 binds at most 100).
  if (doomed.length) await db.prepare('DELETE FROM witnessed WHERE size IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(doomed)).run()
  return { read, deleted: doomed.length }
}
