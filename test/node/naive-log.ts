import { concat, leafHash, naiveRoot, parseTilePath, TILE_WIDTH } from '../../src/verify/index.ts'

/**
 * A hash tile (C2SP tlog-tiles path under the log prefix) of the log whose leaves are `entries`,
 * computed the slow, obvious way: what a fake relay in a test serves. Undefined for entry bundles,
 * malformed paths and tiles the log is too small for.
 */
export function naiveTile(entries: readonly Uint8Array[], path: string): Uint8Array | undefined {
  const t = parseTilePath(path)
  if (!t || t.level === 'entries') return undefined
  const span = TILE_WIDTH ** t.level
  const first = t.index * TILE_WIDTH
  if ((first + t.width) * span > entries.length) return undefined
  return concat(...Array.from({ length: t.width }, (_, k) => naiveRoot(entries.slice((first + k) * span, (first + k + 1) * span).map(leafHash))))
}
