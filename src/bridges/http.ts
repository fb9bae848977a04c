import { BodyTooLarge, readCapped } from '../http/read-capped.ts'
import { BridgeError } from './errors.ts'

/**
 * The bridges' only door to the systems they read (a registry, a binary cache). Every request has
 * a timeout, never follows a redirect (a redirect could lead anywhere; registries and caches serve
 * their documents where they are asked), reads at most `maxBytes`, and can be given another
 * `fetch` (a Worker binding, a test server). What comes back is checked by the caller.
 */
export interface FetchOptions {
  /** Replace the global fetch (tests map placeholder hosts to a local server this way). */
  fetch?: typeof fetch
  /** Whole-request timeout in ms; default 30 s. */
  timeoutMs?: number
  signal?: AbortSignal
}

export const DEFAULT_FETCH_TIMEOUT_MS = 30_000

/** An http(s) URL without credentials, or a BridgeError naming `what`. */
export function checkHttpUrl(url: string, what: string): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new BridgeError('unsupported', 'bad_url', `${what} is not a URL: ${JSON.stringify(url)}`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new BridgeError('unsupported', 'bad_url', `${what} must be an http or https URL: ${url}`)
  if (u.username || u.password) throw new BridgeError('unsupported', 'bad_url', `${what} must not carry credentials`)
  return u
}

/** A base URL (registry, cache) without trailing slash, query or fragment. */
export function baseUrl(url: string, what: string): string {
  const u = checkHttpUrl(url, what)
  if (u.search || u.hash) throw new BridgeError('unsupported', 'bad_url', `${what} must have no query or fragment: ${url}`)
  return u.href.replace(/\/+$/, '')
}

export interface Fetched {
  status: number
  bytes: Uint8Array
  headers: Headers
}

/**
 * GETs `url` and returns the body of a 200. 404 and 410 are `not_found`; any other status, a
 * redirect, a timeout, or more than `maxBytes` is `network`.
 */
export async function getBytes(url: string, maxBytes: number, o: FetchOptions & { accept?: string } = {}): Promise<Fetched> {
  checkHttpUrl(url, 'URL')
  const timeoutMs = o.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  const net = (code: string, message: string, cause?: unknown) => new BridgeError('network', code, message, { cause })
  let res: Response
  try {
    res = await (o.fetch ?? fetch)(url, { redirect: 'manual', signal, headers: o.accept ? { accept: o.accept } : {} })
  } catch (e) {
    if (timeout.aborted) throw net('timeout', `${url} did not answer within ${timeoutMs} ms`, e)
    if (o.signal?.aborted) throw net('aborted', `the request to ${url} was aborted`, e)
    throw net('unreachable', `cannot reach ${url} (${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message})`, e)
  }
  const drop = () => res.body?.cancel().catch(() => {})
  if (res.status >= 300 && res.status < 400) {
    await drop()
    throw net('redirect', `${url} answered with a redirect (${res.status} to ${res.headers.get('location') ?? '?'}); bridges do not follow redirects: give the final URL`)
  }
  if (res.status === 404 || res.status === 410) {
    await drop()
    throw new BridgeError('not_found', 'not_found', `${url}: ${res.status} not found`)
  }
  if (res.status !== 200) {
    await drop()
    throw net(`http_${res.status}`, `${url} answered HTTP ${res.status}`)
  }
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) {
    await drop()
    throw net('too_large', `${url} offers ${declared} bytes; the cap is ${maxBytes}`)
  }
  let bytes: Uint8Array
  try {
    bytes = await readCapped(res.body, maxBytes)
  } catch (e) {
    if (e instanceof BodyTooLarge) throw net('too_large', `${url} sent more than ${maxBytes} bytes`)
    if (timeout.aborted) throw net('timeout', `${url} did not finish within ${timeoutMs} ms`, e)
    throw net('unreachable', `reading ${url} failed (${(e as Error).message})`, e)
  }
  return { status: res.status, bytes, headers: res.headers }
}

/** UTF-8 text, refusing invalid UTF-8 (a document that is not text is not the document asked for). */
export function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw new BridgeError('malformed', 'invalid_utf8', `${what} is not valid UTF-8`)
  }
}

/** Runs `task` over `items` with at most `limit` at once, keeping order; the first failure rejects. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await task(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return out
}
