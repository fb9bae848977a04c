import { open, OutboundError, readBody } from '../net/index.ts'
import { BridgeError, malformed } from './errors.ts'
import { checkHttpUrl, decodeText, DEFAULT_FETCH_TIMEOUT_MS, type FetchOptions } from './http.ts'

/**
 * Reading a CouchDB-style changes feed (as npm's replication endpoint serves it) and the retry
 * rules every request of a following bridge obeys. The feed is read with `?since=SEQ&limit=N`
 * only: npm's endpoint no longer serves `include_docs`, so each changed document is fetched from
 * the registry, and plain polling works against both CouchDB and npm's replacement.
 */

/** A feed position: CouchDB 1 and npm use integers, CouchDB 2+ opaque strings. Passed back verbatim. */
export type Seq = string | number

export interface Change {
  seq: Seq
  /** The document id: for a registry, the package name. */
  id: string
  deleted: boolean
}

export interface ChangesPage {
  results: Change[]
  /** Where the next page starts: the feed's `last_seq`, else the last row's seq, else `since`. */
  lastSeq: Seq
  /** Rows the feed says remain after this page, when it says (CouchDB's `pending`). */
  pending?: number
}

export const CHANGES_MAX_BYTES = 16 * 1024 * 1024
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isSeq = (x: unknown): x is Seq => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) || (typeof x === 'string' && x.length > 0 && x.length <= 512)

/**
 * Checks one page of a changes feed: `results` rows with `seq`, `id`, optional `deleted` and
 * `changes` (revisions, which the bridge does not need), and `last_seq`. A malformed page is
 * refused whole: skipping a row we cannot read would be a gap nobody notices.
 */
export function parseChanges(doc: unknown, since: Seq | undefined): ChangesPage {
  if (!isObject(doc) || !Array.isArray(doc.results)) return malformed('bad_changes', 'the changes feed did not answer with {results: […]}')
  const results: Change[] = doc.results.map((row: unknown, i) => {
    if (!isObject(row) || !isSeq(row.seq) || typeof row.id !== 'string' || row.id === '' || row.id.length > 1024) {
      return malformed('bad_changes', `changes row ${i} has no seq and id`)
    }
    if (row.deleted !== undefined && typeof row.deleted !== 'boolean') malformed('bad_changes', `changes row ${i}: deleted is not a boolean`)
    if (row.changes !== undefined && !Array.isArray(row.changes)) malformed('bad_changes', `changes row ${i}: changes is not a list`)
    return { seq: row.seq, id: row.id, deleted: row.deleted === true }
  })
  if (doc.last_seq !== undefined && !isSeq(doc.last_seq)) malformed('bad_changes', 'last_seq is not a sequence')
  const lastSeq = (doc.last_seq as Seq | undefined) ?? results.at(-1)?.seq ?? since ?? 0
  const pending = typeof doc.pending === 'number' && Number.isSafeInteger(doc.pending) && doc.pending >= 0 ? doc.pending : undefined
  return { results, lastSeq, ...(pending !== undefined && { pending }) }
}

/** `URL?since=SEQ&limit=N`, keeping whatever query the operator gave (e.g. a filter). */
export function changesUrl(feed: string, since: Seq | undefined, limit: number): string {
  const u = checkHttpUrl(feed, 'the changes feed')
  if (since !== undefined) u.searchParams.set('since', String(since))
  u.searchParams.set('limit', String(limit))
  return u.href
}

export interface RetryOptions {
  /** Tries per request before giving up (the first included); default 5. */
  attempts?: number
  /** First back-off delay; doubled on each retry. Default 1 s. */
  baseMs?: number
  /** No single wait is longer, even when Retry-After asks for more. Default 5 min. */
  capMs?: number
}

/**
 * The delay before retry number `attempt` (1 = the first retry): `baseMs·2^(attempt-1)`, at least
 * what Retry-After asked, never more than `capMs`. No jitter: one bridge talks to one registry,
 * there is no herd to spread, and tests can count on the figure.
 */
export function backoffMs(attempt: number, o: RetryOptions, retryAfterMs?: number): number {
  const base = Math.min(o.capMs ?? 300_000, (o.baseMs ?? 1000) * 2 ** Math.max(0, attempt - 1))
  return Math.min(o.capMs ?? 300_000, Math.max(base, retryAfterMs ?? 0))
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when unreadable. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined
  const t = header.trim()
  if (/^\d{1,9}$/.test(t)) return Number(t) * 1000
  const date = Date.parse(t)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller then sees `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** A failure worth another try: the source is busy, down or slow, not wrong. */
export class TransientError extends BridgeError {
  constructor(code: string, message: string, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super('network', code, message, options)
  }
}

export interface RetryingFetch extends FetchOptions {
  retry?: RetryOptions
  /** Replaces `sleep` (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Told about each wait before it starts. */
  onRetry?: (url: string, attempt: number, waitMs: number, error: BridgeError) => void
}

/**
 * GETs `url` once: the body of a 200, `not_found` for 404/410, a `TransientError` for 429, 5xx,
 * a timeout or an unreachable host, and a plain `BridgeError` for what retrying cannot fix (a
 * redirect, a body over `maxBytes`, another status).
 */
export async function getOnce(url: string, maxBytes: number, o: FetchOptions = {}): Promise<Uint8Array> {
  try {
    const opened = await open(url, { allowPrivate: true, timeoutMs: o.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, signal: o.signal, maxBytes, headers: { accept: 'application/json' }, fetch: o.fetch })
    const { res } = opened
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {})
      if (res.status === 404 || res.status === 410) throw new BridgeError('not_found', 'not_found', `${url}: ${res.status} not found`)
      if (res.status === 429 || res.status >= 500) throw new TransientError(`http_${res.status}`, `${url} answered HTTP ${res.status}`, retryAfter(res.headers.get('retry-after')))
      throw new BridgeError('network', `http_${res.status}`, `${url} answered HTTP ${res.status}`)
    }
    return await readBody(opened, url, maxBytes)
  } catch (e) {
    if (!(e instanceof OutboundError)) throw e
    if (e.code === 'timeout' || e.code === 'network') throw new TransientError(e.code === 'network' ? 'unreachable' : 'timeout', e.message, undefined, { cause: e })
    throw new BridgeError('network', e.code, e.message, { cause: e })
  }
}

/** `getOnce` with back-off on transient failures; the last failure is thrown after `attempts` tries or on abort. */
export async function getRetrying(url: string, maxBytes: number, o: RetryingFetch = {}): Promise<{ bytes: Uint8Array; retries: number }> {
  const attempts = Math.max(1, o.retry?.attempts ?? 5)
  for (let attempt = 1; ; attempt++) {
    try {
      return { bytes: await getOnce(url, maxBytes, o), retries: attempt - 1 }
    } catch (e) {
      if (!(e instanceof TransientError) || attempt >= attempts || o.signal?.aborted) throw e
      const wait = backoffMs(attempt, o.retry ?? {}, e.retryAfterMs)
      o.onRetry?.(url, attempt, wait, e)
      await (o.sleep ?? sleep)(wait, o.signal)
      if (o.signal?.aborted) throw e
    }
  }
}

/** Reads a changes page as JSON. */
export function readChanges(bytes: Uint8Array, since: Seq | undefined): ChangesPage {
  let doc: unknown
  try {
    doc = JSON.parse(decodeText(bytes, 'the changes feed'))
  } catch (e) {
    if (e instanceof BridgeError) throw e
    throw new BridgeError('malformed', 'malformed_json', `the changes feed is not JSON (${(e as Error).message})`)
  }
  return parseChanges(doc, since)
}
