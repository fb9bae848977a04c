/**
 * The scale benchmark for the index sharded by subject hash (docs/SCALE.md, "Measured: the sharded
 * index"): `npm run bench -- scale --shards K [--count N | --large] [--quick] [--keep] [--dir DIR]
 * [--baseline] [--sizes-only] [--markdown]`. `--baseline` also builds the same corpus at K = 1 (in
 * DIR/k1) and measures both relays in the same run; `--sizes-only` stops after step 2. A `--dir`
 * rerun measures the state the last run left, including the statements its ingest step added.
 *
 *  1. Writes a wrangler config with the relay's own settings plus the shard bindings
 *     INDEX_0..INDEX_{K-1} (migrations-index/), applies every database's real migrations, then
 *     builds the state a relay reaches once its log has integrated everything, straight into the
 *     local files with better-sqlite3 from the same corpus as `scale` (bench/lib/corpus.ts): DB's
 *     `sequence` (seq, id, shard), the search tables, the bodies of the last partial tile in
 *     `pending_bodies`; each shard's body-less rows; the log's R2 objects (bundles, tiles, mark)
 *     computed here (bench/lib/log-builder.ts, checked against integrate() by
 *     test/workers/log-builder.test.ts) and written in batches through a small R2 worker.
 *  2. Bytes per statement per database (`dbstat`), the largest shard against the mean, and the
 *     statements a relay holds before any one database reaches 10 GB at K = 4 and K = 8.
 *  3. EXPLAIN QUERY PLAN of every query the store sends to DB and to the shards; fails on a scan.
 *  4. The relay at K over HTTP: the query table of "Measured at 10M", then ingest of signed
 *     1000-statement batches against an empty relay at K and an empty relay at K = 1.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type BetterSqlite3 from 'better-sqlite3'
import { corpus, corpusKeys } from './lib/corpus.ts'
import { frame, LogBuilder, type R2Object } from './lib/log-builder.ts'
import { benchFetch } from './lib/client-ip.ts'
import { fmt, markdownTable, ratio, table } from './lib/stats.ts'
import { bodies, makeKeys, signPool } from './lib/statements.ts'
import { freshDir, removeDir, RunningWorker, startRelay } from './lib/workers.ts'
import { ingestRate, latencies, loadSqlite, namesBackfill, option, type Latency, type Samples } from './scale.ts'
import type { ShardPlan } from './lib/shard-plans.ts'
import { shardOf } from '../src/store/shards.ts'

const run = promisify(execFile)

/** ~600 B a statement in D1 across the databases, ~400 in R2, plus journals while indexes are built. */
const DISK_PER_STATEMENT = 2_500
/** D1's limit per database (decimal, as Cloudflare states it). */
const D1_MAX_BYTES = 10e9

let Database: typeof BetterSqlite3

/** The relay's wrangler.toml with absolute paths and the shard bindings, written into `dir`. */
export function shardConfig(dir: string, k: number): string {
  const root = resolve('.')
  let toml = readFileSync('wrangler.toml', 'utf8')
    .replace(/^main = "src\/index.ts"$/m, `main = "${join(root, 'src/index.ts')}"`)
    .replace(/^migrations_dir = "migrations"$/m, `migrations_dir = "${join(root, 'migrations')}"`)
  for (let i = 0; k > 1 && i < k; i++) toml += `\n[[d1_databases]]\nbinding = "INDEX_${i}"\ndatabase_name = "vouch-index-${i}"\nmigrations_dir = "${join(root, 'migrations-index')}"\n`
  const file = join(dir, `wrangler.shards-${k}.toml`)
  writeFileSync(file, toml)
  return file
}

const d1Dir = (dir: string) => join(dir, 'v3', 'd1', 'miniflare-D1DatabaseObject')
const d1Files = (dir: string): Set<string> => {
  try {
    return new Set(readdirSync(d1Dir(dir)).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite'))
  } catch {
    return new Set()
  }
}

/** Applies each database's migrations in turn, as an operator would; returns each binding's local file. */
async function migrateAll(dir: string, config: string, k: number): Promise<{ db: string; shards: string[] }> {
  const files: string[] = []
  for (const binding of ['DB', ...Array.from({ length: k > 1 ? k : 0 }, (_, i) => `INDEX_${i}`)]) {
    const before = d1Files(dir)
    await run('npx', ['wrangler', 'd1', 'migrations', 'apply', binding, '--local', '--persist-to', dir, '--config', config], {
      env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false' },
    })
    const fresh = [...d1Files(dir)].filter((f) => !before.has(f))
    if (fresh.length !== 1) throw new Error(`${binding}: expected one new D1 file, found ${fresh.join(', ') || 'none'}`)
    files.push(join(d1Dir(dir), fresh[0]!))
  }
  return { db: files[0]!, shards: files.slice(1) }
}

/** Statements per shard for K = 2..64 (the same hash, so the K = 4 column is the built layout's). */
const SKEW_KS = [2, 4, 8, 16, 32, 64]

interface Built {
  seconds: number
  r2Objects: number
  r2Bytes: number
  perShard: Map<number, number[]>
}

/**
 * Rows in arrival order into DB's `sequence` and the shard of each, in 50,000-row transactions
 * over one connection with the shard files attached; after each, the tiles those rows complete go
 * to R2. Query indexes are built after the rows from the migration's own SQL (several times
 * faster than row by row), as `scale` does.
 */
async function build(files: { db: string; shards: string[] }, count: number, k: number, put: (objects: R2Object[]) => Promise<void>): Promise<Built> {
  const t0 = performance.now()
  const db = new Database(files.db)
  const perShard = new Map(SKEW_KS.map((n) => [n, new Array<number>(n).fill(0)]))
  let r2Objects = 0
  let r2Bytes = 0
  try {
    // K = 1 (the baseline): DB's own `statements`, body-less as ingest writes them, and no `sequence`.
    const rowSchemas = k === 1 ? ['main'] : files.shards.map((_, i) => `s${i}`)
    files.shards.forEach((f, i) => db.exec(`ATTACH DATABASE '${f.replaceAll("'", "''")}' AS s${i}`))
    for (const s of ['main', ...files.shards.map((_, i) => `s${i}`)]) db.pragma(`${s}.synchronous = OFF`), db.pragma(`${s}.cache_size = -400000`)
    const indexes = rowSchemas.map((s) => db.prepare(`SELECT name, sql FROM ${s}.sqlite_master WHERE type = 'index' AND tbl_name = 'statements' AND sql IS NOT NULL`).all() as { name: string; sql: string }[])
    indexes.forEach((xs, i) => xs.forEach((x) => db.exec(`DROP INDEX ${rowSchemas[i]}.${x.name}`)))
    const seqIns = db.prepare('INSERT INTO main.sequence (seq, id, shard) VALUES (?, ?, ?)')
    const body = k === 1 ? [', body', ", ''"] : ['', '']
    const rowIns = rowSchemas.map((s) => db.prepare(`INSERT INTO ${s}.statements (seq, id, actor, subject, claim, object, neg, time${body[0]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?${body[1]})`))
    const pendingIns = db.prepare('INSERT INTO main.pending_bodies (id, body) VALUES (?, ?)')
    type Pending = [number, number, string, string, string, string, string | null, 0 | 1, number]
    const flush = db.transaction((rows: Pending[]) => {
      for (const [h, seq, id, actor, subject, claim, object, neg, time] of rows) {
        if (k > 1) seqIns.run(seq, id, h % k)
        rowIns[h % k]!.run(seq, id, actor, subject, claim, object, neg, time)
      }
    })
    const builder = new LogBuilder()
    const ids = new Map<string, string>()
    let lastKey = ''
    let shard64 = 0
    let seq = 0
    let batch: Pending[] = []
    let entries: Uint8Array[] = []
    const drain = async () => {
      flush(batch)
      const objects: R2Object[] = []
      for (const e of entries) objects.push(...(await builder.add(e)))
      batch = []
      entries = []
      r2Objects += objects.length
      r2Bytes += objects.reduce((t, o) => t + o.bytes.length, 0)
      await put(objects)
    }
    for (const r of corpus(count, corpusKeys())) {
      // The relay's own shard function; at 64 shards its value mod any smaller power of two is that K's shard.
      if (r.subject !== lastKey) (lastKey = r.subject), (shard64 = await shardOf(r.subject, 64))
      for (const [n, counts] of perShard) counts[shard64 % n]!++
      batch.push([shard64, ++seq, r.id, r.actor, r.subject, r.claim, r.object, r.neg, r.time])
      entries.push(Buffer.from(r.body))
      if (count - seq < 256) ids.set(r.id, r.body)
      if (batch.length === 50_000) {
        await drain()
        if (seq % 500_000 === 0) console.error(`  ${fmt(seq)} rows (${fmt((performance.now() - t0) / 1000)} s)`)
      }
    }
    await drain()
    // The last partial tile is not integrated: its bodies wait in D1, as on a live relay.
    const tailIds = builder.tail.length ? [...ids.keys()].slice(-builder.tail.length) : []
    db.transaction(() => tailIds.forEach((id) => pendingIns.run(id, ids.get(id)!)))()
    const mark = builder.mark()
    await put([mark])
    r2Objects++
    console.error(`  rows in (${fmt((performance.now() - t0) / 1000)} s); building the shards' indexes`)
    indexes.forEach((xs, i) => xs.forEach((x) => db.exec(x.sql.replace(/^CREATE INDEX (\w+)/, `CREATE INDEX ${rowSchemas[i]}.$1`))))
    // The search tables: the migration's own backfill over every shard's rows (a package lives in one shard).
    const union = rowSchemas.map((s) => `SELECT subject, time FROM ${s}.statements`).join(' UNION ALL ')
    db.exec(namesBackfill().replace(/FROM statements WHERE/, `FROM (${union}) WHERE`))
  } finally {
    db.close()
  }
  return { seconds: (performance.now() - t0) / 1000, r2Objects, r2Bytes, perShard }
}

interface DbSize {
  label: string
  rows: number
  parts: Map<string, number>
  fileBytes: number
}

function sizeOf(file: string, label: string, rowsSql: string): DbSize {
  const db = new Database(file, { readonly: true })
  try {
    const rows = (db.prepare(rowsSql).get() as { n: number }).n
    const parts = new Map((db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number }[]).map((p) => [p.name, p.bytes]))
    const pageSize = db.pragma('page_size', { simple: true }) as number
    const pageCount = db.pragma('page_count', { simple: true }) as number
    return { label, rows, parts, fileBytes: pageSize * pageCount }
  } finally {
    db.close()
  }
}

/** Random held rows (from `sequence`, then the row in its shard) and a bridge key, for the query table. */
function sampleRows(files: { db: string; shards: string[] }, n: number): Samples {
  const db = new Database(files.db, { readonly: true })
  const shards = files.shards.map((f) => new Database(f, { readonly: true }))
  try {
    if (!shards.length) shards.push(db)
    const one = files.shards.length === 0
    const maxSeq = (db.prepare(`SELECT max(seq) AS m FROM ${one ? 'statements' : 'sequence'}`).get() as { m: number }).m
    const where = db.prepare(`SELECT ${one ? 0 : 'shard'} AS shard FROM ${one ? 'statements' : 'sequence'} WHERE seq = ?`)
    const gets = shards.map((s) => s.prepare('SELECT seq, id, subject, object, actor, claim FROM statements WHERE seq = ?'))
    const rows = Array.from({ length: n }, () => {
      const seq = 1 + Math.floor(Math.random() * maxSeq)
      const { shard } = where.get(seq) as { shard: number }
      return gets[shard]!.get(seq) as Samples['rows'][number]
    })
    const bridge = (shards[0]!.prepare("SELECT actor FROM statements WHERE claim = 'published' LIMIT 1").get() as { actor: string }).actor
    return { rows, bridge, maxSeq }
  } finally {
    shards.forEach((s) => s !== db && s.close())
    db.close()
  }
}

/** Posts the objects to the writer worker, ~4 MB a request, two requests in flight. */
function r2Writer(url: URL): (objects: R2Object[]) => Promise<void> {
  return async (objects) => {
    const chunks: R2Object[][] = []
    let cur: R2Object[] = []
    let bytes = 0
    for (const o of objects) {
      cur.push(o)
      bytes += o.bytes.length
      if (bytes > 4_000_000) chunks.push(cur), (cur = []), (bytes = 0)
    }
    if (cur.length) chunks.push(cur)
    // Puts are idempotent (same key, same bytes), so a failed request is sent again: wrangler's
    // watcher restarts the worker when a source it bundles changes, and a request caught by that fails.
    const send = async (c: R2Object[]) => {
      for (let attempt = 1; ; attempt++) {
        const res = await benchFetch(url, { method: 'POST', body: frame(c) }).catch((e: unknown) => ({ status: 0, text: async () => String(e) }))
        const body = await res.text()
        if (res.status === 200 && (JSON.parse(body) as { written: number }).written === c.length) return
        if (attempt >= 5) throw new Error(`R2 writer: HTTP ${res.status} ${body.slice(0, 200)}`)
        console.error(`  R2 writer: HTTP ${res.status} (${body.slice(0, 80)}); sending again`)
        await new Promise((r) => setTimeout(r, 3000))
      }
    }
    for (let i = 0; i < chunks.length; i += 2) await Promise.all(chunks.slice(i, i + 2).map(send))
  }
}

const mkdirp = (d: string) => (mkdirSync(d, { recursive: true }), d)

/** Migrations, then the build with the R2 writer running on the same state; `files.json` records where each database is. */
async function buildState(dir: string, config: string, k: number, count: number): Promise<{ files: { db: string; shards: string[] }; built: Built }> {
  const files = await migrateAll(dir, config, k)
  const writer = await RunningWorker.start('bench/lib/r2-writer-worker.toml', dir)
  let built: Built
  try {
    built = await build(files, count, k, r2Writer(writer.url))
  } finally {
    await writer.dispose()
  }
  writeFileSync(join(dir, 'files.json'), JSON.stringify({ files, skew: Object.fromEntries(built.perShard) }))
  console.error(`  K = ${k}: built in ${fmt(built.seconds)} s (${fmt(built.r2Objects)} R2 objects, ${fmt(built.r2Bytes / 1e6)} MB)`)
  return { files, built }
}

export async function main(args: string[]): Promise<void> {
  Database = await loadSqlite()
  const k = Number(option(args, '--shards'))
  if (!Number.isInteger(k) || k < 2 || k > 8 || (k & (k - 1)) !== 0) throw new RangeError('--shards must be 2, 4 or 8 (SQLite attaches at most 10 databases to one connection)')
  const quick = args.includes('--quick')
  const baseline = args.includes('--baseline')
  const count = Number(option(args, '--count') ?? (args.includes('--large') ? 10_000_000 : 1_000_000))
  if (!Number.isSafeInteger(count) || count < 10_000) throw new RangeError('--count must be an integer >= 10000')
  const reuse = option(args, '--dir')
  const dir = reuse ?? freshDir('vouch-bench-shards-')
  const fs = statfsSync(dir)
  const free = fs.bavail * fs.bsize
  if (!reuse && free < count * DISK_PER_STATEMENT) throw new Error(`need ~${fmt((count * DISK_PER_STATEMENT) / 1e9)} GB free under ${dir}, have ${fmt(free / 1e9)} GB`)
  console.error(`scale --shards ${k}: ${fmt(count)} statements in ${dir} (${fmt(free / 1e9)} GB free)`)
  const config = shardConfig(dir, k)
  const vars = { QUOTA_STATEMENTS_PER_DAY: { type: 'plain_text' as const, value: '100000000' } }
  const sharded = { ...vars, INDEX_SHARDS: { type: 'plain_text' as const, value: String(k) } }
  const cleanup: (() => Promise<void>)[] = []
  try {
    let built: Built | undefined
    let files: { db: string; shards: string[] }
    if (!reuse) ({ files, built } = await buildState(dir, config, k, count))
    else files = (JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8')) as { files: typeof files }).files
    // --baseline: the same corpus at K = 1 (one DB, bodies in R2 the same way), measured in the same run.
    const baseDir = join(dir, 'k1')
    const baseConfig = baseline ? shardConfig(mkdirp(baseDir), 1) : ''
    if (baseline && !existsSync(join(baseDir, 'files.json'))) await buildState(baseDir, baseConfig, 1, count)
    const baseFiles = baseline ? { db: (JSON.parse(readFileSync(join(baseDir, 'files.json'), 'utf8')) as { files: typeof files }).files.db, shards: [] } : undefined
    const skew = new Map(Object.entries((JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8')) as { skew: Record<string, number[]> }).skew).map(([n, c]) => [Number(n), c]))

    // 2. Sizes.
    const dbSize = sizeOf(files.db, 'DB', 'SELECT count(*) AS n FROM sequence')
    const shardSizes = files.shards.map((f, i) => sizeOf(f, `INDEX_${i}`, 'SELECT count(*) AS n FROM statements'))
    const n = dbSize.rows
    const partNames = (s: DbSize) => [...s.parts.keys()].filter((p) => (s.parts.get(p) ?? 0) >= 8192 * 4 || p === 'sequence')
    const dbRows = [['DB part', 'bytes', 'bytes/statement'], ...partNames(dbSize).map((p) => [p, fmt(dbSize.parts.get(p)!), fmt(dbSize.parts.get(p)! / n)]), ['whole file', fmt(dbSize.fileBytes), fmt(dbSize.fileBytes / n)]]
    const shardParts = ['statements', 'statements_object', 'statements_actor', 'statements_subject']
    const shardRows = [
      ['shard part', ...shardSizes.map((s) => s.label), 'all shards: bytes/statement'],
      ['statements held', ...shardSizes.map((s) => fmt(s.rows)), fmt(n)],
      ...shardParts.map((p) => [`${p === 'statements' ? 'rows' : p} (bytes/statement held)`, ...shardSizes.map((s) => fmt((s.parts.get(p) ?? 0) / s.rows)), fmt(shardSizes.reduce((t, s) => t + (s.parts.get(p) ?? 0), 0) / n)]),
      ['whole file: bytes', ...shardSizes.map((s) => fmt(s.fileBytes)), fmt(shardSizes.reduce((t, s) => t + s.fileBytes, 0))],
      ['whole file: bytes/statement held', ...shardSizes.map((s) => fmt(s.fileBytes / s.rows)), fmt(shardSizes.reduce((t, s) => t + s.fileBytes, 0) / n)],
    ]
    const perShardRow = shardSizes.reduce((t, s) => t + s.fileBytes, 0) / n
    const largest = Math.max(...shardSizes.map((s) => s.fileBytes))
    const mean = shardSizes.reduce((t, s) => t + s.fileBytes, 0) / k
    const skewRows = [
      ['K', 'largest shard / mean (statements)', 'smallest / mean'],
      ...[...skew].map(([kk, c]) => [String(kk), ratio(Math.max(...c) / (n / kk)), ratio(Math.min(...c) / (n / kk))]),
    ]
    // Projection: DB grows per statement, the largest shard by its share of statements.
    const dbPer = dbSize.fileBytes / n
    const projection = [
      ['K', 'DB bytes/statement', 'largest shard bytes/relay statement', 'statements before one database reaches 10 GB', 'which one'],
      ...[k, ...(k === 4 ? [8] : [])].map((kk) => {
        const share = Math.max(...skew.get(kk)!) / n
        const shardPer = perShardRow * share
        const limit = D1_MAX_BYTES / Math.max(dbPer, shardPer)
        return [String(kk), fmt(dbPer), fmt(shardPer), `${fmt(limit / 1e6)}M`, dbPer > shardPer ? 'DB (sequence, search)' : 'largest shard']
      }),
    ]
    console.log(`\n## D1 size at ${fmt(n)} statements, K = ${k}${built ? ` (built in ${fmt(built.seconds)} s; ${fmt(built.r2Objects)} R2 objects, ${fmt(built.r2Bytes / n)} bytes/statement in R2)` : ''}\n`)
    console.log(table(dbRows))
    console.log(`\n${table(shardRows)}`)
    console.log(`\nlargest shard file / mean: ${ratio(largest / mean)}\n`)
    console.log(table(skewRows))
    console.log(`\n${table(projection)}`)

    // 3. Plans.
    if (args.includes('--markdown')) for (const t of [dbRows, shardRows, skewRows, projection]) console.log(`\n${markdownTable(t)}`)
    if (args.includes('--sizes-only')) return
    const samples = sampleRows(files, quick ? 40 : 200)
    const published = samples.rows.find((r) => r.claim === 'published')!
    // A state built earlier (--dir) must route as the relay's shardOf does now, or its reads would miss.
    const seqDb = new Database(files.db, { readonly: true })
    try {
      const at = seqDb.prepare('SELECT shard FROM sequence WHERE seq = ?')
      for (const r of samples.rows) {
        const held = (at.get(r.seq) as { shard: number }).shard
        if (held !== (await shardOf(r.subject, k))) throw new Error(`seq ${r.seq} (${r.subject}) is in shard ${held}; the relay's shardOf says ${await shardOf(r.subject, k)}: rebuild the state`)
      }
    } finally {
      seqDb.close()
    }
    const { shardPlans } = await import('./lib/shard-plans.ts')
    const plans: ShardPlan[] = await shardPlans(Database, files, config, dir, { purl: published.subject, hash: published.object!, actor: samples.bridge, id: published.id, claim: 'review' })
    const planTable = [['caller', 'database', 'kind', 'plan'], ...plans.map((p) => [p.caller, p.db, p.kind, p.plan.join('; ')])]
    console.log('\n## Query plans\n')
    console.log(table(planTable, 99))

    // 4. Through the relay.
    const relay = await RunningWorker.start(config, dir, '/.well-known/vouch', sharded)
    cleanup.push(() => relay.dispose())
    const lat: Latency[] = await latencies(relay, samples, quick)
    let base: { relay: RunningWorker; lat: Latency[]; size: DbSize } | undefined
    if (baseFiles) {
      const size = sizeOf(baseFiles.db, 'DB', 'SELECT count(*) AS n FROM statements')
      const b = await RunningWorker.start(baseConfig, baseDir, '/.well-known/vouch', vars)
      cleanup.push(() => b.dispose())
      base = { relay: b, lat: await latencies(b, sampleRows(baseFiles, quick ? 40 : 200), quick), size }
      console.log(`\nK = 1 on the same corpus: whole D1 file ${fmt(size.fileBytes / size.rows)} bytes/statement; K = ${k}: DB + shards ${fmt((dbSize.fileBytes + shardSizes.reduce((t, x) => t + x.fileBytes, 0)) / n)}`)
    }
    const latTable = base
      ? [
          ['query (HTTP, one at a time)', 'n', `K = ${k}: p50 ms`, 'p99 ms', 'K = 1: p50 ms', 'p99 ms', 'mean found (K)'],
          ...lat.map((l, i) => [l.name, String(l.n), fmt(l.p50), fmt(l.p99), fmt(base.lat[i]!.p50), fmt(base.lat[i]!.p99), l.found]),
        ]
      : [['query (HTTP, one at a time)', 'n', 'p50 ms', 'p99 ms', 'mean found'], ...lat.map((l) => [l.name, String(l.n), fmt(l.p50), fmt(l.p99), l.found])]
    console.log('\n## Latency through the relay\n')
    console.log(table(latTable))

    const emptyDir = freshDir('vouch-bench-shards-empty-')
    cleanup.push(async () => removeDir(emptyDir))
    const emptyConfig = shardConfig(emptyDir, k)
    await migrateAll(emptyDir, emptyConfig, k)
    const emptyK = await RunningWorker.start(emptyConfig, emptyDir, '/.well-known/vouch', sharded)
    cleanup.push(() => emptyK.dispose())
    const empty1 = await startRelay(vars)
    cleanup.push(async () => (await empty1.dispose(), removeDir(empty1.dir)))
    const keys = await makeKeys(10)
    const batches = quick ? 4 : 10
    const time = Date.now() - 3_600_000
    const payloadFor = async (tag: string) => bodies(await signPool(keys, `${tag}-${Date.now()}`, batches * 1000, time), 1000)
    for (const [w, tag] of [[empty1, 'w1'], [emptyK, 'wk'], [relay, 'wf'], ...(base ? [[base.relay, 'wb'] as const] : [])] as const) await ingestRate(w, await payloadFor(tag))
    const rates = { one: [] as number[], emptyK: [] as number[], full: [] as number[], full1: [] as number[] }
    for (let round = 0; round < 2; round++) {
      rates.one.push(await ingestRate(empty1, await payloadFor(`o${round}`)))
      rates.emptyK.push(await ingestRate(emptyK, await payloadFor(`e${round}`)))
      rates.full.push(await ingestRate(relay, await payloadFor(`f${round}`)))
      if (base) rates.full1.push(await ingestRate(base.relay, await payloadFor(`b${round}`)))
    }
    const best = (xs: number[]) => Math.max(...xs)
    const ingestTable = [
      ['relay', `statements/s (best of 2 runs of ${batches} x 1000)`, 'ratio to empty K = 1'],
      ['empty, K = 1', fmt(best(rates.one)), '1.00x'],
      [`empty, K = ${k}`, fmt(best(rates.emptyK)), ratio(best(rates.emptyK) / best(rates.one))],
      [`holding ${fmt(n)}, K = ${k}`, fmt(best(rates.full)), ratio(best(rates.full) / best(rates.one))],
      [`holding / empty, both K = ${k}`, '', ratio(best(rates.full) / best(rates.emptyK))],
      ...(base ? [[`holding ${fmt(base.size.rows)}, K = 1`, fmt(best(rates.full1)), ratio(best(rates.full1) / best(rates.one))]] : []),
    ]
    console.log('\n## Ingest\n')
    console.log(table(ingestTable))
    if (args.includes('--markdown')) for (const t of [latTable, ingestTable]) console.log(`\n${markdownTable(t)}`)
    if (args.includes('--markdown')) console.log(`\n${markdownTable(planTable, 99)}`)
    const scans = plans.filter((p) => p.kind === 'scan')
    if (scans.length) {
      console.error(`\nFAIL: ${scans.length} quer${scans.length === 1 ? 'y scans' : 'ies scan'} at ${fmt(n)} statements:`)
      for (const s of scans) console.error(`  ${s.caller} (${s.db}): ${s.sql}\n    ${s.plan.join('; ')}`)
      process.exitCode = 1
    }
  } finally {
    for (const c of cleanup.reverse()) await c()
    if (!reuse && !args.includes('--keep')) removeDir(dir)
    else console.error(`state kept in ${dir} (rerun with --dir ${dir})`)
  }
}
