import { decodeDidKey, formatSri, hexForm, looksLikeHash, parseHashParam, parseSri } from '../verify/index.ts'
import { packageSubject } from '../client/index.ts'
import { usageError } from './errors.ts'

/**
 * A subject or object as a person types it: hashes in any URL form become canonical SRI,
 * `NAME@VERSION` becomes `pkg:generic/NAME@VERSION`, anything with a scheme (did:, pkg:, dns:,
 * https:) passes through unchanged.
 */
export function term(value: string): string {
  if (looksLikeHash(value)) {
    const d = parseHashParam(value)
    if (!d) throw usageError(`${JSON.stringify(value)} looks like a hash but is not one`, 'write sha256-<base64> (SRI) or sha256:<hex>')
    return formatSri(d)
  }
  if (/^[A-Za-z0-9][A-Za-z0-9._+-]*@[^@/:\s]+$/.test(value)) return packageSubject(value, 'required')
  return value
}

/** A package name argument; `version` as packageSubject. */
export function pkg(value: string, version: 'required' | 'forbidden' | 'optional'): string {
  try {
    return packageSubject(value, version)
  } catch (e) {
    throw usageError((e as Error).message)
  }
}

export function did(value: string, what = 'DID'): string {
  if (!decodeDidKey(value)) throw usageError(`${what} must be an Ed25519 did:key (did:key:z6Mk…), got ${JSON.stringify(value)}`, '`vouch key show` prints yours')
  return value
}

/** A hash argument in any form a person may paste, as canonical SRI. */
export function hash(value: string, what = 'HASH'): string {
  const d = parseHashParam(value)
  if (!d) throw usageError(`${what} is not a hash: ${JSON.stringify(value)}`, 'write sha256-<base64> (SRI) or sha256:<hex>')
  return formatSri(d)
}

/** An SRI sha256 as an OCI digest (`sha256:<hex>`), the form people and registries use; undefined for other hashes. */
export function ociDigest(sri: string): string | undefined {
  const d = parseSri(sri)
  return d && d.alg === 'sha256' ? hexForm(d) : undefined
}
