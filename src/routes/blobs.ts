import type { Context } from 'hono'
import { createRouter, type AppEnv } from '../app.ts'
import { BLOB_ALGORITHMS, blobKey, HashMismatch, putBlob } from '../blobs/store.ts'
import { PULL_THROUGH_HEADER, pullThrough } from '../blobs/pull-through.ts'
import type { RelayConfig, RelayEnv } from '../config.ts'
import { getPeerState, listPeers } from '../gossip/index.ts'
import { isOperator } from '../http/auth.ts'
import { drainBody } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'
import { isNamed } from '../store/statements.ts'
import { formatSri, parseHashParam, type Digest } from '../verify/index.ts'

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

blobs.put('/:hash{.+}', async (c) => {
  const env = c.env
  const d = parseBlobHash(c.req.param('hash'))
  const sri = formatSri(d)
  if (!(await isOperator(c.var.config.adminToken, c.req.header('authorization'))) && !(await isNamed(env.DB, sri))) {
    throw new ApiError(403, 'not_admitted', `no statement on this relay names ${sri}; publish a statement about it first`)
  }
  const declared = c.req.header('content-length')
  if (declared === undefined || !/^\d+$/.test(declared)) throw new ApiError(411, 'length_required', 'send Content-Length: blobs are streamed into storage, which needs the length')
  const max = c.var.config.blobMaxBytes
  if (Number(declared) > max) throw new ApiError(413, 'blob_too_large', `blobs are at most ${max} bytes`)
  const body = c.req.raw.body
  const existing = await env.BLOBS.head(blobKey(d))
  if (existing) {
    await drainBody(body)
    return c.json({ hash: sri, size: existing.size, status: 'exists' }, 200)
  }
  if (!body || Number(declared) === 0) {
    // An empty blob: R2 cannot checksum a missing stream, so check the name ourselves.
    const empty = await crypto.subtle.digest(d.alg === 'sha256' ? 'SHA-256' : d.alg === 'sha384' ? 'SHA-384' : 'SHA-512', new Uint8Array())
    if (formatSri({ alg: d.alg, bytes: new Uint8Array(empty) }) !== sri) throw new ApiError(422, 'hash_mismatch', `the bytes do not hash to ${sri}; nothing was stored`)
    await env.BLOBS.put(blobKey(d), new Uint8Array(), { httpMetadata: { contentType: 'application/octet-stream' } })
    return c.json({ hash: sri, size: 0, status: 'stored' }, 201)
  }
  try {
    const obj = await putBlob(env.BLOBS, d, body)
    return c.json({ hash: sri, size: obj.size, status: 'stored' }, 201)
  } catch (e) {
    if (e instanceof HashMismatch) throw new ApiError(422, 'hash_mismatch', `${e.message}; nothing was stored`)
    throw e
  }
})

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
