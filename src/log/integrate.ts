import type { RelayEnv } from '../config.ts'
import { bindBodies, noteBundles } from '../store/bodies.ts'
import { repairIndex } from '../store/sharded-ingest.ts'
import { bindIndex, shardsOf } from '../store/shards.ts'
import { concat, encodeBundle, hashFullTile, splitTile, tileRoot, TILE_WIDTH, type TileRef } from '../verify/index.ts'
import { dropIntegratedBodies, getTile, leafEntries, logSize, putTile } from './store.ts'

/**
 * Integration: turns each completed run of 256 leaves into immutable R2 objects, namely its entry
 * bundle, its level-0 tile, and the next width of the tile above (which becomes full, cascading up,
 * every 256th time). Everything written is a function of D1's rows, so two isolates integrating at
 * once write identical bytes, and a crash half-way leaves nothing that a rerun would write
 * differently: no lock is needed and the tree can neither fork nor rewind.
 *
 * `log/integrated` records how many level-0 tiles are done; it is written after their tiles, so
 * whatever it claims exists. A stale (smaller) value only makes a later run redo identical work.
 */

const STATE_KEY = 'log/integrated'

export async function integratedTiles(bucket: R2Bucket): Promise<number> {
  const obj = await bucket.get(STATE_KEY)
  if (!obj) return 0
  const n = Number(await obj.text())
  return Number.isSafeInteger(n) && n >= 0 ? n : 0
}

export interface IntegrateResult {
  /** Level-0 tiles integrated before and after this run. */
  before: number
  after: number
  /** R2 objects written. */
  writes: number
}

/**
 * Integrates up to `maxTiles` completed level-0 tiles of a log of `size` leaves (read from D1 when
 * not given). Bounded so one request's share of a backlog stays within Worker limits; the cron
 * finishes a large backlog.
 */
export async function integrate(env: RelayEnv, maxTiles: number, size?: number): Promise<IntegrateResult> {
  const bucket = env.BLOBS
  bindBodies(env.DB, bucket)
  bindIndex(env)
  // With the index sharded, first the shard rows of any ingest that stopped half-way (its
  // `unindexed` row holds the watermark back until then), while its bodies are most likely still pending.
  const shards = shardsOf(env.DB)
  if (shards) await repairIndex(env.DB, shards, Date.now())
  const before = await integratedTiles(bucket)
  const leaves = size ?? (await logSize(env.DB))
  const target = Math.min(Math.floor(leaves / TILE_WIDTH), before + maxTiles)
  let writes = 0
  // The partial upper tiles of this run, so each is read from R2 at most once.
  const upper = new Map<string, Uint8Array>()
  for (let k = before; k < target; k++) {
    const entries = await leafEntries(env.DB, k * TILE_WIDTH, TILE_WIDTH)
    if (!entries) throw new Error(`log leaves ${k * TILE_WIDTH}.. are not all in D1`)
    const { hashes, root } = await hashFullTile(entries)
    await Promise.all([putTile(bucket, { level: 'entries', index: k, width: TILE_WIDTH }, encodeBundle(entries)), putTile(bucket, { level: 0, index: k, width: TILE_WIDTH }, concat(...hashes))])
    writes += 2
    let h = root
    let below = k
    for (let level = 1; ; level++) {
      const index = Math.floor(below / TILE_WIDTH)
      const pos = below % TILE_WIDTH
      const key = `${level}/${index}`
      let prev = pos === 0 ? new Uint8Array(0) : upper.get(key)
      if (!prev) {
        const ref: TileRef = { level, index, width: pos }
        prev = await getTile(bucket, ref)
        if (!prev) throw new Error(`log tile ${level}/${index}.p/${pos} is missing below the integrated mark`)
      }
      const next = concat(prev, h)
      await putTile(bucket, { level, index, width: pos + 1 }, next)
      writes++
      upper.set(key, next)
      if (pos + 1 < TILE_WIDTH) break
      h = tileRoot(splitTile(next))
      below = index
    }
  }
  // Bundles below the mark and those this run wrote are in R2 (readers skip pending_bodies for their rows).
  noteBundles(bucket, Math.max(before, target))
  if (target > before) {
    // Bundles are in R2 now, so D1's copies of their bodies can go (docs/SCALE.md). Before the
    // mark: a crash here only makes the next run redo identical puts, reading these from R2.
    await dropIntegratedBodies(env.DB, before * TILE_WIDTH, target * TILE_WIDTH)
    await bucket.put(STATE_KEY, String(target))
    writes++
  }
  return { before, after: Math.max(before, target), writes }
}
