import { isPrivateHost, isUntrustedNameRefused } from './address.ts'
import { BodyTooLarge, readCapped } from './read-capped.ts'

/**
 * The one door through which vouch talks to other servers (relay gossip, blob pull-through, alias
 * proofs, bridges, the client). Every request can be given a deadline and an AbortSignal, never
 * follows a redirect (a redirect could point at a private address, and nothing we fetch has a
 * reason to move), checks the host before connecting, refuses a declared length over the cap, and
 * reads at most the cap. What comes back is never trusted: callers verify it.
 */

export type OutboundCode = 'bad_url' | 'private_address' | 'timeout' | 'aborted' | 'network' | 'redirect' | 'too_large' | 'http_status'

/**
 * Every failure of the door. `message` is the detailed reason (for logs and the caller's own
 * user); `publicMessage` is the one text shown to someone who made us fetch, the same for every
 * reason, so an anonymous client cannot tell a refused port from an unreachable one.
 */
export class OutboundError extends Error {
  override readonly name = 'OutboundError'
  constructor(
    readonly code: OutboundCode,
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
  get publicMessage(): string {
    return `could not fetch ${this.url}`
  }
}

/** Where a request may go. */
export interface UrlRule {
  /** Permit plain http to loopback and private addresses (local development and tests only). */
  allowPrivate: boolean
  /**
   * The URL comes from someone else (an alias claim anyone can publish): https to port 443 only,
   * and no single-label names. Ignored with `allowPrivate`.
   */
  untrusted?: boolean
}

/**
 * Refuses URLs that are not http(s), that carry credentials, or whose host is not public. The
 * second argument may be the old boolean `allowPrivate`.
 */
export function checkPublicUrl(url: string, rule: UrlRule | boolean): URL {
  const r: UrlRule = typeof rule === 'boolean' ? { allowPrivate: rule } : rule
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new OutboundError('bad_url', `not a URL: ${JSON.stringify(url)}`, String(url))
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new OutboundError('bad_url', `only http and https URLs: ${url}`, url)
  if (u.username || u.password) throw new OutboundError('bad_url', 'URLs with credentials are refused', url)
  if (r.allowPrivate) return u
  if (r.untrusted) {
    // u.port is '' for the scheme's default port, so https with an empty port is 443.
    if (u.protocol !== 'https:' || u.port !== '') throw new OutboundError('bad_url', `${url} is not https on port 443`, url)
    if (isUntrustedNameRefused(u.hostname)) throw new OutboundError('private_address', `${u.hostname} is not a public host name or address`, url)
  } else if (isPrivateHost(u.hostname)) {
    throw new OutboundError('private_address', `${u.hostname} is a private or local address (set ALLOW_PRIVATE_PEERS for local development)`, url)
  }
  return u
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

export interface OpenOptions extends UrlRule {
  method?: string
  headers?: Record<string, string>
  body?: RequestInit['body']
  /** Deadline for the whole exchange, body included. */
  timeoutMs?: number
  /** Deadline for the answer's headers only (a long body may then take longer). */
  answerTimeoutMs?: number
  /** Cancels the exchange, body included. */
  signal?: AbortSignal
  /** Refuse an answer that declares more bytes than this, before reading it. */
  maxBytes?: number
  /** Refuse an answer that does not declare its length (a body streamed into storage that needs it). */
  requireLength?: boolean
  /** The fetch to use (a Worker binding, a test double); the global one by default. */
  fetch?: FetchLike
  /** Extra fetch options (`duplex` for a streamed upload). */
  init?: RequestInit
}

export interface Opened {
  res: Response
  /** Aborts when the deadline passes or the caller's signal fires; give it to body reads. */
  signal: AbortSignal
  /** The whole-exchange deadline, for messages. */
  timeoutMs?: number
}

function abortError(signal: AbortSignal, url: string, what: string, ms: number | undefined, cause: unknown): OutboundError {
  const reason = signal.reason as { name?: string; message?: string } | undefined
  if (reason?.name === 'TimeoutError') return new OutboundError('timeout', `${url} ${what} ${ms === undefined ? 'in time' : `within ${ms} ms`}`, url, { cause })
  return new OutboundError('aborted', `the request to ${url} was aborted${reason?.message ? ` (${reason.message})` : ''}`, url, { cause })
}

function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (e as Error).message ?? String(e)
}

/**
 * Sends a request and returns the answer with its body unread (the caller reads it with
 * `readBody` or streams it). Redirects and, with `maxBytes`, over-long declared bodies are errors.
 */
export async function open(url: string, o: OpenOptions): Promise<Opened> {
  checkPublicUrl(url, o)
  const signals = [o.signal, o.timeoutMs !== undefined ? AbortSignal.timeout(o.timeoutMs) : undefined].filter((s): s is AbortSignal => !!s)
  const answer = new AbortController()
  const timer = o.answerTimeoutMs !== undefined ? setTimeout(() => answer.abort(new DOMException('no answer in time', 'TimeoutError')), o.answerTimeoutMs) : undefined
  const whole = signals.length ? AbortSignal.any(signals) : new AbortController().signal
  const signal = AbortSignal.any([whole, answer.signal])
  let res: Response
  try {
    const init: RequestInit = { ...o.init, redirect: 'manual', signal }
    if (o.method !== undefined) init.method = o.method
    if (o.headers !== undefined) init.headers = o.headers
    if (o.body !== undefined) init.body = o.body
    res = await (o.fetch ?? fetch)(url, init)
  } catch (e) {
    if (signal.aborted) throw abortError(signal, url, 'did not answer', answer.signal.aborted ? o.answerTimeoutMs : o.timeoutMs, e)
    throw new OutboundError('network', `cannot reach ${url} (${describe(e)})`, url, { cause: e })
  } finally {
    clearTimeout(timer)
  }
  if ((res.status >= 300 && res.status < 400) || (res.type as string) === 'opaqueredirect' /* browsers */) {
    await res.body?.cancel().catch(() => {})
    throw new OutboundError('redirect', `${url} answered with a redirect (${res.status}); redirects are not followed`, url)
  }
  if (o.maxBytes !== undefined || o.requireLength) await checkLength(res, url, o.maxBytes ?? Infinity, o.requireLength ?? false)
  return { res, signal: whole, timeoutMs: o.timeoutMs }
}

/** Refuses (and cancels) an answer whose declared length is over the cap, or absent when required. */
async function checkLength(res: Response, url: string, maxBytes: number, required: boolean): Promise<void> {
  const header = res.headers.get('content-length')
  const declared = header === null ? NaN : Number(header)
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {})
    throw new OutboundError('too_large', `${url} answered with ${declared} bytes; the cap is ${maxBytes}`, url)
  }
  if (required && !Number.isSafeInteger(declared)) {
    await res.body?.cancel().catch(() => {})
    throw new OutboundError('too_large', `${url} did not declare its length`, url)
  }
}

/** Reads an opened answer's body, never more than `maxBytes` (a declared length over it is refused unread). */
export async function readBody(opened: Opened, url: string, maxBytes: number): Promise<Uint8Array> {
  await checkLength(opened.res, url, maxBytes, false)
  try {
    return await readCapped(opened.res.body, maxBytes)
  } catch (e) {
    if (e instanceof BodyTooLarge) throw new OutboundError('too_large', `${url} sent more than ${maxBytes} bytes`, url)
    if (opened.signal.aborted) throw abortError(opened.signal, url, 'did not finish', opened.timeoutMs, e)
    throw new OutboundError('network', `reading the answer from ${url} failed (${describe(e)})`, url, { cause: e })
  }
}

export interface Fetched {
  status: number
  bytes: Uint8Array
  headers: Headers
}

/** One whole exchange: `open`, then the body read under the same deadline and cap. */
export async function fetchCapped(url: string, o: OpenOptions & { maxBytes: number }): Promise<Fetched> {
  const opened = await open(url, o)
  const bytes = await readBody(opened, url, o.maxBytes)
  return { status: opened.res.status, bytes, headers: opened.res.headers }
}
