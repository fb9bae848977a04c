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
export const decodeBase64url = strict(base64urlnopad)
export const decodeHex = strict(hex)
export const decodeBase58 = strict(base58)
export { base58, base64, base64urlnopad as base64url, hex }
