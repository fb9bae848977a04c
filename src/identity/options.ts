import type { ProofCache } from './cache.ts'
import { checkUrl } from './http.ts'

/**
 * How alias proofs are checked. Every field has a default, so `{}` checks against the public
 * internet; tests point the base URLs at loopback servers and set `allowPrivate`.
 */
export interface IdentityOptions {
  /** The fetch to use (default: the global one, looked up at call time). */
  fetch?: typeof fetch
  /** Deadline for one request, headers and body together. Default 5000 ms. */
  timeoutMs?: number
  /** Largest answer read, in bytes. Default 256 KiB. */
  maxBytes?: number
  /**
   * Permit plain http and loopback, private and link-local hosts (local tests only). Without it
   * every request is https to a public host, so an alias claimed on the network cannot make the
   * client probe its own LAN.
   */
  allowPrivate?: boolean
  /** Clock for expiry, in ms since the epoch. Default `Date.now`. */
  now?: () => number
  /** DNS-over-HTTPS JSON endpoint. Default https://cloudflare-dns.com/dns-query. */
  dohResolver?: string
  /** Where `github:NAME` keys live: `<githubBase>/NAME.keys`. Default https://github.com. */
  githubBase?: string
  /** Where `sourcehut:~NAME` keys live: `<sourcehutBase>/~NAME.keys`. Default https://meta.sr.ht. */
  sourcehutBase?: string
  /** Bluesky AppView for `bsky:HANDLE`. Default https://public.api.bsky.app. */
  bskyBase?: string
  /** Base URL per Forgejo host, for `forgejo:HOST/NAME`; a host not listed is `https://HOST`. */
  forgejoBases?: Readonly<Record<string, string>>
  /** Results are taken from and stored in this cache when given. */
  cache?: ProofCache
  /** Checks `checkAliases` runs at once. Default 8. */
  concurrency?: number
}

export interface ResolvedOptions {
  fetch: (url: string, init: RequestInit) => Promise<Response>
  timeoutMs: number
  maxBytes: number
  allowPrivate: boolean
  now: () => number
  dohResolver: string
  githubBase: string
  sourcehutBase: string
  bskyBase: string
  forgejoBases: ReadonlyMap<string, string>
  cache: ProofCache | undefined
  concurrency: number
}

export const DEFAULTS = {
  timeoutMs: 5000,
  maxBytes: 256 * 1024,
  dohResolver: 'https://cloudflare-dns.com/dns-query',
  githubBase: 'https://github.com',
  sourcehutBase: 'https://meta.sr.ht',
  bskyBase: 'https://public.api.bsky.app',
  concurrency: 8,
} as const

const intIn = (name: string, v: unknown, def: number, min: number, max: number): number => {
  if (v === undefined) return def
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number`)
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}`)
  return v
}

const fn = <T>(name: string, v: unknown): T | undefined => {
  if (v !== undefined && typeof v !== 'function') throw new TypeError(`${name} must be a function`)
  return v as T | undefined
}

/** A configured base URL: checked like any request URL, without a trailing slash. */
function base(name: string, v: unknown, def: string, allowPrivate: boolean): string {
  if (v === undefined) return def
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string`)
  try {
    checkUrl(v, allowPrivate)
  } catch (e) {
    throw new RangeError(`${name}: ${(e as Error).message}`)
  }
  if (/[?#]/.test(v)) throw new RangeError(`${name} must not have a query or fragment`)
  return v.replace(/\/+$/, '')
}

/** Checks options at the door: a wrong type is a TypeError, a wrong value a RangeError. */
export function resolveOptions(o: IdentityOptions = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object')
  if (o.allowPrivate !== undefined && typeof o.allowPrivate !== 'boolean') throw new TypeError('allowPrivate must be a boolean')
  const allowPrivate = o.allowPrivate ?? false
  const userFetch = fn<typeof fetch>('fetch', o.fetch)
  const now = fn<() => number>('now', o.now) ?? Date.now
  const forgejoBases = new Map<string, string>()
  if (o.forgejoBases !== undefined) {
    if (typeof o.forgejoBases !== 'object' || o.forgejoBases === null) throw new TypeError('forgejoBases must be an object')
    for (const [host, url] of Object.entries(o.forgejoBases)) {
      forgejoBases.set(host.toLowerCase(), base(`forgejoBases[${JSON.stringify(host)}]`, url, '', allowPrivate))
    }
  }
  if (o.cache !== undefined && (typeof o.cache !== 'object' || o.cache === null || typeof o.cache.get !== 'function')) {
    throw new TypeError('cache must be a ProofCache')
  }
  return {
    // Called as a plain function: Workers refuse a fetch invoked as a method of another object.
    fetch: userFetch ? (url, init) => userFetch(url, init) : (url, init) => globalThis.fetch(url, init),
    timeoutMs: intIn('timeoutMs', o.timeoutMs, DEFAULTS.timeoutMs, 1, 120_000),
    maxBytes: intIn('maxBytes', o.maxBytes, DEFAULTS.maxBytes, 1, 16 * 1024 * 1024),
    allowPrivate,
    now: () => {
      const t = now()
      if (!Number.isSafeInteger(t) || t < 0) throw new RangeError('now() must return a non-negative integer (ms since the epoch)')
      return t
    },
    dohResolver: base('dohResolver', o.dohResolver, DEFAULTS.dohResolver, allowPrivate),
    githubBase: base('githubBase', o.githubBase, DEFAULTS.githubBase, allowPrivate),
    sourcehutBase: base('sourcehutBase', o.sourcehutBase, DEFAULTS.sourcehutBase, allowPrivate),
    bskyBase: base('bskyBase', o.bskyBase, DEFAULTS.bskyBase, allowPrivate),
    forgejoBases,
    cache: o.cache,
    concurrency: intIn('concurrency', o.concurrency, DEFAULTS.concurrency, 1, 64),
  }
}
