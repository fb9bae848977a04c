import { BridgeError } from './errors.ts'

/**
 * Nix's base-32 ("nix32"): the alphabet omits e, o, u and t (to avoid words), and the string is
 * written back to front. Character k (counting from the END of the string) holds bits 5k..5k+4
 * of the hash read as a little-endian bit string, i.e. bit b lives in byte b/8 at bit b%8. So the
 * first character of the string carries the highest bits, and for a 32-byte hash (256 bits in
 * 52 characters = 260 bits) its top four bits must be zero: only `0` or `1` may start a sha256.
 * Decoding refuses any string that does not re-encode to itself, so one hash has one spelling.
 */
export const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz'

const LOOKUP = new Map([...NIX32_ALPHABET].map((c, i) => [c, i]))

export const nix32Length = (bytes: number): number => Math.ceil((bytes * 8) / 5)

export function encodeNix32(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  const len = nix32Length(bytes.length)
  let out = ''
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5
    const i = b >> 3
    const j = b & 7
    const c = (bytes[i]! >> j) | (i + 1 < bytes.length ? bytes[i + 1]! << (8 - j) : 0)
    out += NIX32_ALPHABET[c & 0x1f]
  }
  return out
}

/** Decodes `s` into `size` bytes; throws BridgeError `bad_nix32` for anything but the one spelling. */
export function decodeNix32(s: string, size: number): Uint8Array {
  if (typeof s !== 'string') throw new TypeError('s must be a string')
  if (!Number.isSafeInteger(size) || size < 1 || size > 1024) throw new RangeError('size must be an integer from 1 to 1024')
  const bad = (why: string) => new BridgeError('malformed', 'bad_nix32', `not a nix base-32 hash of ${size} bytes (${why}): ${JSON.stringify(s.slice(0, 80))}`)
  if (s.length !== nix32Length(size)) throw bad(`${s.length} characters, expected ${nix32Length(size)}`)
  const out = new Uint8Array(size)
  for (let n = 0; n < s.length; n++) {
    const digit = LOOKUP.get(s[s.length - n - 1]!)
    if (digit === undefined) throw bad(`character ${JSON.stringify(s[s.length - n - 1])} is not in the alphabet`)
    const b = n * 5
    const i = b >> 3
    const j = b & 7
    out[i]! |= (digit << j) & 0xff
    const carry = digit >> (8 - j)
    if (i + 1 < size) out[i + 1]! |= carry
    else if (carry) throw bad('bits set beyond the end of the hash')
  }
  return out
}
