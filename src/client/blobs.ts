import { base64url, formatSri, hexForm, parseHashParam, parseJsonBytes, utf8, type Digest, type HashAlgorithm } from '../verify/index.ts'
import { failureFrom, RelayProblemError, type RelayReport } from './errors.ts'
import { abortProblem, checkRelays, httpProblem, readCapped, send, streamOf, timeoutOf, type RequestOptions } from './http.ts'

/**
 * Blobs are content named by its hash (PROTOCOL §6.8). The relay is not trusted: bytes are hashed
 * as they arrive and handed on only inside a stream that throws, instead of ending, if they do
 * not match. Nothing here ever returns bytes whose hash was not checked.
 */

const BLOB_ALGS: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512']
/** Relays' default blob limit (BLOB_MAX_BYTES); a larger blob is refused unless the caller raises it. */
export const DEFAULT_BLOB_MAX_BYTES = 100 * 1024 * 1024

export function parseBlobHash(hash: string): Digest {
  if (typeof hash !== 'string') throw new TypeError('hash must be a string')
  const d = parseHashParam(hash)
  if (!d || !BLOB_ALGS.includes(d.alg)) throw new RangeError(`a blob is named by a sha256, sha384 or sha512 hash (sha256-<base64> or sha256:<hex>), got ${JSON.stringify(hash)}`)
  return d
}

interface Hasher {
  update(chunk: Uint8Array): void
  digest(): Promise<Uint8Array>
}

/**
 * Incremental hashing: node:crypto where it exists (Node; Workers with nodejs_compat), otherwise
 * the chunks are kept and hashed with WebCrypto at the end (memory bounded by `maxBytes`).
 */
async function createHasher(alg: HashAlgorithm): Promise<Hasher> {
  try {
    const { createHash } = await import('node:crypto')
    const h = createHash(alg)
    return { update: (c) => void h.update(c), digest: async () => new Uint8Array(h.digest()) }
  } catch {
    const parts: Uint8Array[] = []
    return {
      update: (c) => void parts.push(c.slice()),
      async digest() {
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
        let off = 0
        for (const p of parts) all.set(p, off), (off += p.length)
        const name = alg === 'sha256' ? 'SHA-256' : alg === 'sha384' ? 'SHA-384' : 'SHA-512'
        return new Uint8Array(await crypto.subtle.digest(name, all))
      },
    }
  }
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

export interface BlobOptions extends RequestOptions {
  /** Largest blob accepted; default 100 MiB. */
  maxBytes?: number
  /** Called as bytes arrive (or leave, for uploads). */
  onProgress?: (p: { relay: string; bytes: number; total?: number }) => void
}

export interface BlobSource {
  relay: string
  /** Content-Length, when the relay sent one. */
  size?: number
}

/**
 * Receives one relay's bytes. It must read the stream to the end: the stream throws at the end
 * if the bytes do not hash to the name (or at once if the relay fails), and the consumer must
 * then throw away whatever it made of them (an unpacker removes its directory, a writer its temp
 * file). Only when the stream ended normally are the bytes the right ones.
 */
export type BlobConsumer<T> = (chunks: AsyncIterable<Uint8Array>, source: BlobSource) => Promise<T>

export interface FetchResult<T> {
  value: T
  relay: string
  size: number
  /** Relays tried before, with what went wrong. */
  relays: RelayReport[]
}

/**
 * Streams a blob from the first relay (in order) that serves the right bytes into `consume`.
 * A relay that serves wrong bytes is reported and the next one tried. Throws ClientError:
 * `mismatch` when every answer was wrong, `not_found`, or `unreachable`.
 */
export async function fetchBlobTo<T>(relays: readonly string[], hash: string, consume: BlobConsumer<T>, o: BlobOptions = {}): Promise<FetchResult<T>> {
  const targets = checkRelays(relays)
  const d = parseBlobHash(hash)
  if (typeof consume !== 'function') throw new TypeError('consume must be a function')
  const maxBytes = o.maxBytes ?? DEFAULT_BLOB_MAX_BYTES
  const stall = timeoutOf(o)
  const reports: RelayReport[] = []
  for (const relay of targets) {
    const url = `${relay}/v1/blobs/${hexForm(d)}`
    const local = new AbortController()
    const signal = o.signal ? AbortSignal.any([o.signal, local.signal]) : local.signal
    // A transfer may take minutes; what must not happen is a relay going silent.
    let timer: ReturnType<typeof setTimeout> | undefined
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => local.abort(new DOMException('stalled', 'TimeoutError')), stall)
    }
    arm()
    let reached = false
    let size = 0
    try {
      const res = await send(url, {}, { ...o, signal })
      if (res.status !== 200) throw httpProblem(url, res.status, await readCapped(res, url, 64 * 1024, signal).catch(() => new Uint8Array()))
      const declared = res.headers.get('content-length')
      const total = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined
      if (total !== undefined && total > maxBytes) {
        await res.body?.cancel().catch(() => {})
        throw new RelayProblemError({ kind: 'network', code: 'too_large', message: `${url} offers ${total} bytes; the cap is ${maxBytes}` })
      }
      const hasher = await createHasher(d.alg)
      const body = res.body
      async function* verified(): AsyncGenerator<Uint8Array, void, undefined> {
        if (!body) throw new RelayProblemError({ kind: 'invalid', code: 'hash_mismatch', message: `${url} sent no body` })
        const reader = body.getReader()
        try {
          for (;;) {
            let r: ReadableStreamReadResult<Uint8Array>
            try {
              r = await reader.read()
            } catch (e) {
              if (signal.aborted) throw abortProblem(signal, url, e)
              throw new RelayProblemError({ kind: 'network', code: 'unreachable', message: `reading ${url} failed` }, { cause: e })
            }
            if (r.done) break
            arm()
            size += r.value.byteLength
            if (size > maxBytes) throw new RelayProblemError({ kind: 'network', code: 'too_large', message: `${url} sent more than ${maxBytes} bytes` })
            if (total !== undefined && size > total) throw new RelayProblemError({ kind: 'invalid', code: 'hash_mismatch', message: `${url} sent more bytes than it announced` })
            hasher.update(r.value)
            o.onProgress?.({ relay, bytes: size, total })
            yield r.value
          }
          const got = await hasher.digest()
          if (!equal(got, d.bytes)) {
            throw new RelayProblemError({ kind: 'invalid', code: 'hash_mismatch', message: `${relay} served bytes that hash to ${formatSri({ alg: d.alg, bytes: got })}, not ${formatSri(d)}; they were discarded` })
          }
          reached = true
        } finally {
          reader.cancel().catch(() => {})
        }
      }
      const stream = verified()
      let value: T
      try {
        value = await consume(stream, { relay, ...(total !== undefined && { size: total }) })
      } catch (e) {
        if (e instanceof RelayProblemError || reached || signal.aborted) throw e
        throw await beforeTheCheck(e, stream, relay, () => reached)
      }
      if (!reached) throw new TypeError('a BlobConsumer must read the stream to its end (that is where the hash is checked)')
      return { value, relay, size, relays: reports }
    } catch (e) {
      if (!(e instanceof RelayProblemError)) throw e
      o.signal?.throwIfAborted() // the caller's abort is the caller's AbortError, not a relay's fault
      reports.push({ relay, ok: false, problem: e.problem })
    } finally {
      clearTimeout(timer)
      local.abort()
    }
  }
  throw failureFrom(`blob ${formatSri(d)}`, reports)
}

/**
 * The consumer failed before the hash was checked (a hostile NAR of names too long to create, a
 * full disk, a name that folds onto another): whose fault is that? The rest of the stream is read
 * (still capped and timed) to find out. Wrong bytes are the relay's problem, reported so the next
 * relay is tried; the right bytes mean the failure is local and every relay would meet it, so the
 * consumer's error goes up. If the consumer closed the stream, nobody can tell: the relay is
 * reported, with the consumer's error, and the next one tried.
 */
async function beforeTheCheck(e: unknown, stream: AsyncGenerator<Uint8Array, void, undefined>, relay: string, reached: () => boolean): Promise<unknown> {
  const why = e instanceof Error ? e.message : String(e)
  try {
    while (!(await stream.next()).done);
  } catch (drained) {
    if (!(drained instanceof RelayProblemError)) return e
    const p = drained.problem
    return new RelayProblemError({ ...p, message: `${p.message} (writing them had failed first: ${why})` }, { cause: e })
  }
  if (reached()) return e
  return new RelayProblemError({ kind: 'invalid', code: 'unverified_failure', message: `${relay}: storing its bytes failed before they could be checked (${why})` }, { cause: e })
}

/** A whole blob in memory, verified. For large blobs use `fetchBlobTo` and stream to storage. */
export async function fetchBlob(relays: readonly string[], hash: string, o: BlobOptions = {}): Promise<Uint8Array> {
  const { value } = await fetchBlobTo(
    relays,
    hash,
    async (chunks) => {
      const parts: Uint8Array[] = []
      for await (const c of chunks) parts.push(c)
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let off = 0
      for (const p of parts) out.set(p, off), (off += p.length)
      return out
    },
    o,
  )
  return value
}

export interface UploadReport extends RelayReport {
  /** `stored`: sent and kept; `exists`: the relay already had it, nothing sent. */
  status?: 'stored' | 'exists'
  /** With `statement`: what the relay did with it (it holds the statement and the blob). */
  statement?: 'accepted' | 'duplicate'
}

export interface UploadOptions extends BlobOptions {
  /** `Authorization: Bearer …`: a relay operator's token, to store a blob no statement names. */
  token?: string
  /**
   * Skip the HEAD that asks each relay whether it holds the blob already (the caller asked
   * with `hasBlob` before publishing the statement that names it, which is cheaper: see there).
   */
  unchecked?: boolean
  /**
   * The statement that names the blob, sent with it (PROTOCOL §6.8, `Vouch-Statement`): the relay
   * stores both or neither. Implies `unchecked`: the upload itself is how the statement lands.
   */
  statement?: { id: string; canonical: string }
}

/**
 * A blob's bytes, produced afresh for every relay (a file re-read, a NAR re-serialised), so
 * uploads to several relays run in parallel without holding the blob in memory.
 */
export type BlobBody = Uint8Array | { size: number; open: () => AsyncIterable<Uint8Array> }

/**
 * Uploads a blob to every relay that does not hold it yet, in parallel. The relay checks the
 * hash itself and admits only blobs a statement it holds names (publish the statement first).
 * Returns one report per relay; never throws for a relay's failure.
 */
export async function uploadBlob(relays: readonly string[], hash: string, body: BlobBody, o: UploadOptions = {}): Promise<UploadReport[]> {
  const reports = await uploadEach(relays, hash, body, o)
  o.signal?.throwIfAborted()
  return reports
}

async function uploadEach(relays: readonly string[], hash: string, body: BlobBody, o: UploadOptions): Promise<UploadReport[]> {
  const targets = checkRelays(relays)
  const d = parseBlobHash(hash)
  const size = body instanceof Uint8Array ? body.length : body?.size
  if (!Number.isSafeInteger(size) || size! < 0) throw new TypeError('body must be a Uint8Array or {size, open}')
  const stall = timeoutOf(o)
  const auth: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {}
  if (o.statement) auth['vouch-statement'] = base64url.encode(utf8(o.statement.canonical))
  return Promise.all(
    targets.map(async (relay): Promise<UploadReport> => {
      const url = `${relay}/v1/blobs/${hexForm(d)}`
      let localFailure: unknown
      try {
        if (!o.unchecked && !o.statement && (await requestHead(url, o).catch(() => 0)) === 200) return { relay, ok: true, status: 'exists' }
        const local = new AbortController()
        const signal = o.signal ? AbortSignal.any([o.signal, local.signal]) : local.signal
        let timer: ReturnType<typeof setTimeout> | undefined
        const arm = () => {
          clearTimeout(timer)
          timer = setTimeout(() => local.abort(new DOMException('stalled', 'TimeoutError')), stall)
        }
        arm()
        try {
          let sent = 0
          const source = body instanceof Uint8Array ? [body] : coalesce(body.open())
          const stream = streamOf(
            (async function* () {
              try {
                for await (const chunk of source) {
                  arm()
                  sent += chunk.length
                  o.onProgress?.({ relay, bytes: sent, total: size })
                  yield chunk
                }
              } catch (e) {
                localFailure = e // the bytes could not be produced: not the relay's fault
                throw e
              }
            })(),
            size!,
          )
          // `connection: close`: a relay may answer before reading the whole body (it already has
          // the blob); that connection is not safe to reuse.
          const res = await send(url, { method: 'PUT', body: stream, headers: { 'content-length': String(size), 'content-type': 'application/octet-stream', connection: 'close', ...auth }, duplex: 'half' } as RequestInit, { ...o, signal })
          arm()
          const answer = await readCapped(res, url, 64 * 1024, signal)
          if (res.status !== 200 && res.status !== 201) throw httpProblem(url, res.status, answer)
          const status = res.status === 201 ? 'stored' : 'exists'
          return o.statement ? { relay, ok: true, status, statement: statementAnswer(answer, o.statement.id, url) } : { relay, ok: true, status }
        } finally {
          clearTimeout(timer)
        }
      } catch (e) {
        if (localFailure !== undefined) throw localFailure
        if (!(e instanceof RelayProblemError)) throw e
        // A relay that already holds the blob may answer at once and drop the connection on the
        // rest of the body; ask whether that is what happened.
        if (e.problem.kind === 'network' && e.problem.code === 'unreachable' && !o.signal?.aborted && !o.statement) {
          if ((await requestHead(url, o).catch(() => 0)) === 200) return { relay, ok: true, status: 'exists' }
        }
        return { relay, ok: false, problem: e.problem }
      }
    }),
  )
}

/** The relay's word on the statement it stored with the blob; anything else is a bad answer. */
function statementAnswer(answer: Uint8Array, id: string, url: string): 'accepted' | 'duplicate' {
  let s: { id?: unknown; status?: unknown } | undefined
  try {
    s = (parseJsonBytes(answer, { maxDepth: 4 }) as { statement?: typeof s })?.statement
  } catch {
    s = undefined
  }
  if (s?.id === id && (s.status === 'accepted' || s.status === 'duplicate')) return s.status
  throw new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} stored the upload but did not confirm statement ${id}` })
}

export interface PresenceReport extends RelayReport {
  present?: boolean
}

/**
 * Which relays hold a blob (HEAD). Ask before publishing a statement that names it: a relay
 * asked about a blob a statement names, but that it lacks, first looks for it at its peers,
 * which costs time when none has it yet. (And a relay that holds a blob answers an upload of it
 * before reading the body, which some servers handle badly, so it is worth not sending.)
 */
export async function hasBlob(relays: readonly string[], hash: string, o: RequestOptions = {}): Promise<PresenceReport[]> {
  const d = parseBlobHash(hash)
  return Promise.all(
    checkRelays(relays).map(async (relay): Promise<PresenceReport> => {
      try {
        return { relay, ok: true, present: (await requestHead(`${relay}/v1/blobs/${hexForm(d)}`, o)) === 200 }
      } catch (e) {
        if (e instanceof RelayProblemError) return { relay, ok: false, problem: e.problem }
        throw e
      }
    }),
  )
}

const UPLOAD_CHUNK = 1024 * 1024

/**
 * Gathers small chunks (a NAR is mostly headers and small files) into ~1 MiB ones: sent one by
 * one, thousands of small writes made uploads twice as slow as the same bytes from a file.
 */
async function* coalesce(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  let buf = new Uint8Array(UPLOAD_CHUNK)
  let n = 0
  for await (const chunk of source) {
    if (n > 0 && n + chunk.length > UPLOAD_CHUNK) {
      yield buf.subarray(0, n)
      buf = new Uint8Array(UPLOAD_CHUNK)
      n = 0
    }
    if (chunk.length >= UPLOAD_CHUNK) yield chunk
    else buf.set(chunk, n), (n += chunk.length)
  }
  if (n > 0) yield buf.subarray(0, n)
}

/** 200 when the relay has the blob, 404 when not; anything else is a problem. */
async function requestHead(url: string, o: RequestOptions): Promise<number> {
  const timeout = AbortSignal.timeout(timeoutOf(o))
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  const res = await send(url, { method: 'HEAD' }, { ...o, signal })
  await res.body?.cancel().catch(() => {})
  if (res.status === 200 || res.status === 404) return res.status
  throw httpProblem(url, res.status, new Uint8Array())
}

