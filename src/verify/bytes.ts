import { base58, base64, base64urlnopad, hex } from '@scure/base'

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) out.set(p, o), (o += p.length)
  return out
}
export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Decoders that accept exactly one spelling per byte string: they decode, re-encode and compare,
 * which refuses stray padding bits, missing or extra padding and alternative alphabets. A
 * signature or key with two spellings would give one statement two ids.
 */
const strict =
  (codec: { encode(b: Uint8Array): string; decode(s: string): Uint8Array }) =>
  (s: string): Uint8Array | undefined => {
    try {
      const b = codec.decode(s)
      return codec.encode(b) === s ? b : undefined
    } catch {
      return undefined
    }
  }

export const decodeBase64 = strict(base64)
const B64URL = /^[A-Za-z0-9_-]*$/
const B64URL_VALUE = (c: number) => (c >= 97 ? c - 71 : c >= 65 ? c - 65 : c >= 48 ? c + 4 : c === 45 ? 62 : 63)

/**
 * Strict unpadded base64url without the re-encode: only the alphabet, no impossible length, and
 * the unused low bits of the last character zero. Equivalent to decode + re-encode + compare
 * (a test checks both agree), about twice as fast, and it runs once per statement signature.
 */
export function decodeBase64url(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 4 === 1 || !B64URL.test(s)) return undefined
  const unused = (s.length * 6) % 8
  if (unused && B64URL_VALUE(s.charCodeAt(s.length - 1)) & ((1 << unused) - 1)) return undefined
  try {
    return base64urlnopad.decode(s)
  } catch {
    return undefined
  }
}

/** The reference definition: decode, re-encode, compare. */
export const decodeBase64urlByReencode = strict(base64urlnopad)
export const decodeHex = strict(hex)
export const decodeBase58 = strict(base58)
export { base58, base64, base64urlnopad as base64url, hex }
