import { open, OutboundError, readBody } from '../net/index.ts'
import { decodeStrictUtf8 } from '../verify/index.ts'
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
 * redirect, a timeout, or more than `maxBytes` is `network`. The request goes through src/net's
 * door; a registry or cache is named by the operator, so private addresses are allowed.
 */
export async function getBytes(url: string, maxBytes: number, o: FetchOptions & { accept?: string } = {}): Promise<Fetched> {
  checkHttpUrl(url, 'URL')
  const timeoutMs = o.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  try {
    const opened = await open(url, {
      allowPrivate: true,
      timeoutMs,
      signal: o.signal,
      maxBytes,
      headers: o.accept ? { accept: o.accept } : {},
      fetch: o.fetch,
    })
    const { res } = opened
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => {})
      throw new BridgeError('not_found', 'not_found', `${url}: ${res.status} not found`)
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {})
      throw new BridgeError('network', `http_${res.status}`, `${url} answered HTTP ${res.status}`)
    }
    return { status: res.status, bytes: await readBody(opened, url, maxBytes), headers: res.headers }
  } catch (e) {
    if (!(e instanceof OutboundError)) throw e
    const code = e.code === 'network' ? 'unreachable' : e.code
    const hint = e.code === 'redirect' ? ': give the final URL' : ''
    throw new BridgeError('network', code, `${e.message}${hint}`, { cause: e })
  }
}

/** UTF-8 text, refusing invalid UTF-8 (a document that is not text is not the document asked for). */
export function decodeText(bytes: Uint8Array, what: string): string {
  const text = decodeStrictUtf8(bytes)
  if (text === undefined) throw new BridgeError('malformed', 'invalid_utf8', `${what} is not valid UTF-8 without a byte order mark`)
  return text
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
