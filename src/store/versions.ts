import { fillRows, type RawRow } from './bodies.ts'
import * as sharded from './sharded.ts'
import { shardsOf } from './shards.ts'
import { BODY, type StoredRow } from './statements.ts'

/**
 * Statements whose subject starts with `prefix` (every version of a package: `pkg:npm/x@`), in
 * subject then arrival order, at most `limit`: one range of the subject index, so a package page
 * can mark each version (yanked, conflicting, trusted) without a query per version. Bounded
 * because a package may have thousands of versions; `more` says the marks are partial.
 */
export async function statementsWithPrefix(db: D1Database, prefix: string, limit: number): Promise<{ rows: StoredRow[]; more: boolean }> {
  const last = prefix.charCodeAt(prefix.length - 1)
  if (!(last >= 0x20 && last < 0x7f)) throw new RangeError('prefix must be non-empty and end in a printable ASCII character')
  const upper = prefix.slice(0, -1) + String.fromCharCode(last + 1)
  const shards = shardsOf(db)
  const { results } = shards
    ? { results: await sharded.statementsWithPrefix(db, shards, prefix, upper, limit) }
    : await db
        .prepare(`SELECT seq, id, ${BODY} FROM statements WHERE subject >= ?1 AND subject < ?2 ORDER BY subject, seq LIMIT ?3`)
        .bind(prefix, upper, limit + 1)
        .all<RawRow>()
  const more = results.length > limit
  // Bodies from at most BUNDLES_PER_PAGE bundles: past that the marks are partial, as past `limit`.
  const filled = await fillRows(db, more ? results.slice(0, limit) : results)
  return { rows: filled.rows, more: more || filled.cut }
}
