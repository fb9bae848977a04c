import { fillAll } from '../store/bodies.ts'
import { SEQUENCE_BODY, shardsOf } from '../store/shards.ts'
import { BODY } from '../store/statements.ts'
import { concat, leafHash, tilePath, TILE_WIDTH, utf8, type TileRef } from '../verify/index.ts'

/**
 * The log's storage. D1's `statements.seq` is the sequencer: dense from 1 (INTEGER PRIMARY KEY,
 * max+1 allocation, rows never deleted, a duplicate's ON CONFLICT DO NOTHING takes no number) and
 * D1 commits one write transaction at a time, so leaf i is the canonical body of seq i + 1 and the
 * tree is a pure function of D1. R2 holds tiles already computed from it; every tile, full or
 * partial, is immutable under its name, so a copy is never stale. This module knows no HTTP.
 */

/**
 * The sequencer's table: `statements` at INDEX_SHARDS = 1, `sequence` at K > 1 (docs/SCALE.md,
 * "Built: step 2"). Both are dense from 1 under the same rules, so the log reads either alike.
 */
const sequencer = (db: D1Database) => (shardsOf(db) ? { table: 'sequence', body: SEQUENCE_BODY } : { table: 'statements', body: BODY })

export const r2TileKey = (t: TileRef) => `log/${tilePath(t)}`

/** Raised when D1's rows are not the dense sequence the log is defined on: a bug, never a client error. */
export class LogGapError extends Error {
  override readonly name = 'LogGapError'
}

/** Leaves in D1: the largest seq, which is the count because seq is dense from 1. */
export async function logSize(db: D1Database): Promise<number> {
  return (await db.prepare(`SELECT max(seq) AS n FROM ${sequencer(db).table}`).first<number | null>('n')) ?? 0
}

/**
 * Entries (canonical statement bytes) of leaves [start, start + count), checked to be dense;
 * undefined when the log does not reach start + count yet. Bodies already moved to their bundle
 * (a rerun after a crash between emptying D1 and recording the integrated mark) come from R2,
 * checked against their ids like every body read.
 */
export async function leafEntries(db: D1Database, start: number, count: number): Promise<Uint8Array[] | undefined> {
  // Rows as arrays, and no fillAll when every body is still pending (the usual case): the Worker
  // builds no object per row. Small (~0.5 µs a leaf of the Worker's ~6), but it is the Worker's
  // own CPU; D1's side of the read is the same (docs/PERFORMANCE.md, "Where integration's CPU goes").
  const q = sequencer(db)
  const rows = await db
    .prepare(`SELECT seq, id, ${q.body} FROM ${q.table} WHERE seq > ?1 AND seq <= ?2 ORDER BY seq`)
    .bind(start, start + count)
    .raw<[number, string, string | null]>()
  if (rows.some((r, i) => r[0] !== start + i + 1)) throw new LogGapError(`leaves ${start}..${start + count - 1}: D1's seq is not dense`)
  if (rows.length < count) return undefined
  // The usual case: every body still pending in D1. Otherwise (a rerun after a crash) bundles fill them.
  if (rows.every((r) => r[2] !== null)) return rows.map((r) => utf8(r[2]!))
  return (await fillAll(db, rows.map(([seq, id, body]) => ({ seq, id, body })))).map((r) => utf8(r.body))
}

/**
 * Deletes D1's copy of the bodies of leaves [start, end): called only after their bundles are in
 * R2 (put with a SHA-256 that R2 checks on arrival), so a crash before this leaves each body in
 * both places, never in neither. Returns D1's rows written (`meta.rows_written`): one per pending
 * body. Rows stored before migration 0004 kept their body in `statements.body`; it is emptied in
 * place (one more row each; SQLite does not give that space back, docs/SCALE.md).
 */
export async function dropIntegratedBodies(db: D1Database, start: number, end: number): Promise<number> {
  if (end <= start) return 0
  if (shardsOf(db)) {
    // No row at K > 1 ever held a body in place: only the pending ones go.
    const r = await db.prepare('DELETE FROM pending_bodies WHERE id IN (SELECT id FROM sequence WHERE seq > ?1 AND seq <= ?2)').bind(start, end).run()
    return r.meta.rows_written ?? 0
  }
  const results = await db.batch([
    db.prepare('DELETE FROM pending_bodies WHERE id IN (SELECT id FROM statements WHERE seq > ?1 AND seq <= ?2)').bind(start, end),
    db.prepare("UPDATE statements SET body = '' WHERE seq > ?1 AND seq <= ?2 AND body <> ''").bind(start, end),
  ])
  return results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0)
}

/** A level-0 tile computed from its entries. */
export const leafTile = (entries: Uint8Array[]) => concat(...entries.map(leafHash))

export async function getTile(bucket: R2Bucket, t: TileRef): Promise<Uint8Array | undefined> {
  const obj = await bucket.get(r2TileKey(t))
  return obj ? new Uint8Array(await obj.arrayBuffer()) : undefined
}

export async function putTile(bucket: R2Bucket, t: TileRef, bytes: Uint8Array): Promise<void> {
  // R2 checks the digest on arrival, so a truncated write cannot leave a wrong tile behind.
  const sha256 = await crypto.subtle.digest('SHA-256', bytes)
  await bucket.put(r2TileKey(t), bytes, { sha256, httpMetadata: { contentType: 'application/octet-stream' } })
}

export const isFull = (t: TileRef) => t.width === TILE_WIDTH
