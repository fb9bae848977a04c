import type { Context } from 'hono'
import { createRouter, type AppEnv } from '../app.ts'
import { BLOB_ALGORITHMS, blobKey, HashMismatch, putBlob, watchedBody } from '../blobs/store.ts'
import { PULL_THROUGH_HEADER, pullThrough } from '../blobs/pull-through.ts'
import type { RelayConfig, RelayEnv } from '../config.ts'
import { afterAccept, getPeerState, listPeers, selfUrl } from '../gossip/index.ts'
import { isOperator } from '../http/auth.ts'
import { drainBody } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'
import { outliveClient } from '../http/guards.ts'
import { NOT_ADMITTED, QUOTA_EXCEEDED, secondsToNextDay } from '../store/gate.ts'
import { ingest } from '../store/ingest.ts'
import { admittingActor, isNamed } from '../store/statements.ts'
import { addUsage, dayOf, usageOf } from '../store/usage.ts'
import { decodeBase64url, formatSri, LIMITS, parseHashParam, parseJsonBytes, ProtocolError, type Digest, type Json } from '../verify/index.ts'

/**
 * A hash-addressed cache. Anyone may read; a blob is stored only when a statement on this relay
 * names its hash (or the operator uploads it), and only if its bytes hash to its name.
 */
export const blobs = createRouter()

/** Where a missing blob may come from: peers not backing off, then configured upstream caches. */
async function blobSources(env: RelayEnv, config: RelayConfig): Promise<string[]> {
  const now = Date.now()
  const peers = await listPeers(env, 'pull')
  const states = await Promise.all(peers.map((p) => getPeerState(env, p)))
  return [...new Set([...peers.filter((_, i) => states[i]!.retryAt <= now), ...config.upstreamCaches])]
}

/** Headers on every blob response: opaque bytes, never rendered, cached forever. */
function blobHeaders(d: Digest, size: number): Headers {
  return new Headers({
    'content-type': 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    'content-disposition': 'attachment',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'public, max-age=31536000, immutable',
    etag: `"${formatSri(d)}"`,
    'accept-ranges': 'bytes',
    'content-length': String(size),
  })
}

function parseBlobHash(raw: string): Digest {
  const d = parseHashParam(raw)
  if (!d || !(BLOB_ALGORITHMS as readonly string[]).includes(d.alg)) {
    throw new ApiError(400, 'bad_hash', 'a blob is named by sha256, sha384 or sha512: sha256-<base64> (percent-encoded), sha256-<base64url> or sha256:<hex>')
  }
  return d
}

type Range = { offset: number; length: number }

/**
 * One byte range (RFC 9110 §14.1.2): `bytes=a-b`, `bytes=a-`, `bytes=-n`. Multiple ranges and
 * other units are ignored (the whole blob is sent, as the RFC allows); undefined means no range.
 */
function parseRange(header: string | undefined, size: number): Range | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const n = Number(m[2])
    // RFC 9110 §14.1.1: a suffix range is satisfiable only if it and the representation are
    // both non-empty; an empty blob has no last byte to send.
    if (n === 0 || size === 0) return 'unsatisfiable'
    const length = Math.min(n, size)
    return { offset: size - length, length }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { offset: start, length: end - start + 1 }
}

/**
 * The statement an upload may carry (PROTOCOL §6.8): unpadded base64url of its canonical bytes.
 * The relay then stores the statement and the blob together or neither.
 */
export const STATEMENT_HEADER = 'vouch-statement'
/** Longest header value: a statement at the protocol's size limit, base64url-encoded. */
const STATEMENT_HEADER_CHARS = Math.ceil((LIMITS.statementBytes * 4) / 3)

blobs.put('/:hash{.+}', async (c) => {
  const env = c.env
  const d = parseBlobHash(c.req.param('hash'))
  const sri = formatSri(d)
  const carried = c.req.header(STATEMENT_HEADER)
  if (carried !== undefined) return putWithStatement(c, d, carried)
  const operator = await isOperator(c.var.config.adminToken, c.req.header('authorization'))
  const payer = operator ? undefined : await admittingActor(env.DB, sri)
  if (!operator && payer === undefined) {
    throw new ApiError(403, 'not_admitted', `no statement on this relay names ${sri}; publish a statement about it first, or send it with the upload (${STATEMENT_HEADER})`)
  }
  const size = declaredLength(c)
  const { status } = await storeBlob(c, d, size, payer)
  return c.json({ hash: sri, size, status }, status === 'stored' ? 201 : 200)
})

/** Content-Length, required and within the relay's blob limit, before any byte is read. */
function declaredLength(c: Context<AppEnv>): number {
  const declared = c.req.header('content-length')
  if (declared === undefined || !/^\d+$/.test(declared)) throw new ApiError(411, 'length_required', 'send Content-Length: blobs are streamed into storage, which needs the length')
  const max = c.var.config.blobMaxBytes
  if (Number(declared) > max) throw new ApiError(413, 'blob_too_large', `blobs are at most ${max} bytes`)
  return Number(declared)
}

/**
 * Streams the request body into R2 under its hash (charged to `payer`, unless the operator sends
 * it), or drains it when the blob is already held. Nothing is stored under a wrong name.
 */
async function storeBlob(c: Context<AppEnv>, d: Digest, size: number, payer: string | undefined): Promise<{ status: 'stored' | 'exists' }> {
  const env = c.env
  const sri = formatSri(d)
  const body = c.req.raw.body
  if (await env.BLOBS.head(blobKey(d))) {
    await drainBody(body)
    return { status: 'exists' }
  }
  if (payer !== undefined) await chargeBlob(env.DB, payer, size, c.var.config.quotaBlobBytesPerDay, body)
  if (!body || size === 0) {
    // An empty blob: R2 cannot checksum a missing stream, so check the name ourselves.
    const empty = await crypto.subtle.digest(d.alg === 'sha256' ? 'SHA-256' : d.alg === 'sha384' ? 'SHA-384' : 'SHA-512', new Uint8Array())
    if (formatSri({ alg: d.alg, bytes: new Uint8Array(empty) }) !== sri) throw new ApiError(422, 'hash_mismatch', `the bytes do not hash to ${sri}; nothing was stored`)
    await env.BLOBS.put(blobKey(d), new Uint8Array(), { httpMetadata: { contentType: 'application/octet-stream' } })
    return { status: 'stored' }
  }
  const watched = watchedBody(body, size)
  try {
    await putBlob(env.BLOBS, d, watched.stream)
    return { status: 'stored' }
  } catch (e) {
    if (watched.incomplete()) throw new ApiError(400, 'body_incomplete', `the upload ended before its ${size} declared bytes arrived; nothing was stored`)
    if (e instanceof HashMismatch) throw new ApiError(422, 'hash_mismatch', `${e.message}; nothing was stored`)
    throw e
  }
}

/**
 * An upload that carries the statement naming it: the statement passes every check a POST makes
 * (admission, signature, clock, quota) before a byte is read, the blob is stored next, and the
 * statement's row last; if the blob fails, the statement is not stored, and if the row fails,
 * the blob just stored is removed. So no relay holds a statement whose content it refused.
 */
async function putWithStatement(c: Context<AppEnv>, d: Digest, header: string): Promise<Response> {
  const env = c.env
  const sri = formatSri(d)
  const body = c.req.raw.body
  const refuse = async (status: 400 | 403 | 411 | 413 | 422 | 429, code: string, message: string, headers?: Record<string, string>): Promise<never> => {
    await drainBody(body)
    throw new ApiError(status, code, message, undefined, headers)
  }
  const bytes = header.length <= STATEMENT_HEADER_CHARS ? decodeBase64url(header.trim()) : undefined
  if (!bytes) return refuse(400, 'bad_statement_header', `${STATEMENT_HEADER} holds one statement's canonical bytes as unpadded base64url, at most ${LIMITS.statementBytes} bytes`)
  let item: Json
  try {
    item = parseJsonBytes(bytes, { maxDepth: LIMITS.bodyDepth, maxMembers: LIMITS.bodyMembers })
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e
    return refuse(400, 'bad_statement_header', `${STATEMENT_HEADER}: ${e.message}`)
  }
  const named = typeof item === 'object' && item !== null && !Array.isArray(item) && (item.subject === sri || item.object === sri)
  if (!named) return refuse(400, 'statement_mismatch', `the statement in ${STATEMENT_HEADER} does not name ${sri} as its subject or object`)
  const size = declaredLength(c)
  const config = c.var.config
  const peer = c.var.peer
  let stored: 'stored' | 'exists' | undefined
  let result
  try {
    result = await outliveClient(c, ingest(env.DB, [item], {
      now: Date.now(),
      skewMs: config.futureSkewMs,
      origin: peer === undefined ? { kind: 'client' } : { kind: 'peer', peer },
      gate: config,
      beforeInsert: async ([v]) => {
        stored = (await storeBlob(c, d, size, v!.statement.actor)).status
      },
    }))
  } catch (e) {
    // The statement did not land, so neither may the blob this request stored.
    if (stored === 'stored') await env.BLOBS.delete(blobKey(d))
    throw e
  }
  const r = result.results[0]!
  if (r.status === 'rejected') {
    const status = r.error.code === NOT_ADMITTED ? 403 : r.error.code === QUOTA_EXCEEDED ? 429 : 422
    const retry = status === 429 ? { 'retry-after': String(secondsToNextDay(Date.now())) } : undefined
    return refuse(status, r.error.code, `the statement was refused, so the content was not stored: ${r.error.message}`, retry)
  }
  if (result.fresh.length) c.executionCtx.waitUntil(afterAccept(env, result.fresh, { self: selfUrl(env, c.req.url) }))
  return c.json({ hash: sri, size, status: stored!, statement: { id: r.id, status: r.status } }, stored === 'stored' ? 201 : 200)
}

/**
 * Charges a blob's declared bytes to the actor whose statement admitted it, before anything is
 * stored: an upload that then fails its hash check has still spent the quota, so a failing upload
 * cannot be retried for free. Over the quota: 429, the body is discarded, nothing is stored.
 */
async function chargeBlob(db: D1Database, actor: string, bytes: number, quota: number, body: ReadableStream | null): Promise<void> {
  const now = Date.now()
  const day = dayOf(now)
  const used = (await usageOf(db, [actor], day)).get(actor)?.bytes ?? 0
  if (used + bytes > quota) {
    await drainBody(body)
    const retryAfter = secondsToNextDay(now)
    throw new ApiError(
      429,
      'quota_exceeded',
      `the actor whose statement admitted this blob has ${Math.max(0, quota - used)} of its ${quota} blob bytes left for today (UTC); retry after ${retryAfter} s`,
      { limit: 'blobBytesPerDay' },
      { 'retry-after': String(retryAfter) },
    )
  }
  if (bytes) await addUsage(db, new Map([[actor, { bytes }]]), day)
}

async function serve(c: Context<AppEnv>, head: boolean): Promise<Response> {
  const env = c.env
  const d = parseBlobHash(c.req.param('hash')!)
  const sri = formatSri(d)
  const key = blobKey(d)
  const etag = `"${sri}"`
  // 304 only for a blob this relay holds: a client's cached copy of a blob we lack is no
  // evidence that we have it.
  if (matchesEtag(c.req.header('if-none-match'), etag) && (await env.BLOBS.head(key))) {
    return new Response(null, { status: 304, headers: { etag, 'cache-control': 'public, max-age=31536000, immutable' } })
  }

  const rangeHeader = c.req.header('range')
  // Hot blobs come from the Workers cache, keyed by the canonical name so every URL form shares it.
  const cacheKey = new Request(`https://vouch-blob-cache/${key}`)
  const cache = (globalThis as unknown as { caches?: { default: Cache } }).caches?.default
  if (!head && !rangeHeader && cache) {
    const hit = await cache.match(cacheKey)
    if (hit) return hit
  }

  // A plain GET reads the object directly (one R2 operation); HEAD and ranges need the size first.
  const direct = !head && !rangeHeader ? await env.BLOBS.get(key) : undefined
  if (direct) return fullResponse(c, d, direct, cache, cacheKey)
  let meta = direct === null ? null : await env.BLOBS.head(key)
  if (!meta) {
    if (!(await isNamed(env.DB, sri))) throw new ApiError(404, 'not_found', `no blob ${sri} here, and no statement names it`)
    // A peer's pull-through asking us must not make us ask our peers in turn (and so on, in a loop).
    if (c.req.header(PULL_THROUGH_HEADER)) throw new ApiError(404, 'not_found', `no blob ${sri} here`)
    const config = c.var.config
    const pulled = await pullThrough(env.BLOBS, d, {
      sources: await blobSources(env, config),
      maxBytes: config.blobMaxBytes,
      timeoutMs: config.peerTimeoutMs,
      allowPrivate: config.allowPrivatePeers,
    })
    if (pulled.status === 'mismatch') {
      throw new ApiError(502, 'upstream_mismatch', `sources served bytes that do not hash to ${sri} (${pulled.liars.join(', ')}); they were refused`)
    }
    if (pulled.status === 'missing') throw new ApiError(404, 'not_found', `no blob ${sri} here or at ${pulled.tried.length} sources`)
    meta = await env.BLOBS.head(key)
    if (!meta) throw new Error('blob vanished after pull-through')
  }
  const size = meta.size
  const range = parseRange(rangeHeader, size)
  if (range === 'unsatisfiable') {
    throw new ApiError(416, 'range_not_satisfiable', `the blob has ${size} bytes`, undefined, { 'content-range': `bytes */${size}` })
  }
  if (head) return new Response(null, { status: 200, headers: blobHeaders(d, size) })
  const obj = await env.BLOBS.get(key, range ? { range } : undefined)
  if (!obj) throw new ApiError(404, 'not_found', `no blob ${sri} here`)
  if (range) {
    const h = blobHeaders(d, range.length)
    h.set('content-range', `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`)
    return new Response(obj.body, { status: 206, headers: h })
  }
  return fullResponse(c, d, obj, cache, cacheKey)
}

/** The whole blob, filling the Workers cache for the next reader when it is small enough. */
function fullResponse(c: Context<AppEnv>, d: Digest, obj: R2ObjectBody, cache: Cache | undefined, cacheKey: Request): Response {
  const res = new Response(obj.body, { status: 200, headers: blobHeaders(d, obj.size) })
  if (cache && obj.size <= 8 * 1024 * 1024) c.executionCtx.waitUntil(cache.put(cacheKey, res.clone()))
  return res
}

/** If-None-Match (RFC 9110 §13.1.2): a list of entity tags, weak or strong, or `*`. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag === '*' || tag === etag || tag === `W/${etag}`
  })
}

// Hono answers HEAD by running the GET route (and dropping the body), so the GET route itself
// must tell them apart: a HEAD reads only the object's metadata, never its bytes.
blobs.get('/:hash{.+}', (c) => serve(c, c.req.method === 'HEAD'))
