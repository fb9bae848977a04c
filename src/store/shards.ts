import { utf8 } from '../verify/index.ts'
import { bundleIndex, bundlesKnown, type RawRow } from './bodies.ts'

/**
 * The index sharded by subject hash (docs/SCALE.md, "Built: step 2"). With INDEX_SHARDS = 1 (the
 * default) nothing here is used: DB's `statements` is both the sequencer and the index. With
 * K > 1, DB's `sequence` assigns the relay-wide seq and dedupes by id, and the query rows live in
 * K shard databases (bindings INDEX_0 .. INDEX_{K-1}, migrations-index/), each row carrying its
 * global seq, so a merge across shards is a merge by seq and a cursor stays one number.
 */

/** The most index shards a relay may have (INDEX_SHARDS): each is one D1 binding. */
export const INDEX_SHARDS_MAX = 64

/**
 * INDEX_SHARDS checked against the bindings it needs: 1 (the default) or a power of two up to
 * INDEX_SHARDS_MAX (so that a later resharding to 2K splits each shard in two), with a D1 binding
 * `INDEX_i` for each shard. `fail` makes the error (config.ts passes its ConfigError).
 */
export function checkIndexShards(env: object, fail: (variable: string, rule: string) => Error): number {
  const raw = (env as Record<string, unknown>).INDEX_SHARDS
  const text = raw === undefined || raw === '' ? '1' : typeof raw === 'number' ? String(raw) : raw
  const k = typeof text === 'string' && /^[1-9][0-9]{0,2}$/.test(text) ? Number(text) : NaN
  if (!(k <= INDEX_SHARDS_MAX && (k & (k - 1)) === 0)) throw fail('INDEX_SHARDS', `must be 1 or a power of two up to ${INDEX_SHARDS_MAX} (1, 2, 4, 8, 16, 32, 64)`)
  for (let i = 0; k > 1 && i < k; i++) {
    const b = (env as Record<string, unknown>)[`INDEX_${i}`]
    if (typeof b !== 'object' || b === null || typeof (b as { prepare?: unknown }).prepare !== 'function') {
      throw fail(`INDEX_${i}`, `must be a D1 database binding when INDEX_SHARDS is ${k} (bindings INDEX_0 .. INDEX_${k - 1}, migrations_dir "migrations-index")`)
    }
  }
  return k
}

const bound = new WeakMap<object, D1Database[]>()

/**
 * Binds the shard databases to DB, as `bindBodies` binds the bucket, so the store's functions keep
 * taking only `db` and their many callers do not change. No shards bound means K = 1.
 */
export function bindShards(db: D1Database, shards: readonly D1Database[] | undefined): void {
  if (shards && shards.length > 1) bound.set(db, [...shards])
  else bound.delete(db)
}

/** The shards bound to `db`, or undefined at K = 1. */
export const shardsOf = (db: D1Database): D1Database[] | undefined => bound.get(db)

/**
 * Binds the env's shards to its DB from INDEX_SHARDS (per request and cron run). An unusable
 * setting binds none: the config check answers `bad_config` before any store call.
 */
export function bindIndex(env: { DB: D1Database }): void {
  let k = 1
  try {
    k = checkIndexShards(env, (v, r) => new Error(`${v} ${r}`))
  } catch {
    k = 1
  }
  const e = env as unknown as Record<string, D1Database>
  bindShards(env.DB, k > 1 ? Array.from({ length: k }, (_, i) => e[`INDEX_${i}`]!) : undefined)
}

/**
 * The shard key: the package (a purl without its version, qualifiers and subpath), so that every
 * version of a package, its versions list and the explorer's package page are in one shard; any
 * other subject (a hash, a key, a log) is its own key. The version is split off as the explorer's
 * splitPurl does: it follows the last `@` after the last `/` (an `@` right after a `/` is a scope).
 */
export function shardKey(subject: string): string {
  if (!subject.startsWith('pkg:')) return subject
  const cut = subject.search(/[?#]/)
  const s = cut < 0 ? subject : subject.slice(0, cut)
  const slash = s.lastIndexOf('/')
  const at = s.lastIndexOf('@')
  return at > slash + 1 ? s.slice(0, at) : s
}

const hashes = new Map<string, number>()

/** First 4 bytes of SHA-256 of the key (UTF-8), big-endian, memoised per isolate (bounded). */
async function keyHash(key: string): Promise<number> {
  const hit = hashes.get(key)
  if (hit !== undefined) return hit
  const d = new DataView(await crypto.subtle.digest('SHA-256', utf8(key)))
  const h = d.getUint32(0, false)
  if (hashes.size >= 4096) hashes.delete(hashes.keys().next().value!)
  hashes.set(key, h)
  return h
}

/** Which of `k` shards holds the index rows of statements about `subject`. */
export async function shardOf(subject: string, k: number): Promise<number> {
  return k <= 1 ? 0 : (await keyHash(shardKey(subject))) % k
}

/**
 * The one shard holding every subject that starts with `prefix`, when the prefix fixes the package
 * (`pkg:npm/x@`, `pkg:npm/x@1.`: it names a version after the package); undefined when subjects of
 * several packages may match (then every shard is asked).
 */
export async function prefixShard(prefix: string, k: number): Promise<number | undefined> {
  if (!prefix.startsWith('pkg:') || /[?#]/.test(prefix)) return undefined
  const slash = prefix.lastIndexOf('/')
  const at = prefix.lastIndexOf('@')
  return at > slash + 1 ? shardOf(prefix, k) : undefined
}

/**
 * The watermark W: every seq up to W is in its shard. Shard queries read it FIRST and show only
 * `seq <= W`. Why first: a reader paging by cursor must never pass a seq that is not indexed yet
 * (with K databases seq 10 may reach its shard after seq 11 reaches its own). `unindexed` rows are
 * written in the transaction that assigns their seqs and deleted only after every shard write of
 * the batch returned, so when W is read, every seq <= W is already in its shard and a later shard
 * read sees it. Read after the shards instead, W could cover a row written between the two reads:
 * the shard read missed seq 10, then 10's batch finished and W rose past it, and the page would
 * hand out a cursor beyond 10, skipping it forever. Rows above W are not visible yet, exactly like
 * an uncommitted row at K = 1: one seek on `unindexed`'s key, or on `sequence`'s when it is empty.
 */
export async function watermark(db: D1Database): Promise<number> {
  return (await db.prepare('SELECT coalesce((SELECT min(lo) FROM unindexed) - 1, (SELECT max(seq) FROM sequence), 0) AS w').first<number>('w')) ?? 0
}

/** A sequence row's body as readers select it: pending in DB until integration, then null (in its R2 bundle). */
export const SEQUENCE_BODY = '(SELECT p.body FROM pending_bodies p WHERE p.id = sequence.id) AS body'

/**
 * Shard rows (no body) with their bodies from DB's pending_bodies, null where integrated. Rows in
 * a bundle this isolate knows exists (`bundlesKnown`, src/store/bodies.ts) are null without asking:
 * their bodies are in R2. Only the rest are asked for, in one query, and none when there is no rest,
 * which saves a page of integrated rows its third round trip. The figure may be stale-low, never
 * high, so a row of a bundle not yet seen here is asked for exactly as before.
 */
export async function withBodies(db: D1Database, rows: readonly { seq: number; id: string }[]): Promise<RawRow[]> {
  const known = bundlesKnown(db)
  const ask = rows.filter((r) => bundleIndex(r.seq) >= known)
  if (!ask.length) return rows.map((r) => ({ seq: r.seq, id: r.id, body: null }))
  const { results } = await db.prepare('SELECT id, body FROM pending_bodies WHERE id IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(ask.map((r) => r.id))).all<{ id: string; body: string }>()
  const bodies = new Map(results.map((r) => [r.id, r.body]))
  return rows.map((r) => ({ seq: r.seq, id: r.id, body: bodies.get(r.id) ?? null }))
}

/**
 * Reads W, then runs `read` on each of `targets` (all shards when undefined) in parallel, each
 * bounded by `seq <= W`; returns every shard's rows, unmerged.
 */
export async function acrossShards<T>(db: D1Database, shards: readonly D1Database[], targets: readonly number[] | undefined, read: (shard: D1Database, w: number, i: number) => Promise<T[]>): Promise<T[]> {
  const w = await watermark(db)
  const list = targets ?? shards.map((_, i) => i)
  return (await Promise.all(list.map((i) => read(shards[i]!, w, i)))).flat()
}

/** Rows merged by seq (each shard sorted its own), at most `n`. */
export const bySeq = <T extends { seq: number }>(rows: T[], n: number): T[] => rows.sort((a, b) => a.seq - b.seq).slice(0, n)

const checked = new WeakMap<object, Promise<boolean>>()

/**
 * Refuses K > 1 on a relay whose DB `statements` table holds rows: they would be invisible to the
 * shards, and moving them (resharding) is not built. One seek, remembered per isolate and database.
 */
export async function refuseResharding(db: D1Database, fail: (variable: string, rule: string) => Error): Promise<void> {
  let p = checked.get(db)
  if (!p) {
    p = db.prepare('SELECT 1 AS x FROM statements LIMIT 1').first<number>('x').then((x) => x === 1)
    p.catch(() => checked.delete(db))
    checked.set(db, p)
  }
  if (await p) throw fail('INDEX_SHARDS', "is above 1, but this relay's statements are in one database; resharding is not built (docs/SCALE.md)")
}

/** Forgets the resharding check (tests that add rows to DB's `statements` under K > 1). */
export const forgetReshardingCheck = (db: D1Database) => checked.delete(db)
