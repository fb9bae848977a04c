import { aliasClaimsOnShards, aliasClaimsQuery, bounded, containingQuery, nearNames, prefixQuery, type NameRow } from '../store/names.ts'
import { fillRows, type RawRow } from '../store/bodies.ts'
import { subjectsWithPrefix, type StoredRow, type SubjectSummary } from '../store/statements.ts'
import { READ_MAX, toRows, type Bounded, type Row } from './data.ts'
import type { NameQuery } from './search.ts'

/**
 * A name search over the names index (migrations/0003_names.sql): packages of every purl type whose
 * name starts with the term, their versions when one was given, keys claiming the term as a forge
 * or DNS alias, and near names when nothing matched. Every read is a bounded index range.
 */

export interface FoundPackage extends NameRow {
  /** Versions starting with the asked version (only for an exact name match with a version asked). */
  versions?: Bounded<SubjectSummary>
}

export interface FindResult {
  query: NameQuery
  packages: Bounded<FoundPackage>
  /** Packages whose name contains the term later on (`pad` → `left-pad`); none with a version asked. */
  containing: Bounded<NameRow>
  aliases: { alias: string; rows: Bounded<Row> }[]
  /** Names a few edits away, when nothing starts with the term. */
  suggestions: string[]
}

export const FIND_MAX = { packages: 50, scoped: 500, versionsOf: 5, versions: 50, near: 20, suggestions: 5 } as const

/** Aliases a bare word may be (src/identity): only those the word could be valid for. */
function aliasesFor(q: NameQuery): string[] {
  if (q.version || q.scope) return []
  const w = q.name
  const out = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/.test(w) ? [`github:${w}`, `gitlab:${w}`, `codeberg:${w}`] : []
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(w)) out.push(`dns:${w}`, `https://${w}`)
  return out
}

/** The purl's path after `pkg:type/`, lower case and percent-decoded where it decodes, for matching a typed scope. */
function pathOf(pkg: string): string {
  const p = pkg.slice(pkg.indexOf('/') + 1).toLowerCase()
  try {
    return decodeURIComponent(p)
  } catch {
    return p
  }
}

/**
 * The reads a word needs (names starting with it, names containing it, keys claiming it as an
 * alias) go in one D1 batch: one round trip instead of five, which is most of a search's time
 * (docs/SCALE.md, "Search, as built"). Versions and "did you mean" follow only when asked or empty.
 */
export async function findNames(db: D1Database, query: NameQuery): Promise<FindResult> {
  const { name, scope, version } = query
  const limit = scope ? FIND_MAX.scoped : FIND_MAX.packages
  const candidates = aliasesFor(query)
  const contains = version ? undefined : containingQuery(db, name, limit)
  // With the index sharded, alias claims are read from the shards beside DB's batch.
  const onShards = candidates.length ? aliasClaimsOnShards(db, candidates, READ_MAX.section) : undefined
  const reads: D1PreparedStatement[] = [prefixQuery(db, name, limit), ...(contains ? [contains] : []), ...(candidates.length && !onShards ? [aliasClaimsQuery(db, candidates, READ_MAX.section)] : [])]
  const [results, shardRows] = await Promise.all([db.batch(reads), onShards])
  const found = bounded(results[0]!.results as NameRow[], limit)
  const inside = contains ? bounded(results[1]!.results as NameRow[], limit) : { rows: [], more: false }
  const claims = candidates.length ? bounded(shardRows ?? (results[results.length - 1]!.results as RawRow[]), READ_MAX.section) : { rows: [], more: false }
  // Alias claims of integrated statements have their bodies in R2 bundles (src/store/bodies.ts).
  const filled = await fillRows(db, claims.rows)
  const claimRows = toRows(filled.rows)
  const aliasRows = candidates.map((alias) => ({ alias, rows: { items: claimRows.filter((r) => r.statement.object === alias), truncated: claims.more || filled.cut } }))
  let rows: FoundPackage[] = found.rows
  let containing = inside.rows
  if (scope) {
    const inScope = (r: NameRow) => pathOf(r.pkg).includes(`${scope}/`)
    rows = rows.filter(inScope).slice(0, FIND_MAX.packages)
    containing = containing.filter(inScope).slice(0, FIND_MAX.packages)
  }
  // With a version, only exact names can have it; the prefix ends in the version as typed.
  if (version) {
    const exact = rows.filter((r) => r.name === name).slice(0, FIND_MAX.versionsOf)
    const last = version.charCodeAt(version.length - 1)
    const printable = last >= 0x20 && last < 0x7f
    await Promise.all(
      exact.map(async (r) => {
        const v = printable ? await subjectsWithPrefix(db, `${r.pkg}@${version}`, FIND_MAX.versions) : { subjects: [], more: false }
        r.versions = { items: v.subjects, truncated: v.more }
      }),
    )
    rows = exact
  }
  const aliases = aliasRows.filter((a) => a.rows.items.length > 0)
  const suggestions = rows.length === 0 && containing.length === 0 ? rank(name, await nearNames(db, name, FIND_MAX.near)) : []
  return { query, packages: { items: rows, truncated: found.more && !version }, containing: { items: containing, truncated: inside.more }, aliases, suggestions }
}

/** Candidates within a few edits of `term` (one per three letters, at least one), nearest first. */
export function rank(term: string, candidates: readonly string[]): string[] {
  const max = Math.max(1, Math.floor(term.length / 3))
  return candidates
    .map((c) => ({ c, d: distance(term, c, max) }))
    .filter((x) => x.d <= max && x.c !== term)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, FIND_MAX.suggestions)
    .map((x) => x.c)
}

/** Levenshtein distance, giving up (returning max + 1) once every cell of a row exceeds `max`. */
export function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    if (Math.min(...row) > max) return max + 1
    prev = row
  }
  return prev[b.length]!
}

export const isEmptyFind = (r: FindResult) => r.packages.items.length === 0 && r.containing.items.length === 0 && r.aliases.length === 0
