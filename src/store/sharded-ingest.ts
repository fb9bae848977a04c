import type { Statement, VerifiedStatement } from '../verify/index.ts'
import { fillAll } from './bodies.ts'
import { SEQUENCE_BODY, shardOf } from './shards.ts'

/**
 * Ingest at INDEX_SHARDS = K > 1 (docs/SCALE.md, "Built: step 2"): one DB batch assigns the seqs
 * (and writes the search counts and pending bodies, as at K = 1), then each shard gets its new
 * rows in one batch, all shards in parallel, then the batch's `unindexed` row is deleted. A crash
 * between the two leaves that row, which holds the watermark below the batch (so no reader pages
 * past it) until the cron's integration repairs it (`repairIndex`).
 */

/** D1 caps a string or row at 2 MB; one JSON text per chunk stays well under (as statements.ts). */
const CHUNK_BYTES = 1_000_000

/** The DB SQL that differs from K = 1's only in reading `sequence` for "already held" (statements.ts passes it). */
export interface SequenceSql {
  names: string
  pending: string
}

/**
 * The next seq is a scalar subquery of its own: written as `FROM (SELECT max(seq) …) WHERE EXISTS …`,
 * SQLite pushed the WHERE into the aggregate, which loses its one-seek max and read all of `sequence`
 * (630–1,420 ms a batch at 10M statements; measured per statement in docs/SCALE.md).
 * Opens the batch's `unindexed` row at the next seq, only when some id is new (NOT EXISTS in
 * `sequence`, so a batch of duplicates writes nothing). The seqs this transaction assigns start
 * there: `sequence.seq` is max+1 and D1 runs one write transaction at a time.
 */
const OPEN = `INSERT INTO unindexed (lo, hi, at)
SELECT (SELECT coalesce(max(seq), 0) + 1 FROM sequence), 0, ?1
WHERE EXISTS (SELECT 1 FROM json_each(?2) AS j WHERE NOT EXISTS (SELECT 1 FROM sequence s WHERE s.id = j.value))`

const SEQUENCE = `INSERT INTO sequence (id, shard)
SELECT j.value ->> '$[0]', j.value ->> '$[8]' FROM json_each(?1) AS j WHERE true
ON CONFLICT (id) DO NOTHING
RETURNING seq, id`

/** Closes the row opened above (the only one with hi = 0: each is closed in its own transaction). */
const CLOSE = 'UPDATE unindexed SET hi = (SELECT max(seq) FROM sequence) WHERE hi = 0'

const INDEX = `INSERT INTO statements (seq, id, actor, subject, claim, object, neg, time)
SELECT j.value ->> '$[0]', j.value ->> '$[1]', j.value ->> '$[2]', j.value ->> '$[3]',
       j.value ->> '$[4]', j.value ->> '$[5]', j.value ->> '$[6]', j.value ->> '$[7]'
FROM json_each(?1) AS j WHERE true
ON CONFLICT (seq) DO NOTHING`

/** JSON arrays of `rows`, one text per chunk of at most CHUNK_BYTES. */
function chunked(rows: readonly string[]): string[] {
  const chunks: string[] = []
  let cur: string[] = []
  let size = 0
  for (const row of rows) {
    if (size + row.length > CHUNK_BYTES && cur.length) chunks.push(`[${cur.join(',')}]`), (cur = []), (size = 0)
    cur.push(row)
    size += row.length + 1
  }
  if (cur.length) chunks.push(`[${cur.join(',')}]`)
  return chunks
}

const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => void (m.get(k) ?? m.set(k, []).get(k)!).push(v)

/** A statement's index row: [seq, id, actor, subject, claim, object, neg, time]. */
const indexRow = (seq: number, id: string, s: Statement) => JSON.stringify([seq, id, s.actor, s.subject, s.claim, s.object ?? null, s.not ? 1 : 0, s.time])

export interface Sequenced {
  /** The batch's `unindexed` key (its first seq); undefined when nothing was new. */
  lo: number | undefined
  /** Index rows of the new statements, by shard. */
  byShard: Map<number, string[]>
  ids: Set<string>
}

/** The DB half: seqs, search counts, pending bodies and the open `unindexed` row, in one transaction. */
export async function sequenceStatements(db: D1Database, k: number, items: readonly VerifiedStatement[], sql: SequenceSql, now: number): Promise<Sequenced> {
  const shard = new Map<string, number>()
  const rows: string[] = []
  for (const { id, statement: s, canonical } of items) {
    const i = await shardOf(s.subject, k)
    shard.set(id, i)
    rows.push(JSON.stringify([id, s.actor, s.subject, s.claim, s.object ?? null, s.not ? 1 : 0, s.time, canonical, i]))
  }
  const chunks = chunked(rows)
  const names = db.prepare(sql.names)
  const pending = db.prepare(sql.pending)
  const seq = db.prepare(SEQUENCE)
  const results = await db.batch<{ seq: number; id: string }>([
    db.prepare(OPEN).bind(now, JSON.stringify(items.map((v) => v.id))),
    ...chunks.flatMap((c) => [names.bind(c), pending.bind(c), seq.bind(c)]),
    db.prepare(CLOSE),
  ])
  const fresh = results.slice(1, -1).flatMap((r, i) => (i % 3 === 2 ? r.results : []))
  const byId = new Map(items.map((v) => [v.id, v.statement]))
  const byShard = new Map<number, string[]>()
  for (const r of fresh) {
    push(byShard, shard.get(r.id)!, indexRow(r.seq, r.id, byId.get(r.id)!))
  }
  const lo = fresh.length ? Math.min(...fresh.map((r) => r.seq)) : undefined
  return { lo, byShard, ids: new Set(fresh.map((r) => r.id)) }
}

/** The shards' half: each shard's rows in one batch, in parallel, then the `unindexed` row goes. */
export async function indexStatements(db: D1Database, shards: readonly D1Database[], done: Sequenced): Promise<void> {
  await Promise.all([...done.byShard].map(([i, rows]) => shards[i]!.batch(chunked(rows).map((c) => shards[i]!.prepare(INDEX).bind(c)))))
  if (done.lo !== undefined) await db.prepare('DELETE FROM unindexed WHERE lo = ?1').bind(done.lo).run()
}

/** How old an `unindexed` row must be before the cron repairs it: a live ingest finishes well within this. */
export const REPAIR_AFTER_MS = 30_000

/**
 * Writes the shard rows of batches whose ingest stopped between its DB batch and its shard writes
 * (or whose shard write failed), from the bodies (pending in DB, or in R2 once integrated), and
 * deletes their `unindexed` rows. Idempotent (ON CONFLICT (seq) DO NOTHING), so racing a live
 * ingest that is merely slow is harmless; the age bound only avoids doing its work twice.
 * Returns the number of batches repaired.
 */
export async function repairIndex(db: D1Database, shards: readonly D1Database[], now: number, minAgeMs = REPAIR_AFTER_MS, maxBatches = 8): Promise<number> {
  const { results: open } = await db.prepare('SELECT lo, hi FROM unindexed WHERE hi > 0 AND at <= ?1 ORDER BY lo LIMIT ?2').bind(now - minAgeMs, maxBatches).all<{ lo: number; hi: number }>()
  for (const { lo, hi } of open) {
    const { results } = await db.prepare(`SELECT seq, id, shard, ${SEQUENCE_BODY} FROM sequence WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq`).bind(lo, hi).all<{ seq: number; id: string; shard: number; body: string | null }>()
    const filled = await fillAll(db, results)
    const byShard = new Map<number, string[]>()
    filled.forEach((r, n) => push(byShard, results[n]!.shard, indexRow(r.seq, r.id, JSON.parse(r.body) as Statement)))
    await indexStatements(db, shards, { lo, byShard, ids: new Set() })
    console.warn(`index shards: repaired seqs ${lo}..${hi} (an ingest stopped before its shard writes)`)
  }
  return open.length
}
