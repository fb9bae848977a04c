import { concat, leafHash, tilePath, TILE_WIDTH, utf8, type TileRef } from '../verify/index.ts'

/**
 * The log's storage. D1's `statements.seq` is the sequencer: dense from 1 (INTEGER PRIMARY KEY,
 * max+1 allocation, rows never deleted, a duplicate's ON CONFLICT DO NOTHING takes no number) and
 * D1 commits one write transaction at a time, so leaf i is the canonical body of seq i + 1 and the
 * tree is a pure function of D1. R2 holds tiles already computed from it; every tile, full or
 * partial, is immutable under its name, so a copy is never stale. This module knows no HTTP.
 */

export const r2TileKey = (t: TileRef) => `log/${tilePath(t)}`

/** Raised when D1's rows are not the dense sequence the log is defined on: a bug, never a client error. */
export class LogGapError extends Error {
  override readonly name = 'LogGapError'
}

/** Leaves in D1: the largest seq, which is the count because seq is dense from 1. */
export async function logSize(db: D1Database): Promise<number> {
  return (await db.prepare('SELECT max(seq) AS n FROM statements').first<number | null>('n')) ?? 0
}

/**
 * Entries (canonical statement bytes) of leaves [start, start + count), checked to be dense;
 * undefined when the log does not reach start + count yet.
 */
export async function leafEntries(db: D1Database, start: number, count: number): Promise<Uint8Array[] | undefined> {
  const { results } = await db
    .prepare('SELECT seq, body FROM statements WHERE seq > ?1 AND seq <= ?2 ORDER BY seq')
    .bind(start, start + count)
    .all<{ seq: number; body: string }>()
  if (results.some((r, i) => r.seq !== start + i + 1)) throw new LogGapError(`leaves ${start}..${start + count - 1}: D1's seq is not dense`)
  if (results.length < count) return undefined
  return results.map((r) => utf8(r.body))
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
