import { base58, base64 as scureBase64, base64urlnopad, hex } from '@scure/base'

// One encoder for every call: it holds no state, and constructing one per call was a fifth of
// the cost of encoding a log entry in workerd.
const encoder = new TextEncoder()
export const utf8 = (s: string): Uint8Array => encoder.encode(s)
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

const tableOf = (alphabet: string) => {
  const t = new Int8Array(128).fill(-1)
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i
  return t
}
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const B64 = tableOf(`${LETTERS}+/`)
const B64URL = tableOf(`${LETTERS}-_`)

/**
 * Strict base64 in one pass, without the re-encode: only the alphabet, no impossible length,
 * padding exactly when `padded` and of the right length, and the unused low bits of the last
 * character zero. Equivalent to decode + re-encode + compare (tests check both agree on any
 * string) and several times faster: it runs for every signature, proof hash and SRI digest a
 * lockfile check reads.
 */
function decodeStrict(s: string, table: Int8Array, padded: boolean): Uint8Array | undefined {
  if (typeof s !== 'string') return undefined
  let n = s.length
  if (padded) {
    if (n % 4 !== 0) return undefined
    if (n > 0 && s.charCodeAt(n - 1) === 61) n -= s.charCodeAt(n - 2) === 61 ? 2 : 1
  } else if (n % 4 === 1) return undefined
  const out = new Uint8Array((n * 6) >> 3)
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    const v = c < 128 ? table[c]! : -1
    if (v < 0) return undefined
    acc = ((acc << 6) | v) & 0xfff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = acc >> bits
    }
  }
  return acc & ((1 << bits) - 1) ? undefined : out
}

export const decodeBase64 = (s: string): Uint8Array | undefined => decodeStrict(s, B64, true)

/** Strict unpadded base64url (see decodeStrict); it runs once per statement signature. */
export const decodeBase64url = (s: string): Uint8Array | undefined => decodeStrict(s, B64URL, false)

/** The reference definitions: decode, re-encode, compare. */
export const decodeBase64urlByReencode = strict(base64urlnopad)
export const decodeBase64ByReencode = strict(scureBase64)

/**
 * Base64 encoding in one pass (@scure/base's maps arrays of digits: its encode was a tenth of a
 * lockfile check, one per statement id). Tests check it against @scure/base on any bytes.
 */
const encoderOf = (alphabet: string, pad: boolean) => {
  const a = alphabet.split('')
  return (b: Uint8Array): string => {
    let out = ''
    let i = 0
    for (; i + 2 < b.length; i += 3) {
      const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!
      out += a[n >> 18]! + a[(n >> 12) & 63]! + a[(n >> 6) & 63]! + a[n & 63]!
    }
    if (b.length - i === 1) {
      const n = b[i]! << 16
      out += a[n >> 18]! + a[(n >> 12) & 63]! + (pad ? '==' : '')
    } else if (b.length - i === 2) {
      const n = (b[i]! << 16) | (b[i + 1]! << 8)
      out += a[n >> 18]! + a[(n >> 12) & 63]! + a[(n >> 6) & 63]! + (pad ? '=' : '')
    }
    return out
  }
}
const base64: typeof scureBase64 = { encode: encoderOf(`${LETTERS}+/`, true), decode: scureBase64.decode }
const base64url: typeof base64urlnopad = { encode: encoderOf(`${LETTERS}-_`, false), decode: base64urlnopad.decode }
export const decodeHex = strict(hex)
export const decodeBase58 = strict(base58)
export { base58, base64, base64url, hex }
