/** Reading a relay's log tree from its hash tiles (C2SP tlog-tiles), for proofs the client computes itself. */
import { HASH_SIZE, nodeHash, splitTile, tilePath, tileWidth, TILE_HEIGHT, TILE_WIDTH, type SubtreeHash } from '../verify/index.ts'
import { RelayProblemError } from './errors.ts'
import { readCapped, send, timeoutOf, type RequestOptions } from './http.ts'

/**
 * A tile with every complete subtree inside it hashed once: `levels[j][i]` is the hash of hashes
 * [i·2^j, (i+1)·2^j) of the tile. Without this each proof would rehash up to 255 nodes per tile
 * level, and checking 1,000 statements would cost seconds instead of milliseconds.
 */
type Tile = Uint8Array[][]

function tileLevels(hashes: Uint8Array[]): Tile {
  const levels: Tile = [hashes]
  for (let row = hashes; row.length >= 2; ) {
    const up: Uint8Array[] = []
    for (let i = 0; i + 1 < row.length; i += 2) up.push(nodeHash(row[i]!, row[i + 1]!))
    levels.push(up)
    row = up
  }
  return levels
}

/**
 * Tiles by URL. Every tile name, partial ones included, always names the same bytes, so a tile
 * once read need never be read again. A tile is only data until a proof built from it ends at a
 * signed root; `forget` drops a relay's tiles when one did not, so a wrong tile cannot linger.
 * Bounded: the oldest tiles go first (a full level-0 tile is 8 KiB plus its inner hashes).
 */
export class TileCache {
  private readonly tiles = new Map<string, Tile>()
  constructor(readonly maxTiles = 4096) {}

  get(url: string): Tile | undefined {
    return this.tiles.get(url)
  }

  set(url: string, t: Tile): void {
    if (this.tiles.size >= this.maxTiles) this.tiles.delete(this.tiles.keys().next().value!)
    this.tiles.set(url, t)
  }

  forget(prefix: string): void {
    for (const k of this.tiles.keys()) if (k.startsWith(prefix)) this.tiles.delete(k)
  }
}

const badTile = (message: string) => new RelayProblemError({ kind: 'invalid', code: 'bad_tile', message })

/** One tile's bytes: a 404 or a wrong length is the relay failing to serve the log it signed. */
async function fetchTile(url: string, width: number, o: RequestOptions): Promise<Uint8Array[]> {
  const timeout = AbortSignal.timeout(timeoutOf(o))
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  const res = await send(url, {}, { ...o, signal })
  const body = await readCapped(res, url, TILE_WIDTH * HASH_SIZE, signal)
  if (res.status !== 200) throw badTile(`${url}: HTTP ${res.status} for a tile of the signed checkpoint`)
  let hashes: Uint8Array[]
  try {
    hashes = splitTile(body)
  } catch (e) {
    throw badTile(`${url}: ${(e as Error).message}`)
  }
  if (hashes.length !== width) throw badTile(`${url} has ${hashes.length} hashes, expected ${width}`)
  return hashes
}

/** Subtree hashes, and `peek` for the ones whose tile is already cached: a warm check need not wait. */
export type TileSubtrees = SubtreeHash & { peek: (level: number, index: number) => Uint8Array | undefined }

/**
 * Subtree hashes of the tree of `size` leaves whose tiles are under `base` (`<relay><prefix>`),
 * each tile fetched at most once (and not at all when `cache` has it).
 */
export function tileSubtrees(base: string, size: number, cache: TileCache, o: RequestOptions): TileSubtrees {
  const pending = new Map<string, Promise<Tile>>()
  const tile = (level: number, index: number): Promise<Tile> => {
    const url = `${base}/${tilePath({ level, index, width: tileWidth(level, index, size) })}`
    const hit = cache.get(url)
    if (hit) return Promise.resolve(hit)
    let p = pending.get(url)
    if (!p) {
      p = fetchTile(url, tileWidth(level, index, size), o).then((hs) => {
        const t = tileLevels(hs)
        cache.set(url, t)
        return t
      })
      pending.set(url, p)
    }
    return p
  }
  const locate = (level: number, index: number) => {
    const t = Math.floor(level / TILE_HEIGHT)
    const within = level % TILE_HEIGHT
    const first = index * 2 ** within // index at tree level t·TILE_HEIGHT
    if ((first + 2 ** within) * TILE_WIDTH ** t > size) throw new RangeError(`subtree ${level}/${index} is not complete in a tree of ${size}`)
    return { t, n: Math.floor(first / TILE_WIDTH), within, at: (first % TILE_WIDTH) / 2 ** within }
  }
  const h = async (level: number, index: number) => {
    const { t, n, within, at } = locate(level, index)
    return (await tile(t, n))[within]![at]!
  }
  const peek = (level: number, index: number) => {
    const { t, n, within, at } = locate(level, index)
    return cache.get(`${base}/${tilePath({ level: t, index: n, width: tileWidth(t, n, size) })}`)?.[within]![at]
  }
  return Object.assign(h, { peek })
}
