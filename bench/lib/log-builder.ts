import { r2TileKey } from '../../src/log/store.ts'
import { concat, encodeBundle, hashFullTile, splitTile, tileRoot, TILE_WIDTH, type TileRef } from '../../src/verify/index.ts'
import type { R2Object } from './r2-frame.ts'

export { frame, unframe, type R2Object } from './r2-frame.ts'

/**
 * The R2 objects the relay's integration (src/log/integrate.ts) writes for a log, computed in the
 * benchmark from the bodies in arrival order instead of read back from D1 one tile at a time:
 * per complete run of 256 leaves its entry bundle, its level-0 tile and the next width of each
 * upper tile it completes, then `log/integrated`. The relay's own integration over the local R2
 * took 2,191 s at 10M (docs/SCALE.md), almost all of it one put at a time through a proxy; these
 * objects are written in large batches by bench/lib/r2-writer-worker.ts instead.
 * test/workers/log-builder.test.ts checks the bytes and keys equal integrate()'s on a real D1 and R2.
 * No Node imports: the test runs it in workerd.
 */

export class LogBuilder {
  private pending: Uint8Array[] = []
  /** Level-0 tiles done, and the current partial tile of each upper level. */
  private tiles = 0
  private readonly upper = new Map<number, { index: number; hashes: Uint8Array[] }>()

  /** Adds the next leaf's entry; returns the objects a completed tile adds (none until 256 are in). */
  async add(entry: Uint8Array): Promise<R2Object[]> {
    this.pending.push(entry)
    if (this.pending.length < TILE_WIDTH) return []
    const entries = this.pending
    this.pending = []
    return this.tile(entries)
  }

  /** Leaves not in a complete tile: integration leaves their bodies in D1 (`pending_bodies`). */
  get tail(): Uint8Array[] {
    return this.pending
  }

  /** `log/integrated`: written last, as integration does, so what it claims exists. */
  mark(): R2Object {
    return { key: 'log/integrated', bytes: new TextEncoder().encode(String(this.tiles)) }
  }

  private async tile(entries: Uint8Array[]): Promise<R2Object[]> {
    const k = this.tiles++
    const { hashes, root } = await hashFullTile(entries)
    const out: R2Object[] = [
      { key: r2TileKey({ level: 'entries', index: k, width: TILE_WIDTH }), bytes: encodeBundle(entries) },
      { key: r2TileKey({ level: 0, index: k, width: TILE_WIDTH }), bytes: concat(...hashes) },
    ]
    let h = root
    let below = k
    for (let level = 1; ; level++) {
      const index = Math.floor(below / TILE_WIDTH)
      let cur = this.upper.get(level)
      if (!cur || cur.index !== index) this.upper.set(level, (cur = { index, hashes: [] }))
      cur.hashes.push(h)
      const ref: TileRef = { level, index, width: cur.hashes.length }
      const bytes = concat(...cur.hashes)
      out.push({ key: r2TileKey(ref), bytes })
      if (cur.hashes.length < TILE_WIDTH) break
      h = tileRoot(splitTile(bytes))
      below = index
    }
    return out
  }
}
