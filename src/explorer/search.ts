import { decodeDidKey, formatSri, looksLikeHash, parseHashParam } from '../verify/index.ts'
import { actorHref, hashHref, packageHref } from './text.ts'

/** What a search box entry means: a page to go to, an alias to look up, or a reason it means nothing. */
export type SearchTarget =
  | { kind: 'empty' }
  | { kind: 'page'; href: string; term: string }
  | { kind: 'alias'; alias: string }
  | { kind: 'invalid'; message: string }

const ALIAS = /^[a-z][a-z0-9+.-]*:\S+$/
/** A bare package name as people type it: `mylib`, `mylib@1.2.3`, `@scope/name@1.0.0`. */
const BARE_PACKAGE = /^[^\s:?#]+$/

/**
 * Reads a search entry (docs: README "Explorer"): a did:key, a hash in any URL form, a purl, an
 * alias (`dns:example.org`, `github:alice`, `https://example.org`), or a bare `name@version`, which
 * is the generic purl `pkg:generic/name@version` (docs/PROTOCOL.md §2.3).
 */
export function resolveSearch(raw: string): SearchTarget {
  const q = raw.trim()
  if (!q) return { kind: 'empty' }
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
  if (BARE_PACKAGE.test(q) && !q.startsWith('/') && !q.endsWith('@')) {
    const purl = `pkg:generic/${q}`
    return { kind: 'page', href: packageHref(purl), term: purl }
  }
  return { kind: 'invalid', message: 'search for a package (mylib@1.2.3 or a pkg: URL), a hash, a did:key or an alias (dns:example.org)' }
}
