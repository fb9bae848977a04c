import { decodeDidKey, formatSri, LIMITS, looksLikeHash, parseHashParam } from '../verify/index.ts'
import { ApiError } from '../http/errors.ts'
import { stats } from '../gossip/index.ts'

const bad = (code: string, message: string) => new ApiError(400, code, message)

/** Refuses query parameters the endpoint does not know: a typo must not widen a query to everything. */
export function checkKnownParams(query: Record<string, string[]>, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, vs] of Object.entries(query)) {
    if (!known.includes(k)) throw bad('unknown_parameter', `unknown query parameter ${JSON.stringify(k)}; known: ${known.join(', ')}`)
    if (vs.length !== 1) throw bad('repeated_parameter', `query parameter ${k} given ${vs.length} times`)
    out[k] = vs[0]!
  }
  return out
}

export function parseLimit(v: string | undefined): number {
  if (v === undefined) return LIMITS.pageDefault
  if (!/^[0-9]{1,4}$/.test(v) || Number(v) < 1 || Number(v) > LIMITS.pageMax) {
    throw bad('bad_limit', `limit must be an integer from 1 to ${LIMITS.pageMax}`)
  }
  return Number(v)
}

/**
 * A page size within the protocol's range (else 400), served at most at this relay's `pageMax`: a
 * shorter page with a cursor is an answer every client already handles, so a client written for
 * the protocol maximum still works against a relay on a small plan.
 */
export function pageLimit(v: string | undefined, pageMax: number): number {
  const asked = parseLimit(v)
  if (asked <= pageMax) return asked
  if (v !== undefined) stats.overCap++
  return pageMax
}

/** Cursors are opaque to clients; today they are the decimal arrival sequence number. */
export function parseCursor(v: string | undefined, name: string): number {
  if (v === undefined || v === '') return 0
  if (!/^[0-9]{1,15}$/.test(v)) throw bad('bad_cursor', `${name} is not a cursor this relay issued`)
  return Number(v)
}

/** A subject or object in a query: hashes may come in any documented URL form and are normalised to SRI. */
export function parseTermParam(v: string | undefined, name: string): string | undefined {
  if (v === undefined) return undefined
  if (v.length === 0) throw bad('bad_parameter', `${name} must not be empty`)
  if (looksLikeHash(v)) {
    const d = parseHashParam(v)
    if (!d) throw bad('bad_hash', `${name} is not a hash in a documented form (sha256-<base64>, sha256-<base64url>, sha256:<hex>)`)
    return formatSri(d)
  }
  return v
}

export function parseActorParam(v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  if (!decodeDidKey(v)) throw bad('bad_actor', 'actor must be an Ed25519 did:key')
  return v
}

/** A statement id in a path: any documented hash form, but it must be SHA-256. */
export function parseStatementId(v: string): string {
  const d = parseHashParam(v)
  if (!d || d.alg !== 'sha256') throw bad('bad_id', 'a statement id is a SHA-256 hash: sha256-<base64> (percent-encoded), sha256-<base64url> or sha256:<hex>')
  return formatSri(d)
}
