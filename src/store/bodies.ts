import { base64, decodeBundle, tilePath, TILE_WIDTH, utf8 } from '../verify/index.ts'

/**
 * The one place statement bodies are read (docs/SCALE.md, "Built: bodies in R2"). A statement's
 * canonical body lives in D1 until the log integrates the 256-leaf tile holding it; integration
 * writes the entry bundle to R2 and only then empties the rows' `body` (src/log/integrate.ts). So
 * a row's body is either in D1 or in bundle `(seq - 1) / 256` at offset `(seq - 1) % 256`, and
 * never only in a place nobody reads. Every body taken from a bundle is hashed and compared with
 * its row's id before it is served: a bundle is never believed.
 *
 * Caching: bundles are immutable, so a copy never goes stale. An in-isolate LRU of a few decoded
 * bundles absorbs repeated pages (no subrequest at all); the Cache API (per colo, free) sits
 * between it and R2. KV was rejected: a KV read costs more than the R2 read it would save
 * ($0.50 vs $0.36 per million) and is a subrequest all the same.
 */

/** What `statements.body` holds once the body is in the log's entry bundle (a body is never empty). */
export const IN_BUNDLE = ''

/**
 * Distinct bundles one page may read. Each is up to two subrequests (Cache API, R2) beside the
 * page's D1 query, so 16 keeps a page within Workers Free's 50; a page that would need more ends
 * early with a cursor (PROTOCOL §6.3 allows a short page with a non-null cursor).
 */
export const BUNDLES_PER_PAGE = 16

/**
 * Distinct bundles a lookup by ids may read. Lookups are not paged, so they are not cut; a peer's
 * lookup names ids from one feed page (at most pageMax consecutive seqs on the peer, a handful of
 * bundles here), so only a scattered list reaches this, and it is refused rather than truncated.
 */
export const BUNDLES_PER_LOOKUP = 48

/** Decoded bundles kept per isolate (~100 KB each). */
const ISOLATE_BUNDLES = 32

/** A row as D1 returns it: `body` null when it is in the row's entry bundle. */
export interface RawRow {
  seq: number
  id: string
  body: string | null
}

export interface FilledRow {
  seq: number
  id: string
  body: string
}

/** A body could not be served: its bundle is missing or does not hash to the row's id. A relay fault, never the client's. */
export class BodyFault extends Error {
  override readonly name = 'BodyFault'
  readonly code = 'body_unavailable'
}

/** Raised when a lookup would read more than `BUNDLES_PER_LOOKUP` bundles. */
export class TooManyBundles extends RangeError {
  override readonly name = 'TooManyBundles'
}

const buckets = new WeakMap<object, R2Bucket>()

/**
 * Binds the R2 bucket holding the log to a D1 database object, so the store's readers (which take
 * only `db`) can fill bodies. Called once per request and cron run with the env's own bindings.
 */
export function bindBodies(db: D1Database, bucket: R2Bucket): void {
  buckets.set(db, bucket)
}

export const bundleIndex = (seq: number) => Math.floor((seq - 1) / TILE_WIDTH)

/**
 * Per isolate and bucket: how many leading bundles (0 .. n-1) are known to be in R2. Integration
 * writes bundles in order, each before the pending bodies of its 256 seqs are deleted, and a
 * bundle never changes or goes away, so "bundle n exists" only ever becomes true and implies
 * bundles 0 .. n-1 exist too, each holding the bodies of its rows. A row below this figure needs no
 * question to DB's pending_bodies: its body is certainly in its bundle (and is hash-checked there as
 * every bundle body is). The figure is raised only by proof: a bundle body that hashed to its row's
 * id (a bundle that merely decodes could be junk under the name), or integrate() having written
 * the bundles in this isolate. So it is never above the truth; it is often below it (a fresh
 * isolate knows 0; another isolate integrated since), which is safe: those rows are asked of DB as
 * before, which answers their pending body, or none when it is in the bundle.
 */
const known = new WeakMap<R2Bucket, number>()

/** Records that bundles 0 .. n-1 are in `bucket` (the caller has proof: see `known`). */
export function noteBundles(bucket: R2Bucket, n: number): void {
  if (n > (known.get(bucket) ?? 0)) known.set(bucket, n)
}

/** How many leading bundles this isolate knows to be in the bucket bound to `db` (0 when none is bound). */
export function bundlesKnown(db: D1Database): number {
  const bucket = buckets.get(db)
  return bucket ? (known.get(bucket) ?? 0) : 0
}
export const bundleKey = (n: number) => `log/${tilePath({ level: 'entries', index: n, width: TILE_WIDTH })}`

interface Bundle {
  entries: string[]
  /** Per entry, the id it was found to hash to (checks are not repeated for the same row). */
  checked: (string | undefined)[]
}

const lru = new WeakMap<R2Bucket, Map<number, Promise<Bundle>>>()

function isolateCache(bucket: R2Bucket): Map<number, Promise<Bundle>> {
  let m = lru.get(bucket)
  if (!m) lru.set(bucket, (m = new Map()))
  return m
}

const cacheUrl = (n: number) => `https://log-bundles.vouch.invalid/${bundleKey(n)}`
const cacheApi = (): Cache | undefined => (typeof caches === 'undefined' ? undefined : (caches as unknown as { default?: Cache }).default)

async function fetchBundle(bucket: R2Bucket, n: number, useCache: boolean): Promise<Bundle> {
  const cache = cacheApi()
  let bytes: Uint8Array | undefined
  if (useCache && cache) {
    const hit = await cache.match(cacheUrl(n)).catch(() => undefined)
    if (hit) bytes = new Uint8Array(await hit.arrayBuffer())
  }
  if (!bytes) {
    const obj = await bucket.get(bundleKey(n))
    if (!obj) throw new BodyFault(`entry bundle ${n} is not in R2, but D1 says its bodies are`)
    bytes = new Uint8Array(await obj.arrayBuffer())
    if (cache) await cache.put(cacheUrl(n), new Response(bytes, { headers: { 'cache-control': 'public, max-age=31536000, immutable' } })).catch(() => {})
  }
  let entries: Uint8Array[]
  try {
    entries = decodeBundle(bytes)
  } catch (e) {
    throw new BodyFault(`entry bundle ${n} does not decode`, { cause: e })
  }
  if (entries.length !== TILE_WIDTH) throw new BodyFault(`entry bundle ${n} has ${entries.length} entries, not ${TILE_WIDTH}`)
  const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  return { entries: entries.map((e) => dec.decode(e)), checked: new Array<string | undefined>(TILE_WIDTH) }
}

function loadBundle(bucket: R2Bucket, n: number, fresh = false): Promise<Bundle> {
  const m = isolateCache(bucket)
  const hit = fresh ? undefined : m.get(n)
  if (hit) {
    m.delete(n), m.set(n, hit)
    return hit
  }
  const p = fetchBundle(bucket, n, !fresh)
  p.catch(() => m.delete(n))
  m.set(n, p)
  while (m.size > ISOLATE_BUNDLES) m.delete(m.keys().next().value!)
  return p
}

async function idOf(body: string): Promise<string> {
  return `sha256-${base64.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(body))))}`
}

/** The body of `row` from its bundle, checked against the row's id; a cached copy that fails is read again from R2 once. */
async function bodyFromBundle(bucket: R2Bucket, row: RawRow): Promise<string> {
  const n = bundleIndex(row.seq)
  const at = (row.seq - 1) % TILE_WIDTH
  for (const fresh of [false, true]) {
    const b = await loadBundle(bucket, n, fresh)
    if (b.checked[at] === row.id) return b.entries[at]!
    if ((await idOf(b.entries[at]!)) === row.id) {
      b.checked[at] = row.id
      noteBundles(bucket, n + 1)
      return b.entries[at]!
    }
    isolateCache(bucket).delete(n)
    await cacheApi()?.delete(cacheUrl(n)).catch(() => false)
  }
  console.error(`log entry bundle ${n}: leaf ${row.seq - 1} does not hash to ${row.id}; not served`)
  throw new BodyFault(`the stored body of ${row.id} failed its hash check`)
}

/**
 * Fills the bodies of `rows` (in their order), reading each needed bundle once. At most
 * `maxBundles` distinct bundles are read: the rows after the last one that fits are left out and
 * `cut` says so (the caller ends its page early). Bundles are fetched in parallel.
 */
export async function fillRows(db: D1Database, rows: readonly RawRow[], maxBundles = BUNDLES_PER_PAGE): Promise<{ rows: FilledRow[]; cut: boolean }> {
  const needed = new Set<number>()
  let keep = rows.length
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.body !== null) continue
    const n = bundleIndex(rows[i]!.seq)
    if (!needed.has(n) && needed.size === maxBundles) {
      keep = i
      break
    }
    needed.add(n)
  }
  if (!needed.size) return { rows: rows as FilledRow[], cut: false }
  const bucket = buckets.get(db)
  if (!bucket) throw new BodyFault('no R2 bucket is bound to this database (bindBodies), but rows have their bodies in bundles')
  const kept = rows.slice(0, keep)
  // Bundles first, once each; then every row's check (in parallel: each is one digest).
  await Promise.all([...needed].map((n) => loadBundle(bucket, n)))
  const filled = await Promise.all(kept.map(async (r) => (r.body !== null ? (r as FilledRow) : { seq: r.seq, id: r.id, body: await bodyFromBundle(bucket, r) })))
  return { rows: filled, cut: keep < rows.length }
}

/** Like `fillRows`, but never cuts: more than `maxBundles` bundles is a `TooManyBundles` error. */
export async function fillAll(db: D1Database, rows: readonly RawRow[], maxBundles = Infinity): Promise<FilledRow[]> {
  const bundles = new Set(rows.filter((r) => r.body === null).map((r) => bundleIndex(r.seq)))
  if (bundles.size > maxBundles) throw new TooManyBundles(`these rows are in ${bundles.size} entry bundles; at most ${maxBundles} are read in one request`)
  return (await fillRows(db, rows, Infinity)).rows
}

/** Forgets the isolate's decoded bundles and which bundles it knows exist (tests that rewrite R2 under the same names, or play a fresh isolate). */
export const forgetBundles = (bucket: R2Bucket) => (known.delete(bucket), lru.delete(bucket))
