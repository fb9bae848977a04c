import type { RawRow } from './bodies.ts'
import { aliasClaims } from './sharded.ts'
import { shardsOf } from './shards.ts'
import { BODY } from './statements.ts'
/**
 * The search index (migrations/0003_names.sql): one row per package, keyed by its lower-case name,
 * written by a trigger in the same transaction as each new statement. Every read here is a range
 * of the primary key, never a scan: the table grows with packages (about 3.5M for all of npm),
 * not with statements.
 */

export interface NameRow {
  /** The package name as searched: the purl's last path segment, lower case. */
  name: string
  /** The purl without version. */
  pkg: string
  statements: number
  /** The newest statement time (ms since the epoch). */
  latest: number
}

/** The smallest string greater than every string starting with `prefix` (in SQLite's byte order). */
function after(prefix: string): string {
  return `${prefix}\u{10FFFF}`
}

/** The first `limit` of `results` (read with `limit + 1`) and whether more exist. */
export function bounded<T>(results: T[], limit: number): { rows: T[]; more: boolean } {
  const more = results.length > limit
  return { rows: more ? results.slice(0, limit) : results, more }
}

/** Packages whose name starts with `prefix` (exact matches first: they sort first), `limit + 1` rows; read with `bounded`. */
export const prefixQuery = (db: D1Database, prefix: string, limit: number) =>
  db.prepare('SELECT name, pkg, statements, latest FROM names WHERE name >= ?1 AND name < ?2 ORDER BY name, pkg LIMIT ?3').bind(prefix, after(prefix), limit + 1)

/** Packages whose name starts with `prefix`, at most `limit`. */
export async function namesWithPrefix(db: D1Database, prefix: string, limit: number): Promise<{ rows: NameRow[]; more: boolean }> {
  return bounded((await prefixQuery(db, prefix, limit).all<NameRow>()).results, limit)
}

/**
 * Names near `term` for "did you mean": its neighbours in index order on both sides (a typo late
 * in the word) and names sharing its first two characters (a typo in the middle). Three bounded
 * range reads; the caller ranks them by edit distance.
 */
export async function nearNames(db: D1Database, term: string, each: number): Promise<string[]> {
  const head = term.slice(0, 2)
  const read = (sql: string, ...params: (string | number)[]) =>
    db.prepare(sql).bind(...params).all<{ name: string }>().then((r) => r.results.map((x) => x.name))
  const lists = await Promise.all([
    read('SELECT DISTINCT name FROM names WHERE name < ?1 ORDER BY name DESC LIMIT ?2', term, each),
    read('SELECT DISTINCT name FROM names WHERE name >= ?1 ORDER BY name LIMIT ?2', term, each),
    head ? read('SELECT DISTINCT name FROM names WHERE name >= ?1 AND name < ?2 ORDER BY name LIMIT ?3', head, after(head), each * 4) : [],
  ])
  return [...new Set(lists.flat())]
}

/** Suffixes are kept from 3 characters (migrations/0004_names_batch.sql): shorter terms match too much to list. */
export const MIN_PART = 3

/**
 * Packages whose name contains `part` after its first character (`pad` finds `left-pad`; names
 * starting with it are the prefix query's), most statements first: one range of the suffix key for
 * at most `limit + 1` distinct names, then each name's rows by the names key. Undefined for a
 * term shorter than MIN_PART.
 */
export function containingQuery(db: D1Database, part: string, limit: number): D1PreparedStatement | undefined {
  if ([...part].length < MIN_PART) return undefined
  return db
    .prepare(
      `SELECT n.name, n.pkg, n.statements, n.latest
       FROM (SELECT DISTINCT name FROM name_parts WHERE part >= ?1 AND part < ?2 LIMIT ?3) AS p
       JOIN names AS n ON n.name = p.name
       ORDER BY n.statements DESC, n.name, n.pkg LIMIT ?3`,
    )
    .bind(part, after(part), limit + 1)
}

export async function namesContaining(db: D1Database, part: string, limit: number): Promise<{ rows: NameRow[]; more: boolean }> {
  const q = containingQuery(db, part, limit)
  return q ? bounded((await q.all<NameRow>()).results, limit) : { rows: [], more: false }
}

/**
 * `alias` claims naming any of `aliases` (keys saying they are this name, unproven), in arrival
 * order, `limit + 1` rows: one read of the object index for every alias a search word may be.
 */
export const aliasClaimsQuery = (db: D1Database, aliases: readonly string[], limit: number) =>
  db.prepare(`SELECT seq, id, ${BODY} FROM statements WHERE object IN (SELECT value FROM json_each(?1)) AND claim = 'alias' ORDER BY seq LIMIT ?2`).bind(JSON.stringify(aliases), limit + 1)

/**
 * The rows of `aliasClaimsQuery` (its `limit + 1`, bodies not yet filled) read from the index
 * shards when the index is sharded (INDEX_SHARDS > 1): the claims are not in DB then, so they
 * cannot join DB's batch. Undefined at K = 1, where the caller batches `aliasClaimsQuery`.
 */
export function aliasClaimsOnShards(db: D1Database, aliases: readonly string[], limit: number): Promise<RawRow[]> | undefined {
  const shards = shardsOf(db)
  return shards ? aliasClaims(db, shards, aliases, limit) : undefined
}
