import { decodeDidKey, formatSri, looksLikeHash, parseHashParam } from '../verify/index.ts'
import { actorHref, hashHref, packageHref } from './text.ts'

/** What a search box entry means: a page to go to, an alias to look up, or a reason it means nothing. */
export type SearchTarget =
  | { kind: 'empty' }
  | { kind: 'page'; href: string; term: string }
  | { kind: 'alias'; alias: string }
  | { kind: 'find'; query: NameQuery }
  | { kind: 'invalid'; message: string }

/** A name search: `mylib`, `mylib@1.0`, `mylib 1.0`, `@scope/name`. */
export interface NameQuery {
  /** What the index is keyed by: the last path segment, lower case. */
  name: string
  /** The path before the name (`@scope`, `owner`), lower case, matched against each package found. */
  scope?: string
  /** A version or version prefix. */
  version?: string
}

const ALIAS = /^[a-z][a-z0-9+.-]*:\S+$/
/** A bare package name as people type it: `mylib`, `mylib@1.2.3`, `@scope/name@1.0.0`. */
const BARE_PACKAGE = /^[^\s:?#]+$/
/** Hex or base58 alone: a key or hash typed without its prefix, which no package name index can answer. */
const BARE_KEY = /^(z6Mk[1-9A-HJ-NP-Za-km-z]{3,}|[0-9a-f]{32,})$/

const BARE_HEX_ALG: Record<number, string> = { 40: 'sha1', 64: 'sha256', 96: 'sha384', 128: 'sha512' }

/** `name`, `name@version`, `name version`, with an optional `scope/` before the name. */
export function parseNameQuery(q: string): NameQuery | undefined {
  const parts = q.split(/\s+/)
  if (parts.length > 2 || !parts.every((p) => BARE_PACKAGE.test(p))) return undefined
  let [path, version] = parts as [string, string | undefined]
  const at = path.lastIndexOf('@')
  if (version === undefined && at > 0 && at > path.lastIndexOf('/')) (version = path.slice(at + 1)), (path = path.slice(0, at))
  const slash = path.lastIndexOf('/')
  const name = path.slice(slash + 1).toLowerCase()
  const scope = slash > 0 ? path.slice(0, slash).toLowerCase() : undefined
  if (!name || version === '' || name.startsWith('@')) return undefined
  return { name, ...(scope ? { scope } : {}), ...(version ? { version } : {}) }
}

/**
 * Reads a search entry (docs: README "Explorer"): a did:key, a hash in any URL form, a purl, an
 * alias (`dns:example.org`, `github:alice`, `https://example.org`), or a package name to look up
 * in the names index across every purl type (`left-pad`, `mylib 1.0`, `mylib@1.0`, `@scope/name`).
 */
export function resolveSearch(raw: string): SearchTarget {
  let q = raw.trim()
  if (!q) return { kind: 'empty' }
  // A hash or key pasted without its prefix: bare hex of a known digest length, a bare z6Mk… key.
  const alg = BARE_HEX_ALG[q.length]
  if (alg && /^[0-9a-fA-F]+$/.test(q)) q = `${alg}:${q.toLowerCase()}`
  if (q.startsWith('z6Mk') && decodeDidKey(`did:key:${q}`)) q = `did:key:${q}`
  if (q.length > 1100) return { kind: 'invalid', message: 'that is longer than any subject can be (1024 bytes)' }
  if (q.startsWith('did:')) {
    return decodeDidKey(q) ? { kind: 'page', href: actorHref(q), term: q } : { kind: 'invalid', message: 'actors are Ed25519 keys written did:key:z6Mk… (56 characters); this is not one' }
  }
  if (looksLikeHash(q)) {
    const d = parseHashParam(q)
    if (!d) return { kind: 'invalid', message: 'not a hash in a known form: sha256-<base64>, sha256-<base64url> or sha256:<hex> (also sha1, sha384, sha512)' }
    const sri = formatSri(d)
    return { kind: 'page', href: hashHref(sri), term: sri }
  }
  if (q.startsWith('pkg:')) {
    if (!/^pkg:[a-z0-9.+-]+\/\S/.test(q)) return { kind: 'invalid', message: 'a package URL is pkg:<type>/<name>[@<version>], e.g. pkg:npm/left-pad@1.3.0' }
    return { kind: 'page', href: packageHref(q), term: q }
  }
  if (ALIAS.test(q)) return { kind: 'alias', alias: q }
  if (BARE_KEY.test(q)) return { kind: 'invalid', message: 'keys and hashes are found whole: did:key:z6Mk… (56 characters) or sha256:<64 hex>; a prefix of one is not searched' }
  const query = q.startsWith('/') ? undefined : parseNameQuery(q)
  if (query) return { kind: 'find', query }
  return { kind: 'invalid', message: 'search for a package (left-pad, mylib 1.2, mylib@1.2.3 or a pkg: URL), a hash, a did:key or an alias (dns:example.org)' }
}
