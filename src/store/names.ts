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

/** Packages whose name starts with `prefix` (exact matches first: they sort first), at most `limit`. */
export async function namesWithPrefix(db: D1Database, prefix: string, limit: number): Promise<{ rows: NameRow[]; more: boolean }> {
  const { results } = await db
    .prepare('SELECT name, pkg, statements, latest FROM names WHERE name >= ?1 AND name < ?2 ORDER BY name, pkg LIMIT ?3')
    .bind(prefix, after(prefix), limit + 1)
    .all<NameRow>()
  const more = results.length > limit
  return { rows: more ? results.slice(0, limit) : results, more }
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
