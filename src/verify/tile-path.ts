import { TILE_WIDTH } from './tlog.ts'

/**
 * Tile paths exactly as C2SP tlog-tiles spells them: `tile/<L>/<N>[.p/<W>]` for hashes and
 * `tile/entries/<N>[.p/<W>]` for entry bundles, N written in 3-digit groups, all but the last
 * prefixed `x` (1234067 → `x001/x234/067`). Parsing accepts only that spelling: one tile, one URL,
 * so edge caches never hold two copies and a path cannot be smuggled past a check.
 */

export interface TileRef {
  /** Tree level of the tile (0 holds leaf hashes), or 'entries' for an entry bundle. */
  level: number | 'entries'
  index: number
  /** Hashes (or entries) in the tile: 256 when full. */
  width: number
}

/** Tile levels a log can have: 256^6 leaves is past any safe integer index. */
export const MAX_TILE_LEVEL = 5

export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tile index must be a non-negative safe integer, got ${n}`)
  let s = String(n % 1000).padStart(3, '0')
  for (n = Math.floor(n / 1000); n > 0; n = Math.floor(n / 1000)) s = `x${String(n % 1000).padStart(3, '0')}/${s}`
  return s
}

export function tilePath(t: TileRef): string {
  if (t.level !== 'entries' && !(Number.isInteger(t.level) && t.level >= 0 && t.level <= MAX_TILE_LEVEL)) throw new RangeError(`tile level must be 0..${MAX_TILE_LEVEL} or 'entries', got ${t.level}`)
  if (!(Number.isInteger(t.width) && t.width >= 1 && t.width <= TILE_WIDTH)) throw new RangeError(`tile width must be 1..${TILE_WIDTH}, got ${t.width}`)
  return `tile/${t.level}/${encodeTileIndex(t.index)}${t.width < TILE_WIDTH ? `.p/${t.width}` : ''}`
}

const PATH = /^tile\/(entries|[0-9])\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([0-9]{1,3}))?$/

/** The tile a path names, or undefined unless the path is the one canonical spelling of a tile. */
export function parseTilePath(path: string): TileRef | undefined {
  const m = PATH.exec(path)
  if (!m) return undefined
  const level: TileRef['level'] = m[1] === 'entries' ? 'entries' : Number(m[1])
  const index = Number(m[2]!.replaceAll('x', '').replaceAll('/', ''))
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3])
  if (level !== 'entries' && level > MAX_TILE_LEVEL) return undefined
  if (!Number.isSafeInteger(index) || width < 1 || width >= TILE_WIDTH + (m[3] === undefined ? 1 : 0)) return undefined
  const t: TileRef = { level, index, width }
  return tilePath(t) === path ? t : undefined
}
