import { actorData, aliasClaims, latest, packageData } from '../../src/explorer/data.ts'
import { findNames } from '../../src/explorer/find.ts'
import { loadAdmitGrants } from '../../src/store/admission.ts'
import { namesContaining, namesWithPrefix, nearNames } from '../../src/store/names.ts'
import {
  bodiesOf,
  countStatements,
  feedIds,
  getStatement,
  heldIds,
  isNamed,
  queryBySubjects,
  queryByTerms,
  queryStatements,
  subjectsWithPrefix,
  BODY,
} from '../../src/store/statements.ts'
import { SEQUENCE_BODY } from '../../src/store/shards.ts'

/**
 * Every read the API and the explorer make on `statements`, captured as the SQL text and bound
 * parameters the store really sends (not a copy of them), so that `EXPLAIN QUERY PLAN` can be run
 * on each: by the scale benchmark at 1M statements and by test/workers/query-plans.test.ts on a
 * small database. A query added to the store is checked once it is called from here.
 */

export interface Sample {
  /** Terms that exist in the database, so plans and results are those of real lookups. */
  purl: string
  hash: string
  actor: string
  id: string
  claim: string
}

export interface CapturedQuery {
  /** Which store or explorer call issued it. */
  caller: string
  sql: string
  params: unknown[]
  /** Which database it went to, when the index is sharded: `DB` or `INDEX_i`. */
  db?: string
}

/** A D1Database that records every prepared statement's SQL and bindings, then runs it on `db`. */
function recording(db: D1Database, caller: () => string, out: CapturedQuery[], label?: string): D1Database {
  // The real statement behind each wrapper, and what it was prepared and bound with, for batches.
  const made = new WeakMap<object, { target: D1PreparedStatement; sql: string; params: unknown[] }>()
  return {
    prepare(sql: string) {
      const real = db.prepare(sql)
      const wrap = (stmt: D1PreparedStatement, params: unknown[]): D1PreparedStatement => {
        const proxy = new Proxy(stmt, {
          get(target, key) {
            if (key === 'bind') {
              return (...p: unknown[]) => wrap(target.bind(...p), p)
            }
            if (key === 'all' || key === 'first' || key === 'run' || key === 'raw') out.push({ caller: caller(), sql, params, ...(label && { db: label }) })
            const v = Reflect.get(target, key) as unknown
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
          },
        })
        made.set(proxy, { target: stmt, sql, params })
        return proxy
      }
      return wrap(real, [])
    },
    batch: (stmts: D1PreparedStatement[]) => {
      const real = stmts.map((s) => made.get(s)!)
      for (const r of real) out.push({ caller: caller(), sql: r.sql, params: r.params, ...(label && { db: label }) })
      return db.batch(real.map((r) => r.target))
    },
  } as unknown as D1Database
}

/** The names index key of a purl: its last path segment without version, lower case. */
const nameOf = (purl: string) => purl.slice(purl.lastIndexOf('/') + 1).replace(/@[^@]*$/, '').toLowerCase()

/** A KV that never hits: getStatement then always reads D1, the path whose plan matters. */
const emptyKv = { get: async () => null, getWithMetadata: async () => ({ value: null, metadata: null }), put: async () => {} } as unknown as KVNamespace

/**
 * Runs every read, in turn, and returns the queries they sent. With `shards` (the index sharded by
 * subject hash), each database is recorded under its binding's name and `bind` ties the recorded
 * shards to the recorded DB the way the relay binds them per request.
 */
export async function captureQueries(db: D1Database, s: Sample, shards?: { dbs: D1Database[]; bind: (db: D1Database, shards: D1Database[]) => void }): Promise<CapturedQuery[]> {
  const out: CapturedQuery[] = []
  let current = ''
  const rec = recording(db, () => current, out, shards && 'DB')
  if (shards) shards.bind(rec, shards.dbs.map((d, i) => recording(d, () => current, out, `INDEX_${i}`)))
  const calls: [string, () => Promise<unknown>][] = [
    ['query subject', () => queryStatements(rec, { subject: s.purl }, 0, 100)],
    ['query object', () => queryStatements(rec, { object: s.hash }, 0, 100)],
    ['query actor', () => queryStatements(rec, { actor: s.actor }, 0, 100)],
    ['query claim', () => queryStatements(rec, { claim: s.claim }, 0, 100)],
    ['query subject+claim', () => queryStatements(rec, { subject: s.purl, claim: s.claim }, 0, 100)],
    ['query actor+claim', () => queryStatements(rec, { actor: s.actor, claim: s.claim }, 0, 100)],
    ['query object+claim', () => queryStatements(rec, { object: s.hash, claim: s.claim }, 0, 100)],
    ['feed page', () => queryStatements(rec, {}, 1000, 100)],
    ['feed ids', () => feedIds(rec, 1000, 100)],
    ['statement by id', () => getStatement(rec, emptyKv, s.id, () => {})],
    ['isNamed (blob admission)', () => isNamed(rec, s.hash)],
    ['heldIds (gossip pull)', () => heldIds(rec, [s.id])],
    ['bodiesOf (lookup)', () => bodiesOf(rec, [s.id])],
    ['bulk by subjects', () => queryBySubjects(rec, [s.purl, `${s.purl}-absent`, 'pkg:npm/none@0.0.0'], undefined, 0, 100)],
    ['bulk by subjects+claims', () => queryBySubjects(rec, [s.purl, 'pkg:npm/none@0.0.0'], ['published', 'source'], 0, 100)],
    ['bulk by objects+claims', () => queryByTerms(rec, [], [s.hash, 'pkg:npm/none'], ['author'], 0, 100)],
    ['bulk by subjects and objects', () => queryByTerms(rec, [s.purl], [s.hash], ['published', 'author'], 0, 100)],
    ['count (status page)', () => countStatements(rec)],
    ['versions of a package', () => subjectsWithPrefix(rec, `${s.purl.slice(0, s.purl.lastIndexOf('@'))}@`, 200)],
    ['admission grants', () => loadAdmitGrants(rec, [s.actor], 1)],
    ['explorer latest', () => latest(rec)],
    ['explorer package page', () => packageData(rec, s.purl)],
    ['explorer package page (all versions)', () => packageData(rec, s.purl.slice(0, s.purl.lastIndexOf('@')))],
    ['explorer actor page', () => actorData(rec, s.actor)],
    ['explorer alias claims', () => aliasClaims(rec, 'dns:example.org')],
    ['search names by prefix', () => namesWithPrefix(rec, nameOf(s.purl).slice(0, 3), 50)],
    ['search near names', () => nearNames(rec, nameOf(s.purl), 20)],
    ['search names containing', () => namesContaining(rec, nameOf(s.purl).slice(1, 5), 50)],
    ['search name with version', () => findNames(rec, { name: nameOf(s.purl), version: '1' })],
    ['search word (names, aliases)', () => findNames(rec, { name: nameOf(s.purl) })],
  ]
  for (const [name, call] of calls) {
    current = name
    await call()
  }
  return out
}

export interface PlanVerdict extends CapturedQuery {
  /** EXPLAIN QUERY PLAN's detail lines. */
  plan: string[]
  /**
   * `scan`: reads the whole table or a whole index (fails the check);
   * `bounded`: walks rowid order under a LIMIT and no filter (reads only what it returns), or a
   *   claim alone within a bounded seq range (at most CLAIM_WALK_SEQS rows read);
   * `walk`: walks rowid order filtering rows (a claim alone): rows read grow with the table;
   * `search`: every step uses an index to find its rows.
   */
  kind: 'scan' | 'bounded' | 'walk' | 'search'
}

/**
 * Classifies one plan. `SCAN statements` (with or without `USING … INDEX`) reads all of it,
 * unless the query is a plain `ORDER BY seq [DESC] LIMIT` with no WHERE, which stops after LIMIT rows.
 */
export function classify(q: CapturedQuery, plan: string[]): PlanVerdict['kind'] {
  // The body column's subquery (one key seek on pending_bodies) is not the query's own filter.
  const sql = q.sql.replace(BODY, 'body').replace(SEQUENCE_BODY, 'body')
  // The names index (search) is one row per package: a scan of it reads millions of rows too.
  if (plan.some((d) => /^SCAN (names|name_parts)\b/.test(d))) return 'scan'
  // With the index sharded, DB's `sequence` is the per-statement table there (same rules).
  const onStatements = plan.filter((d) => /\b(statements|sequence)\b/.test(d))
  const unfiltered = !/\bWHERE\b/i.test(sql) && /ORDER BY seq( DESC)? LIMIT/i.test(sql)
  if (onStatements.some((d) => /^SCAN (statements|sequence)\b/.test(d))) return unfiltered ? 'bounded' : 'scan'
  if (plan.some((d) => /^SCAN pending_bodies\b/.test(d))) return 'scan'
  if (onStatements.some((d) => /USING INTEGER PRIMARY KEY \(rowid>\?\)/.test(d)) && /\bclaim = /.test(sql)) return 'walk'
  // A claim alone walks a bounded seq range (CLAIM_WALK_SEQS): it reads at most that many rows.
  if (onStatements.some((d) => /USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/.test(d)) && /\bclaim = /.test(sql)) return 'bounded'
  return 'search'
}

/** `EXPLAIN QUERY PLAN` of each captured query, run through `explain` (D1 or a SQLite library). */
export async function explainAll(
  queries: CapturedQuery[],
  explain: (sql: string, params: unknown[]) => Promise<string[]>,
): Promise<PlanVerdict[]> {
  const out: PlanVerdict[] = []
  for (const q of queries) {
    const plan = await explain(`EXPLAIN QUERY PLAN ${q.sql}`, q.params)
    out.push({ ...q, plan, kind: classify(q, plan) })
  }
  return out
}
