import { BodyTooLarge, readCapped } from './read-capped.ts'

/**
 * The only way the relay talks to other servers. Every request has a timeout, never follows a
 * redirect (a redirect could point at a private address, and a peer has no reason to move), and
 * reads at most `maxBytes` of the answer. A peer is never trusted: callers verify what comes back.
 */
export class OutboundError extends Error {
  override readonly name = 'OutboundError'
  constructor(
    readonly code: 'timeout' | 'redirect' | 'http_status' | 'too_large' | 'network' | 'private_address' | 'bad_url',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface OutboundOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
  maxBytes: number
  /** Permit loopback and private addresses (local multi-relay development only). */
  allowPrivate: boolean
  /** The fetch to use (tests and clients inject one); the global fetch by default. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>
  /** Skip the URL check: the caller applied a stricter rule of its own. */
  urlChecked?: boolean
}

export async function fetchCapped(url: string, o: OutboundOptions): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  if (!o.urlChecked) checkPublicUrl(url, o.allowPrivate)
  const signal = AbortSignal.timeout(o.timeoutMs)
  let res: Response
  try {
    res = await (o.fetch ?? fetch)(url, { method: o.method ?? 'GET', headers: o.headers, body: o.body, redirect: 'manual', signal })
  } catch (e) {
    if (signal.aborted) throw new OutboundError('timeout', `no answer from ${url} within ${o.timeoutMs} ms`, { cause: e })
    throw new OutboundError('network', `cannot reach ${url}`, { cause: e })
  }
  if ((res.status >= 300 && res.status < 400) || (res.type as string) === 'opaqueredirect' /* browsers */) {
    await res.body?.cancel()
    throw new OutboundError('redirect', `${url} answered with a redirect (${res.status}); redirects are not followed`)
  }
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > o.maxBytes) {
    await res.body?.cancel()
    throw new OutboundError('too_large', `${url} answered with ${declared} bytes; the cap is ${o.maxBytes}`)
  }
  let bytes: Uint8Array
  try {
    bytes = await readCapped(res.body, o.maxBytes)
  } catch (e) {
    if (e instanceof BodyTooLarge) throw new OutboundError('too_large', `${url} sent more than ${o.maxBytes} bytes`)
    if (signal.aborted) throw new OutboundError('timeout', `${url} did not finish within ${o.timeoutMs} ms`, { cause: e })
    throw new OutboundError('network', `reading from ${url} failed`, { cause: e })
  }
  return { status: res.status, bytes, headers: res.headers }
}

/**
 * Refuses URLs that are not http(s) or whose host is a loopback, private, link-local or otherwise
 * internal address. Names are checked as written; a public name resolving to a private address
 * cannot be caught here (Workers have no DNS API), but Cloudflare's edge cannot reach private
 * networks anyway, and redirects are never followed.
 */
export function checkPublicUrl(url: string, allowPrivate: boolean): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new OutboundError('bad_url', `not a URL: ${JSON.stringify(url)}`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new OutboundError('bad_url', `only http and https URLs: ${url}`)
  if (u.username || u.password) throw new OutboundError('bad_url', 'URLs with credentials are refused')
  if (!allowPrivate && isPrivateHost(u.hostname)) {
    throw new OutboundError('private_address', `${u.hostname} is a private or local address (set ALLOW_PRIVATE_PEERS for local development)`)
  }
  return u
}

export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '')
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal') || h.endsWith('.home.arpa')) return true
  const v4 = ipv4(h)
  if (v4) return isPrivateV4(v4)
  if (h.includes(':')) return isPrivateV6(h)
  return false
}

function ipv4(h: string): number[] | undefined {
  // WHATWG URL parsing already normalises 0x7f.1, 2130706433 and friends to dotted decimal.
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  return parts.every((p) => p <= 255) ? parts : undefined
}

function isPrivateV4([a, b]: number[]): boolean {
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b! >= 64 && b! <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) || a! >= 224
  )
}

function isPrivateV6(h: string): boolean {
  if (h === '::' || h === '::1') return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  if (mapped) return isPrivateV4(ipv4(mapped[1]!) ?? [0])
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(h)) return true // mapped, hex form
  const first = parseInt(h.split(':')[0] || '0', 16)
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00
}
