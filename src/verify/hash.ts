import { base64, hex, decodeBase64, decodeBase64url, decodeHex } from './bytes.ts'

/**
 * Hashes are Subresource Integrity strings (`sha256-<base64>`), the form npm's `integrity`
 * already uses. sha1 is admitted only so bridges can carry npm's legacy `shasum`.
 */
export const HASH_ALGORITHMS = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const
export type HashAlgorithm = keyof typeof HASH_ALGORITHMS

export interface Digest {
  alg: HashAlgorithm
  bytes: Uint8Array
}

const SRI = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$/

/** Parses a canonical SRI string (standard base64, padded), as it must appear inside statements. */
export function parseSri(s: string): Digest | undefined {
  const m = SRI.exec(s)
  if (!m) return undefined
  const alg = m[1] as HashAlgorithm
  const bytes = decodeBase64(m[2]!)
  return bytes && bytes.length === HASH_ALGORITHMS[alg] ? { alg, bytes } : undefined
}

export const looksLikeHash = (s: string): boolean => /^(sha1|sha256|sha384|sha512)[-:]/.test(s)

export const formatSri = (d: Digest): string => `${d.alg}-${base64.encode(d.bytes)}`

/**
 * Parses a hash as written in a URL. Accepted forms (docs/PROTOCOL.md, "Hashes in URLs"):
 * - SRI `sha256-<base64>` (percent-encoded in a URL, decoded by the router before this);
 * - SRI with the URL-safe alphabet and no padding, `sha256-<base64url>`;
 * - hex, OCI style, `sha256:<lowercase hex>`.
 */
export function parseHashParam(s: string): Digest | undefined {
  const sri = parseSri(s)
  if (sri) return sri
  const m = /^(sha1|sha256|sha384|sha512)([-:])(.+)$/.exec(s)
  if (!m) return undefined
  const alg = m[1] as HashAlgorithm
  const bytes = m[2] === ':' ? decodeHex(m[3]!) : decodeBase64url(m[3]!)
  return bytes && bytes.length === HASH_ALGORITHMS[alg] ? { alg, bytes } : undefined
}

export const hexForm = (d: Digest): string => `${d.alg}:${hex.encode(d.bytes)}`

export async function sha256(data: Uint8Array | ArrayBuffer): Promise<Digest> {
  return { alg: 'sha256', bytes: new Uint8Array(await crypto.subtle.digest('SHA-256', data)) }
}
