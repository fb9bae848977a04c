import type { VerifiedStatement } from '../verify/index.ts'
import { BUNDLES_PER_LOOKUP, fillAll, fillRows, type RawRow } from './bodies.ts'
import * as sharded from './sharded.ts'
import { indexStatements, sequenceStatements } from './sharded-ingest.ts'
import { SEQUENCE_BODY, shardsOf } from './shards.ts'

/**
 * D1 holds the truth (statements, indexes, arrival order); KV is a write-once read-through cache
 * of statements by id, never stale because an id is the hash of the bytes. This module knows no HTTP.
 */

/** D1 caps a string or row at 2 MB; we bind one JSON text per chunk and stay well under. */
const CHUNK_BYTES = 1_000_000

/**
 * Rows carry no body (`body = ''`): it waits in `pending_bodies` until the log's integration puts
 * it in an R2 entry bundle (src/store/bodies.ts). Both inserts run in one batch, so a statement is
 * never stored without its body. The pending insert comes first and takes exactly the statements
 * not yet held, which are the ones the second insert adds (a duplicate within the batch is one
 * pending row by its key); an already-held duplicate writes nothing in either.
 */
const INSERT_PENDING = `INSERT INTO pending_bodies (id, body)
SELECT j.value ->> '$[0]', j.value ->> '$[7]'
FROM json_each(?1) AS j WHERE NOT EXISTS (SELECT 1 FROM statements s WHERE s.id = j.value ->> '$[0]')
ON CONFLICT (id) DO NOTHING`

const INSERT = `INSERT INTO statements (id, actor, subject, claim, object, neg, time, body)
SELECT j.value ->> '$[0]', j.value ->> '$[1]', j.value ->> '$[2]', j.value ->> '$[3]',
       j.value ->> '$[4]', j.value ->> '$[5]', j.value ->> '$[6]', ''
FROM json_each(?1) AS j WHERE true
ON CONFLICT (id) DO NOTHING
RETURNING id`

/**
 * The search index's counts (migrations/0003_names.sql, 0004_names_batch.sql): one upsert per
 * package per chunk, run just before the chunk's insert in the same batch (one transaction), over
 * the rows of the chunk that are not stored yet, so a duplicate counts nothing and a bridge batch of
 * 1000 versions of one package writes one names row, not 1000. The package is split as
 * splitPurl does (the version follows the last `@` after the last `/`), in SQL so that it matches
 * the rows 0003 wrote: `rtrim(s, replace(s, c, ''))` is s up to and including its last `c`.
 */
const NAMES_UPSERT = `WITH fresh AS (
  SELECT DISTINCT j.value ->> '$[0]' AS id, j.value ->> '$[2]' AS subject, j.value ->> '$[6]' AS time
  FROM json_each(?1) AS j
  WHERE substr(j.value ->> '$[2]', 1, 4) = 'pkg:' AND instr(j.value ->> '$[2]', '/') > 0
    AND NOT EXISTS (SELECT 1 FROM statements WHERE id = j.value ->> '$[0]')
), split AS (
  SELECT time, rtrim(subject, replace(subject, '/', '')) AS head,
         substr(subject, length(rtrim(subject, replace(subject, '/', ''))) + 1) AS tail
  FROM fresh
), named AS (
  SELECT time, head, CASE WHEN instr(tail, '@') > 0 THEN substr(rtrim(tail, replace(tail, '@', '')), 1, length(rtrim(tail, replace(tail, '@', ''))) - 1) ELSE tail END AS name
  FROM split
)
INSERT INTO names (name, pkg, statements, latest)
SELECT lower(name), head || name, count(*), max(time) FROM named WHERE name <> '' GROUP BY lower(name), head || name
ON CONFLICT (name, pkg) DO UPDATE SET statements = statements + excluded.statements, latest = max(latest, excluded.latest)`

/** At INDEX_SHARDS > 1 DB's `sequence` says which ids are held (src/store/sharded-ingest.ts). */
export const SEQUENCE_SQL = {
  names: NAMES_UPSERT.replace('SELECT 1 FROM statements WHERE id', 'SELECT 1 FROM sequence WHERE id'),
  pending: INSERT_PENDING.replace('SELECT 1 FROM statements s WHERE', 'SELECT 1 FROM sequence s WHERE'),
}

/**
 * Where rows are found by id or by seq: DB's `statements` at K = 1, DB's `sequence` at K > 1
 * (the shards hold no bodies and no id index). Same columns, so the same queries read either.
 */
const held = (db: D1Database) => (shardsOf(db) ? { table: 'sequence', body: SEQUENCE_BODY } : { table: 'statements', body: BODY })

/**
 * Inserts verified statements in one D1 batch (one transaction, in input order) and returns the
 * ids that were new. Rows travel as one JSON parameter per chunk, read by `json_each`: D1 allows
 * only 100 bound parameters a query, and this is its fastest insert (FACTS.md: ~16k rows/s).
 */
export async function insertStatements(db: D1Database, items: VerifiedStatement[]): Promise<Set<string>> {
  if (items.length === 0) return new Set()
  const shards = shardsOf(db)
  if (shards) {
    const done = await sequenceStatements(db, shards.length, items, SEQUENCE_SQL, Date.now())
    await indexStatements(db, shards, done)
    return done.ids
  }
  const chunks: string[] = []
  let rows: string[] = []
  let size = 0
  for (const { id, statement: s, canonical } of items) {
    const row = JSON.stringify([id, s.actor, s.subject, s.claim, s.object ?? null, s.not ? 1 : 0, s.time, canonical])
    if (size + row.length > CHUNK_BYTES && rows.length) chunks.push(`[${rows.join(',')}]`), (rows = []), (size = 0)
    rows.push(row)
    size += row.length + 1
  }
  chunks.push(`[${rows.join(',')}]`)
  const pending = db.prepare(INSERT_PENDING)
  const stmt = db.prepare(INSERT)
  const names = db.prepare(NAMES_UPSERT)
  // Per chunk: the search counts, the pending bodies, then the rows; every third result holds the
  // inserts' RETURNING ids (the other two return none).
  const results = await db.batch<{ id: string }>(chunks.flatMap((c) => [names.bind(c), pending.bind(c), stmt.bind(c)]))
  return new Set(results.flatMap((r, i) => (i % 3 === 2 ? r.results.map((row) => row.id) : [])))
}

export interface StoredRow {
  seq: number
  /** sha256 SRI of `body`, as stored at ingest: read it, never recompute it. */
  id: string
  body: string
}

/**
 * A row's body as readers select it: from `pending_bodies` until integration, or (rows stored
 * before migration 0004) from `statements.body`; null once it is only in the log's entry bundle in
 * R2, from where src/store/bodies.ts fills it. Rows come out of D1 as `RawRow`s and reach callers
 * only through `fillRows`/`fillAll`. The pending lookup is one seek on a small table's key.
 */
export const BODY = "coalesce((SELECT p.body FROM pending_bodies p WHERE p.id = statements.id), nullif(statements.body, '')) AS body"

/** A page whose bodies would need more bundles than one request reads ends at its last filled row. */
async function filledPage(db: D1Database, rows: RawRow[], next: number | undefined): Promise<Page> {
  const f = await fillRows(db, rows)
  return f.cut ? { rows: f.rows, next: f.rows[f.rows.length - 1]!.seq } : { rows: f.rows, next }
}

export interface Page {
  rows: StoredRow[]
  /** Set when more rows may follow: pass it back to continue. */
  next: number | undefined
}

export interface Filter {
  subject?: string
  claim?: string
  object?: string
  actor?: string
}

/**
 * How many seqs a query by `claim` alone may walk per request. No index has the claim first (one
 * more written row per statement for a query no client needs fast: docs/SCALE.md), so such a
 * query filters arrival order; without a bound a rare claim would read every row after the cursor
 * (1 s at 1M statements). The page then ends early with a cursor (PROTOCOL §6.3 allows short pages).
 */
export const CLAIM_WALK_SEQS = 10_000

/**
 * Statements matching every given field, in arrival order after `after`. Reads `limit + 1` rows
 * to know whether another page exists, so a result is never silently truncated.
 */
export async function queryStatements(db: D1Database, filter: Filter, after: number, limit: number, walkSeqs = CLAIM_WALK_SEQS): Promise<Page> {
  const shards = shardsOf(db)
  // With the index sharded, a query by term asks the shards; the feed (no term) reads DB's sequence.
  if (shards && (['subject', 'claim', 'object', 'actor'] as const).some((f) => filter[f] !== undefined)) {
    const p = await sharded.queryStatements(db, shards, filter, after, limit, walkSeqs)
    return filledPage(db, p.rows, p.next)
  }
  const where = ['seq > ?1']
  const params: (string | number)[] = [after]
  for (const field of ['subject', 'claim', 'object', 'actor'] as const) {
    const v = filter[field]
    if (v !== undefined) params.push(v), where.push(`${field} = ?${params.length}`)
  }
  const walkOnly = filter.subject === undefined && filter.object === undefined && filter.actor === undefined
  const walkEnd = after + walkSeqs
  if (walkOnly) params.push(walkEnd), where.push(`seq <= ?${params.length}`)
  params.push(limit + 1)
  const h = held(db)
  const sql = `SELECT seq, id, ${h.body} FROM ${h.table} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?${params.length}`
  const { results } = await db.prepare(sql).bind(...params).all<RawRow>()
  const more = results.length > limit
  const rows = more ? results.slice(0, limit) : results
  if (more) return filledPage(db, rows, rows[rows.length - 1]!.seq)
  // A bounded walk that stopped at its end while later rows exist continues from there.
  if (walkOnly && walkEnd < (await countStatements(db))) return filledPage(db, rows, walkEnd)
  return filledPage(db, rows, undefined)
}

/**
 * How many statements this relay holds. Not `count(*)`, which reads a whole index (1M rows read,
 * billed, per status page at 1M statements; docs/SCALE.md): rows are never deleted and `seq` is
 * allocated max+1 with no gaps (a conflicting insert takes no seq), so the last seq is the count.
 */
export async function countStatements(db: D1Database): Promise<number> {
  return (await db.prepare(`SELECT max(seq) AS n FROM ${held(db).table}`).first<number>('n')) ?? 0
}

const kvKey = (id: string) => `st:${id}`

/** One statement's canonical body by id: KV first, then D1, filling KV for the next reader. */
export async function getStatement(
  db: D1Database,
  kv: KVNamespace,
  id: string,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<string | undefined> {
  return (await getStatementRow(db, kv, id, waitUntil))?.body
}

/**
 * One statement's body and seq by id. KV keeps the seq as the value's metadata (it never changes:
 * rows are never deleted or renumbered); a value cached before it did so is read from D1 again.
 */
export async function getStatementRow(
  db: D1Database,
  kv: KVNamespace,
  id: string,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<{ body: string; seq: number } | undefined> {
  const cached = await kv.getWithMetadata<{ seq?: unknown }>(kvKey(id))
  const seq = cached.metadata?.seq
  if (cached.value !== null && Number.isSafeInteger(seq)) return { body: cached.value, seq: seq as number }
  const h = held(db)
  const row = await db.prepare(`SELECT seq, id, ${h.body} FROM ${h.table} WHERE id = ?1`).bind(id).first<RawRow>()
  if (row === null) return undefined
  const [filled] = (await fillAll(db, [row])) as [StoredRow]
  waitUntil(kv.put(kvKey(id), filled.body, { metadata: { seq: filled.seq } }))
  return { body: filled.body, seq: filled.seq }
}

/** Whether any statement held here names `term` as its subject or object (blob admission). */
export async function isNamed(db: D1Database, term: string): Promise<boolean> {
  const shards = shardsOf(db)
  if (shards) return (await sharded.firstNaming(db, shards, term)) !== undefined
  const row = await db
    .prepare('SELECT 1 AS hit FROM statements WHERE subject = ?1 UNION ALL SELECT 1 FROM statements WHERE object = ?1 LIMIT 1')
    .bind(term)
    .first<number>('hit')
  return row === 1
}

/**
 * The actor of the oldest statement naming `term` as subject or object: whose statement admitted
 * a blob, and so whose daily blob bytes it costs. Two index seeks (subject, object), not a scan.
 */
export async function admittingActor(db: D1Database, term: string): Promise<string | undefined> {
  const shards = shardsOf(db)
  if (shards) return (await sharded.firstNaming(db, shards, term))?.actor
  const actor = await db
    .prepare(
      `SELECT actor FROM (
         SELECT * FROM (SELECT seq, actor FROM statements WHERE subject = ?1 ORDER BY seq LIMIT 1)
         UNION ALL SELECT * FROM (SELECT seq, actor FROM statements WHERE object = ?1 ORDER BY seq LIMIT 1)
       ) ORDER BY seq LIMIT 1`,
    )
    .bind(term)
    .first<string>('actor')
  return actor ?? undefined
}

/** Arrival-ordered ids after `after`: the cheap first half of a peer's catch-up. */
export async function feedIds(db: D1Database, after: number, limit: number): Promise<{ ids: { seq: number; id: string }[]; more: boolean }> {
  const { results } = await db.prepare(`SELECT seq, id FROM ${held(db).table} WHERE seq > ?1 ORDER BY seq LIMIT ?2`).bind(after, limit + 1).all<{ seq: number; id: string }>()
  const more = results.length > limit
  return { ids: more ? results.slice(0, limit) : results, more }
}

/** Which of `ids` this relay holds (one query; ids travel as one JSON parameter). */
export async function heldIds(db: D1Database, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set()
  const { results } = await db.prepare(`SELECT id FROM ${held(db).table} WHERE id IN (SELECT value FROM json_each(?1))`).bind(JSON.stringify(ids)).all<{ id: string }>()
  return new Set(results.map((r) => r.id))
}

/**
 * Canonical bodies of the given ids that this relay holds. Not paged, so never cut: ids spread
 * over more than `BUNDLES_PER_LOOKUP` entry bundles are refused (`TooManyBundles`).
 */
export async function bodiesOf(db: D1Database, ids: string[]): Promise<StoredRow[]> {
  if (!ids.length) return []
  const h = held(db)
  const { results } = await db.prepare(`SELECT seq, id, ${h.body} FROM ${h.table} WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY seq`).bind(JSON.stringify(ids)).all<RawRow>()
  return fillAll(db, results, BUNDLES_PER_LOOKUP)
}

/** The newest statements first: what arrived last, for the explorer's front page. */
export async function latestStatements(db: D1Database, limit: number): Promise<StoredRow[]> {
  const h = held(db)
  const { results } = await db.prepare(`SELECT seq, id, ${h.body} FROM ${h.table} ORDER BY seq DESC LIMIT ?1`).bind(limit).all<RawRow>()
  return (await fillRows(db, results)).rows
}

export interface SubjectSummary {
  subject: string
  /** Statements with this subject. */
  count: number
  /** The latest statement time among them (ms since the epoch). */
  latest: number
}

/**
 * Distinct subjects that start with `prefix` (a package's versions: `pkg:npm/left-pad@`), in order,
 * with how many statements each has. A range scan on the subject index, not LIKE: LIKE folds ASCII
 * case and treats `%` and `_` in a purl as wildcards. The prefix must end in an ASCII character,
 * so that "prefix with its last character incremented" bounds the range in byte order.
 */
export async function subjectsWithPrefix(db: D1Database, prefix: string, limit: number): Promise<{ subjects: SubjectSummary[]; more: boolean }> {
  const last = prefix.charCodeAt(prefix.length - 1)
  if (!(last >= 0x20 && last < 0x7f)) throw new RangeError('prefix must be non-empty and end in a printable ASCII character')
  const upper = prefix.slice(0, -1) + String.fromCharCode(last + 1)
  const shards = shardsOf(db)
  const { results } = shards
    ? { results: await sharded.subjectsWithPrefix<SubjectSummary>(db, shards, prefix, upper, limit) }
    : await db
        .prepare('SELECT subject, count(*) AS count, max(time) AS latest FROM statements WHERE subject >= ?1 AND subject < ?2 GROUP BY subject ORDER BY subject LIMIT ?3')
        .bind(prefix, upper, limit + 1)
        .all<SubjectSummary>()
  const more = results.length > limit
  return { subjects: more ? results.slice(0, limit) : results, more }
}

/**
 * Statements about any of `subjects` (optionally only the given claims), in arrival order after
 * `after`: a lockfile's worth of packages in one request. One query per shard: subjects and claims
 * travel as JSON parameters read by `json_each` (D1 binds at most 100 parameters), and each subject
 * is one seek on `statements_subject (subject, seq)`. There is one shard today; when the index is
 * sharded by subject (docs/SCALE.md) the subjects are grouped by shard here, each group is one
 * such query, and the pages merge by seq, so callers do not change. Bodies are read by the same
 * row lookup as every other query, so they move with the store when bodies leave D1.
 * Reads `limit + 1` rows so that a cut page always says so.
 */
export async function queryBySubjects(db: D1Database, subjects: readonly string[], claims: readonly string[] | undefined, after: number, limit: number): Promise<Page> {
  return queryByTerms(db, subjects, [], claims, after, limit)
}

/**
 * As `queryBySubjects`, and also statements whose object is one of `objects` (a lockfile's
 * packages' `author` grants), merged in arrival order in the same page. Each list is its own
 * branch of a UNION, so each keeps its index (`statements_subject`, `statements_object`) rather
 * than an OR the planner may turn into a scan; UNION drops a row both branches find. When the
 * index is sharded by subject (docs/SCALE.md) the object branch asks every shard, like any query
 * by object, and merges by seq. No new index: the object index already exists for alias claims.
 */
export async function queryByTerms(db: D1Database, subjects: readonly string[], objects: readonly string[], claims: readonly string[] | undefined, after: number, limit: number): Promise<Page> {
  const shards = shardsOf(db)
  if (shards) {
    if (!subjects.length && !objects.length) return { rows: [], next: undefined }
    const p = await sharded.queryByTerms(db, shards, subjects, objects, claims, after, limit)
    return filledPage(db, p.rows, p.next)
  }
  const params: (string | number)[] = [after, limit + 1]
  const bind = (v: string | number) => `?${params.push(v)}`
  const claimFilter = claims?.length ? ` AND claim IN (SELECT value FROM json_each(${bind(JSON.stringify(claims))}))` : ''
  const branches: string[] = []
  for (const [field, terms] of [['subject', subjects], ['object', objects]] as const) {
    if (terms.length) branches.push(`SELECT seq, id, ${BODY} FROM statements WHERE ${field} IN (SELECT value FROM json_each(${bind(JSON.stringify([...new Set(terms)]))})) AND seq > ?1${claimFilter}`)
  }
  if (!branches.length) return { rows: [], next: undefined }
  const { results } = await db.prepare(`${branches.join(' UNION ')} ORDER BY seq LIMIT ?2`).bind(...params).all<RawRow>()
  const more = results.length > limit
  const rows = more ? results.slice(0, limit) : results
  return filledPage(db, rows, more ? rows[rows.length - 1]!.seq : undefined)
}
