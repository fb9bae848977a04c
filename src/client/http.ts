import { open, OutboundError, readBody } from '../net/index.ts'
import { parseJsonBytes, type Json } from '../verify/index.ts'
import { RelayProblemError } from './errors.ts'

/**
 * The client's only door to the network. Every request has a timeout, never follows a redirect
 * (a relay has no reason to move, and a redirect could send a client's upload anywhere), reads
 * at most a fixed number of bytes, and can be cancelled with an AbortSignal.
 */

export interface RequestOptions {
  /** Whole-request timeout for JSON exchanges; for blob transfers, the longest pause between chunks. */
  timeoutMs?: number
  /** Cancels the whole operation; it then rejects with the signal's reason (an AbortError). */
  signal?: AbortSignal
  /** Replace `fetch` (a Worker's service binding, a test double). */
  fetch?: typeof fetch
}

export const DEFAULT_TIMEOUT_MS = 10_000

/** Base URL of a relay, without a trailing slash. Throws TypeError for anything but http(s). */
export function relayBase(url: string): string {
  if (typeof url !== 'string') throw new TypeError('relay URL must be a string')
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(url)}`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError(`relay URLs are http or https: ${url}`)
  if (u.username || u.password) throw new TypeError('relay URLs must not carry credentials')
  if (u.search || u.hash) throw new TypeError(`relay URLs have no query or fragment: ${url}`)
  return u.href.replace(/\/+$/, '')
}

export function checkRelays(relays: readonly string[]): string[] {
  if (!Array.isArray(relays)) throw new TypeError('relays must be an array of URLs')
  return [...new Set(relays.map(relayBase))]
}

export function timeoutOf(o: RequestOptions): number {
  const t = o.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (typeof t !== 'number' || !(t > 0)) throw new RangeError(`timeoutMs must be a positive number, got ${t}`)
  return t
}

const network = (code: string, message: string, cause?: unknown) => new RelayProblemError({ kind: 'network', code, message }, { cause })

/** The door's failure as the client's own: the same `network` kind, with the client's codes. */
function fromOutbound(e: unknown): unknown {
  if (!(e instanceof OutboundError)) return e
  return network(e.code === 'network' ? 'unreachable' : e.code, e.message, e.cause ?? e)
}

/**
 * Sends a request through src/net's door and returns the response with its body unread. Throws
 * RelayProblemError (kind `network`) when there is no answer or it is a redirect. `signal` ends
 * the exchange, body included. A relay is the user's own choice, so loopback is allowed.
 */
export async function send(url: string, init: RequestInit, o: RequestOptions & { signal: AbortSignal }): Promise<Response> {
  try {
    return (await open(url, { allowPrivate: true, init, signal: o.signal, fetch: o.fetch })).res
  } catch (e) {
    throw fromOutbound(e)
  }
}

export function abortProblem(signal: AbortSignal, url: string, cause?: unknown): RelayProblemError {
  const reason = signal.reason as { name?: string } | undefined
  if (reason?.name === 'TimeoutError') return network('timeout', `${url} did not answer in time`, cause)
  return network('aborted', `request to ${url} was aborted`, cause)
}

/** Reads a body up to `maxBytes`, refusing more (from Content-Length when declared). */
export async function readCapped(res: Response, url: string, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  try {
    return await readBody({ res, signal }, url, maxBytes)
  } catch (e) {
    throw fromOutbound(e)
  }
}

/** The `{error: {code, message}}` of a relay's error answer, if it sent one. */
export function apiError(body: Uint8Array): { code: string; message: string } | undefined {
  try {
    const j = parseJsonBytes(body, { maxDepth: 8 }) as { error?: { code?: unknown; message?: unknown } }
    const e = j?.error
    if (e && typeof e.code === 'string') return { code: e.code, message: typeof e.message === 'string' ? e.message : e.code }
  } catch {
    // not JSON: fall through
  }
  return undefined
}

export function httpProblem(url: string, status: number, body: Uint8Array): RelayProblemError {
  const e = apiError(body)
  return new RelayProblemError({
    kind: 'http',
    code: e?.code ?? `http_${status}`,
    status,
    message: e ? `${url}: ${status} ${e.code}: ${e.message}` : `${url}: HTTP ${status}`,
  })
}

/** Strict JSON (no duplicate keys, no unsafe integers): relays are not trusted to be well-formed. */
export function parseAnswer(body: Uint8Array, url: string, maxDepth: number): Json {
  try {
    return parseJsonBytes(body, { maxDepth })
  } catch (e) {
    throw new RelayProblemError({ kind: 'invalid', code: 'malformed_answer', message: `${url} sent malformed JSON (${(e as Error).message})` }, { cause: e })
  }
}

/** One JSON exchange: timeout over the whole request, capped body, strict parse. */
export async function requestJson(
  url: string,
  init: RequestInit,
  o: RequestOptions & { maxBytes: number; maxDepth: number; okStatuses?: readonly number[] },
): Promise<{ status: number; json: Json; headers: Headers }> {
  const timeout = AbortSignal.timeout(timeoutOf(o))
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  const res = await send(url, init, { ...o, signal })
  const body = await readCapped(res, url, o.maxBytes, signal)
  if (!(o.okStatuses ?? [200]).includes(res.status)) throw httpProblem(url, res.status, body)
  return { status: res.status, json: parseAnswer(body, url, o.maxDepth), headers: res.headers }
}

/** Runs `task` for every relay at once; failures become reports, never rejections. */
export async function eachRelay<T>(relays: readonly string[], task: (relay: string) => Promise<T>) {
  return Promise.all(
    relays.map(async (relay) => {
      try {
        return { relay, ok: true as const, value: await task(relay) }
      } catch (e) {
        if (e instanceof RelayProblemError) return { relay, ok: false as const, problem: e.problem }
        throw e
      }
    }),
  )
}

/**
 * A request body of a known length from an async iterable (ReadableStream.from is not everywhere
 * yet). Workers send a plain stream chunked, without Content-Length, so there it goes through a
 * FixedLengthStream; Node's fetch takes the length from the header.
 */
export function streamOf(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  let it: AsyncIterator<Uint8Array> | Iterator<Uint8Array> | undefined
  const fixed = (globalThis as { FixedLengthStream?: new (n: number) => TransformStream<Uint8Array, Uint8Array> }).FixedLengthStream
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      it ??= Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
      const r = await it.next()
      if (r.done) controller.close()
      else controller.enqueue(r.value)
    },
    async cancel(reason) {
      await it?.return?.(reason)
    },
  })
  return fixed ? stream.pipeThrough(new fixed(length)) : stream
}
