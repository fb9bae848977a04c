/**
 * Scale benchmark: a relay holding 1M statements (`--large`: 10M; `--count N` for any size).
 * `npm run bench -- scale [--large | --count N] [--quick] [--keep] [--dir DIR]`
 *
 *  1. Builds the local D1 state straight into the relay's SQLite file (after the real
 *     migrations) with better-sqlite3: npm-like statements of realistic shape and size whose
 *     signatures are random bytes, NOT valid (bench/lib/corpus.ts). Checks free disk first.
 *  2. Measures bytes per statement in D1, for the table and each index (SQLite's `dbstat`).
 *  3. Runs `EXPLAIN QUERY PLAN` on every read the API and the explorer make (the store's own SQL,
 *     captured by bench/lib/query-plans.ts) and FAILS if one scans `statements`.
 *  4. Builds the same statements in the layout the relay now keeps (docs/SCALE.md, "Built: bodies
 *     in R2"): body-less rows in D1, bodies in the log's entry bundles in local R2, written by the
 *     relay's own integration (bench/lib/r2-layout.ts). `--no-slim` skips it.
 *  5. Starts the relay on each state and measures, over HTTP, p50/p99 of the queries by subject,
 *     object, actor and claim, feed pages, statement by id, explorer pages; then ingest of valid
 *     signed 1000-statement batches at that size (bodies-in-R2 layout) vs an empty relay.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { corpus, corpusKeys } from './lib/corpus.ts'
import { makeClient, type Req } from './lib/load.ts'
import { captureQueries, explainAll, type PlanVerdict, type Sample } from './lib/query-plans.ts'
import { buildR2Layout } from './lib/r2-layout.ts'
import { numbered, sqliteAsD1 } from './lib/sqlite-d1.ts'
import { bodies, makeKeys, signPool } from './lib/statements.ts'
import { fmt, markdownTable, percentile, ratio, table } from './lib/stats.ts'
import { applyMigrations, freshDir, removeDir, RunningWorker, startRelay } from './lib/workers.ts'

/** Generous disk estimate per statement: ~1 KB in D1, plus the journal while indexes are built. */
const DISK_PER_STATEMENT = 2_500

export function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** The relay's local D1 file: wrangler keeps it under DIR/v3/d1/miniflare-D1DatabaseObject/. */
function d1File(dir: string): string {
  const base = join(dir, 'v3', 'd1', 'miniflare-D1DatabaseObject')
  const files = readdirSync(base).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
  if (files.length !== 1) throw new Error(`expected one D1 database file in ${base}, found ${files.join(', ') || 'none'}`)
  return join(base, files[0]!)
}

function build(file: string, count: number): { seconds: number } {
  const db = new Database(file)
  const t0 = performance.now()
  try {
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -1000000')
    // Building the query indexes after the rows is several times faster than keeping them up to
    // date row by row; they are recreated from the migration's own SQL, so the layout is the relay's.
    const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'statements' AND sql IS NOT NULL").all() as { name: string; sql: string }[]
    for (const i of indexes) db.exec(`DROP INDEX ${i.name}`)
    const insert = db.prepare('INSERT INTO statements (id, actor, subject, claim, object, neg, time, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    const keys = corpusKeys()
    let batch: unknown[][] = []
    const flush = db.transaction((rows: unknown[][]) => {
      for (const r of rows) insert.run(...r)
    })
    let done = 0
    for (const r of corpus(count, keys)) {
      batch.push([r.id, r.actor, r.subject, r.claim, r.object, r.neg, r.time, r.body])
      if (batch.length === 50_000) {
        flush(batch)
        done += batch.length
        batch = []
        if (done % 500_000 === 0) console.error(`  ${fmt(done)} rows (${fmt((performance.now() - t0) / 1000)} s)`)
      }
    }
    flush(batch)
    for (const i of indexes) db.exec(i.sql)
    // The relay fills the search index in its insert path (src/store/statements.ts), which this
    // build bypasses; the migration's own backfill fills it the same way (and its trigger the suffixes).
    db.exec(namesBackfill())
  } finally {
    db.close()
  }
  return { seconds: (performance.now() - t0) / 1000 }
}

/** migrations/0003_names.sql's last statement: the names of the statements already held. */
export function namesBackfill(): string {
  const sql = readFileSync(join('migrations', '0003_names.sql'), 'utf8')
  const at = sql.lastIndexOf('INSERT INTO names')
  if (at < 0) throw new Error('migrations/0003_names.sql has no names backfill')
  return sql.slice(at)
}

interface Sizes {
  rows: number
  bodyBytes: number
  /** Bytes in pages, by table or index name. */
  parts: { name: string; bytes: number }[]
  fileBytes: number
}

function measureSizes(db: BetterSqlite3.Database, withBody = true): Sizes {
  const rows = (db.prepare('SELECT count(*) AS n FROM statements').get() as { n: number }).n
  const bodyBytes = withBody ? (db.prepare('SELECT sum(length(body)) AS b FROM statements').get() as { b: number }).b : 0
  const parts = db
    .prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name IN ('statements', 'names', 'name_parts') OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'statements') GROUP BY name ORDER BY bytes DESC")
    .all() as { name: string; bytes: number }[]
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const pageCount = db.pragma('page_count', { simple: true }) as number
  return { rows, bodyBytes, parts, fileBytes: pageSize * pageCount }
}

export interface Samples {
  rows: { seq: number; id: string; subject: string; object: string | null; actor: string; claim: string }[]
  bridge: string
  maxSeq: number
}

function sampleRows(db: BetterSqlite3.Database, n: number): Samples {
  const maxSeq = (db.prepare('SELECT max(seq) AS m FROM statements').get() as { m: number }).m
  const seqs = Array.from({ length: n }, () => 1 + Math.floor(Math.random() * maxSeq))
  const get = db.prepare('SELECT seq, id, subject, object, actor, claim FROM statements WHERE seq = ?')
  const rows = seqs.map((s) => get.get(s) as Samples['rows'][number])
  const bridge = (db.prepare("SELECT actor FROM statements WHERE claim = 'published' LIMIT 1").get() as { actor: string }).actor
  return { rows, bridge, maxSeq }
}

async function plans(db: BetterSqlite3.Database, s: Samples): Promise<PlanVerdict[]> {
  const published = s.rows.find((r) => r.claim === 'published')!
  const sample: Sample = { purl: published.subject, hash: published.object!, actor: s.bridge, id: published.id, claim: 'review' }
  const queries = await captureQueries(sqliteAsD1(db), sample)
  return explainAll(queries, async (sql, params) => {
    const [stmt, bound] = numbered(db, sql, params)
    return (stmt.all(bound) as { detail: string }[]).map((r) => r.detail)
  })
}

export interface Latency {
  name: string
  n: number
  p50: number
  p99: number
  /** Mean statements (or bytes) returned, to show the queries did find something. */
  found: string
}

/** The names index key (search): the last path segment without version. */
const nameOfPurl = (purl: string) => purl.slice(purl.lastIndexOf('/') + 1).replace(/@[^@]*$/, '')

export async function latencies(relay: RunningWorker, s: Samples, quick: boolean): Promise<Latency[]> {
  const client = makeClient(relay.url, 1)
  const n = quick ? 40 : 200
  const rows = s.rows.slice(0, n)
  const q = encodeURIComponent
  const purlOf = (r: (typeof rows)[number]) => (r.subject.startsWith('pkg:') ? r.subject : published(s).subject)
  const kinds: [string, Req[], (body: string) => number][] = [
    ['by subject (a version)', rows.map((r) => ({ method: 'GET', path: `/v1/statements?subject=${q(r.subject)}` })), countOf],
    ['by object (a hash)', rows.filter((r) => r.object?.startsWith('sha')).map((r) => ({ method: 'GET', path: `/v1/statements?object=${q(r.object!)}` })), countOf],
    ['by actor (first page of 100)', rows.map((r) => ({ method: 'GET', path: `/v1/statements?actor=${q(r.actor)}` })), countOf],
    ['by actor, page deep in a bridge', rows.map((r) => ({ method: 'GET', path: `/v1/statements?actor=${q(s.bridge)}&cursor=${r.seq}` })), countOf],
    ['by claim "review" (3% of rows)', rows.map((r) => ({ method: 'GET', path: `/v1/statements?claim=review&cursor=${r.seq}` })), countOf],
    ['by claim absent (walks to the end)', rows.slice(0, quick ? 5 : 10).map((r) => ({ method: 'GET', path: `/v1/statements?claim=trusted-builder&cursor=${Math.floor(r.seq / 10)}` })), countOf],
    ['feed page (100)', rows.map((r) => ({ method: 'GET', path: `/v1/feed?after=${r.seq}` })), countOf],
    ['feed ids page (1000)', rows.map((r) => ({ method: 'GET', path: `/v1/feed?after=${r.seq}&view=ids&limit=1000` })), (b) => (JSON.parse(b) as { ids: unknown[] }).ids.length],
    ['statement by id', rows.map((r) => ({ method: 'GET', path: `/v1/statements/${q(r.id)}` })), () => 1],
    ['explorer package page (a version)', rows.map((r) => ({ method: 'GET', path: `/package/${q(r.subject.startsWith('pkg:') ? r.subject : published(s).subject)}` })), (b) => b.length],
    ['explorer package page (all versions)', rows.map((r) => ({ method: 'GET', path: `/package/${q(pkgOf(r.subject.startsWith('pkg:') ? r.subject : published(s).subject))}` })), (b) => b.length],
    ['explorer search (name prefix)', rows.map((r) => ({ method: 'GET', path: `/search?q=${q(nameOfPurl(purlOf(r)).slice(0, 4))}` })), (b) => b.length],
    ['explorer search (substring)', rows.map((r) => ({ method: 'GET', path: `/search?q=${q(nameOfPurl(purlOf(r)).slice(2, 6))}` })), (b) => b.length],
    ['explorer search (name and version)', rows.map((r) => ({ method: 'GET', path: `/search?q=${q(`${nameOfPurl(purlOf(r))} ${purlOf(r).slice(purlOf(r).lastIndexOf('@') + 1, purlOf(r).lastIndexOf('@') + 2)}`)}` })), (b) => b.length],
    ['explorer status page (count)', rows.slice(0, 20).map(() => ({ method: 'GET', path: '/status' })), (b) => b.length],
  ]
  const out: Latency[] = []
  try {
    for (const [name, reqs, found] of kinds) {
      const { latencies: ms, responses } = await client.load(reqs, 1)
      const bad = responses.find((r) => r.status !== 200)
      if (bad) throw new Error(`${name}: HTTP ${bad.status} ${bad.body.slice(0, 200)}`)
      const mean = responses.reduce((a, r) => a + found(r.body), 0) / responses.length
      out.push({ name, n: reqs.length, p50: percentile(ms, 50), p99: percentile(ms, 99), found: fmt(mean) })
    }
  } finally {
    client.close()
  }
  return out
}
const countOf = (b: string) => (JSON.parse(b) as { statements: unknown[] }).statements.length
const published = (s: Samples) => s.rows.find((r) => r.claim === 'published')!
const pkgOf = (purl: string) => purl.slice(0, purl.lastIndexOf('@'))

/** Statements per second for `batches` POSTs of 1000 valid signed statements, one at a time. */
export async function ingestRate(relay: RunningWorker, payload: Buffer[]): Promise<number> {
  const client = makeClient(relay.url, 1)
  try {
    const { wallMs, responses } = await client.load(payload.map((body) => ({ method: 'POST', path: '/v1/statements', body })), 1)
    for (const r of responses) {
      const accepted = (JSON.parse(r.body) as { accepted?: number }).accepted
      if (r.status !== 200 || accepted !== 1000) throw new Error(`ingest: HTTP ${r.status} ${r.body.slice(0, 200)}`)
    }
    return (payload.length * 1000) / (wallMs / 1000)
  } finally {
    client.close()
  }
}

/**
 * better-sqlite3 is a native module (a C++ build of ~1 min): not a dependency of the project, so
 * `npm ci` and users' installs never build it. This benchmark installs it on first use.
 */
let Database: typeof BetterSqlite3
export async function loadSqlite(): Promise<typeof BetterSqlite3> {
  try {
    return (Database = (await import('better-sqlite3')).default)
  } catch {
    throw new Error('the scale benchmark needs better-sqlite3 (a native SQLite build): run `npm install --no-save better-sqlite3@12.11.1` once (version 13 needs Node 22)')
  }
}

export async function main(args: string[]): Promise<void> {
  // K > 1: the index sharded by subject hash (docs/SCALE.md, "Measured: the sharded index").
  if (Number(option(args, '--shards') ?? 1) > 1) return (await import('./scale-shards.ts')).main(args)
  await loadSqlite()
  const quick = args.includes('--quick')
  const count = Number(option(args, '--count') ?? (args.includes('--large') ? 10_000_000 : 1_000_000))
  if (!Number.isSafeInteger(count) || count < 10_000) throw new RangeError('--count must be an integer >= 10000')
  const reuse = option(args, '--dir')
  const dir = reuse ?? freshDir('vouch-bench-scale-')
  const fs = statfsSync(dir)
  const free = fs.bavail * fs.bsize
  if (!reuse && free < count * DISK_PER_STATEMENT) throw new Error(`need ~${fmt((count * DISK_PER_STATEMENT) / 1e9)} GB free under ${dir}, have ${fmt(free / 1e9)} GB`)
  console.error(`scale: ${fmt(count)} statements in ${dir} (${fmt(free / 1e9)} GB free)`)
  const bindings = { QUOTA_STATEMENTS_PER_DAY: { type: 'plain_text' as const, value: '100000000' } }
  let relay: RunningWorker | undefined
  let empty: RunningWorker | undefined
  try {
    let built = { seconds: 0 }
    if (!reuse) {
      await applyMigrations(dir)
      built = build(d1File(dir), count)
      console.error(`  built in ${fmt(built.seconds)} s`)
    }
    const r2Dir = join(dir, 'bodies-in-r2')
    let r2Built: { seconds: number; r2Writes: number } | undefined
    if (!args.includes('--no-slim') && !existsSync(join(r2Dir, 'v3'))) {
      mkdirSync(r2Dir, { recursive: true })
      await applyMigrations(r2Dir)
      r2Built = await buildR2Layout(Database, d1File(dir), d1File(r2Dir), r2Dir)
      console.error(`  bodies-in-R2 layout built in ${fmt(r2Built.seconds)} s (${fmt(r2Built.r2Writes)} R2 writes)`)
    }
    const withR2 = !args.includes('--no-slim')
    let slim: Sizes | undefined
    if (withR2) {
      const sdb = new Database(d1File(r2Dir), { readonly: true })
      try {
        slim = measureSizes(sdb, false)
      } finally {
        sdb.close()
      }
    }
    const db = new Database(d1File(dir), { readonly: true })
    let sizes: Sizes, verdicts: PlanVerdict[], samples: Samples, searchRows: { names: number; parts: number }
    try {
      sizes = measureSizes(db)
      const n = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n
      searchRows = { names: n('names'), parts: n('name_parts') }
      samples = sampleRows(db, quick ? 40 : 200)
      verdicts = await plans(db, samples)
    } finally {
      db.close()
    }

    // Valid signed statements for ingest, signed before the clock starts.
    const keys = await makeKeys(10)
    const batches = quick ? 4 : 10
    const time = Date.now() - 3_600_000
    const payloadFor = async (tag: string) => bodies(await signPool(keys, `${tag}-${Date.now()}`, batches * 1000, time), 1000)
    relay = await RunningWorker.start('wrangler.toml', dir, '/.well-known/vouch', bindings)
    const lat = await latencies(relay, samples, quick)
    let latR2: Latency[] | undefined
    if (withR2) {
      await relay.dispose()
      relay = await RunningWorker.start('wrangler.toml', r2Dir, '/.well-known/vouch', bindings)
      latR2 = await latencies(relay, samples, quick)
    }
    empty = await startRelay(bindings)
    // Warm both, then alternate so that machine noise falls on both sides alike.
    await ingestRate(empty, await payloadFor('warm-e'))
    await ingestRate(relay, await payloadFor('warm-f'))
    const fullRate: number[] = []
    const emptyRate: number[] = []
    for (let round = 0; round < 2; round++) {
      emptyRate.push(await ingestRate(empty, await payloadFor(`e${round}`)))
      fullRate.push(await ingestRate(relay, await payloadFor(`f${round}`)))
    }
    const best = (xs: number[]) => Math.max(...xs)

    const rows = sizes.rows
    const sizeTable = [
      ['part', 'bytes', 'bytes/statement'],
      ...sizes.parts.map((p) => [p.name === 'statements' ? 'statements (rows)' : p.name, fmt(p.bytes), fmt(p.bytes / rows)]),
      ['whole file', fmt(sizes.fileBytes), fmt(sizes.fileBytes / rows)],
      ['canonical body (mean length)', fmt(sizes.bodyBytes), fmt(sizes.bodyBytes / rows)],
      ['search rows: names / name_parts', `${fmt(searchRows.names)} / ${fmt(searchRows.parts)}`, fmt((searchRows.names + searchRows.parts) / rows)],
    ]
    if (slim) {
      const byName = new Map(slim.parts.map((p) => [p.name, p.bytes]))
      sizeTable[0]!.push('bodies in R2: bytes/statement')
      for (const r of sizeTable.slice(1)) {
        const name = r[0] === 'statements (rows)' ? 'statements' : r[0]!
        const b = name === 'whole file' ? slim.fileBytes : byName.get(name)
        r.push(b === undefined ? '—' : fmt(b / rows))
      }
    }
    const latTable = latR2
      ? [
          ['query (HTTP, one at a time)', 'n', 'bodies in D1: p50 ms', 'p99 ms', 'bodies in R2: p50 ms', 'p99 ms', 'mean found'],
          ...lat.map((l, i) => [l.name, String(l.n), fmt(l.p50), fmt(l.p99), fmt(latR2[i]!.p50), fmt(latR2[i]!.p99), latR2[i]!.found]),
        ]
      : [['query (HTTP, one at a time)', 'n', 'p50 ms', 'p99 ms', 'mean found'], ...lat.map((l) => [l.name, String(l.n), fmt(l.p50), fmt(l.p99), l.found])]
    const planTable = [['caller', 'kind', 'plan'], ...verdicts.map((v) => [v.caller, v.kind, v.plan.join('; ')])]
    const ingestTable = [
      ['relay', 'statements/s (best of 2 runs of ' + batches + ' x 1000)'],
      ['empty', fmt(best(emptyRate))],
      [`holding ${fmt(rows)}${withR2 ? ' (bodies in R2)' : ''}`, fmt(best(fullRate))],
      ['ratio full / empty', ratio(best(fullRate) / best(emptyRate))],
    ]
    console.log(`\n## D1 size at ${fmt(rows)} statements${built.seconds ? ` (built in ${fmt(built.seconds)} s)` : ''}${r2Built ? `; bodies-in-R2 layout built in ${fmt(r2Built.seconds)} s, ${fmt(r2Built.r2Writes)} R2 writes` : ''}\n`)
    console.log(table(sizeTable))
    console.log('\n## Query plans\n')
    console.log(table(planTable, 99))
    console.log('\n## Latency through the relay\n')
    console.log(table(latTable))
    console.log('\n## Ingest\n')
    console.log(table(ingestTable))
    if (args.includes('--markdown')) {
      for (const t of [sizeTable, latTable, ingestTable]) console.log(`\n${markdownTable(t)}`)
      console.log(`\n${markdownTable(planTable, 99)}`)
    }
    const scans = verdicts.filter((v) => v.kind === 'scan')
    if (scans.length) {
      console.error(`\nFAIL: ${scans.length} quer${scans.length === 1 ? 'y scans' : 'ies scan'} statements at ${fmt(rows)} rows:`)
      for (const s of scans) console.error(`  ${s.caller}: ${s.sql}\n    ${s.plan.join('; ')}`)
      process.exitCode = 1
    }
  } finally {
    await relay?.dispose()
    if (empty) await empty.dispose(), removeDir(empty.dir)
    if (!reuse && !args.includes('--keep')) removeDir(dir)
    else console.error(`state kept in ${dir} (rerun with --dir ${dir})`)
  }
}
