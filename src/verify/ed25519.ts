import { base64url, concat } from './bytes.ts'

/**
 * Strict Ed25519 verification, the same verdict in every runtime.
 *
 * WebCrypto (BoringSSL in workerd, OpenSSL in Node) is fast but lenient: it accepts small-order
 * public keys and R values, which let one signature verify for many messages or keys. Relays and
 * clients that disagree about a signature split the network, so before calling WebCrypto we apply
 * libsodium's strict rules with plain byte checks (no curve arithmetic, so nearly free):
 *   - S must be canonical (S < L);
 *   - A and R must not be one of the small-order points (compared ignoring the sign bit);
 *   - A must be canonically encoded (y < p).
 * WebCrypto then does a cofactorless check, comparing the encoded R, which also refuses a
 * non-canonical R. This agrees with libsodium's `crypto_sign_verify_detached`, and the tests
 * check it against Wycheproof and ed25519-speccheck in workerd and in Node.
 */

/** Encodings of the points of order 1, 2, 4 and 8, with the sign bit cleared (from libsodium). */
const SMALL_ORDER = [
  // 0 (order 4)
  '0000000000000000000000000000000000000000000000000000000000000000',
  // 1 (order 1)
  '0100000000000000000000000000000000000000000000000000000000000000',
  // 2707385501144840649318225287225658788936804267575313519463743609750303402022 (order 8)
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  // 55188659117513257062467267217118295137698188065244968500265048394206261417927 (order 8)
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  // p - 1 (order 2)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // p, a non-canonical 0 (order 4)
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // p + 1, a non-canonical 1 (order 1)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16)))

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L = Uint8Array.from(
  'edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010'.match(/../g)!,
  (b) => parseInt(b, 16),
)

export function hasSmallOrder(point: Uint8Array): boolean {
  outer: for (const bad of SMALL_ORDER) {
    for (let i = 0; i < 31; i++) if (point[i] !== bad[i]) continue outer
    if ((point[31]! & 0x7f) === bad[31]) return true
  }
  return false
}

/** y < p, where p = 2^255 - 19; the sign bit is not part of y. */
export function isCanonicalPoint(point: Uint8Array): boolean {
  if ((point[31]! & 0x7f) !== 0x7f) return true
  for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true
  return point[0]! < 0xed
}

/** S < L, comparing little-endian from the most significant byte. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L[i]!) return true
    if (s[i]! > L[i]!) return false
  }
  return false
}

/** Why a key or signature is refused before any curve arithmetic, or undefined if it may be checked. */
export function weakKeyReason(publicKey: Uint8Array): string | undefined {
  if (publicKey.length !== 32) return 'public key is not 32 bytes'
  if (!isCanonicalPoint(publicKey)) return 'public key is not canonically encoded'
  if (hasSmallOrder(publicKey)) return 'public key has small order'
  return undefined
}

export function weakSignatureReason(signature: Uint8Array): string | undefined {
  if (signature.length !== 64) return 'signature is not 64 bytes'
  if (!isCanonicalScalar(signature.subarray(32))) return 'signature S is not below the group order'
  const r = signature.subarray(0, 32)
  if (!isCanonicalPoint(r)) return 'signature R is not canonically encoded'
  if (hasSmallOrder(r)) return 'signature R has small order'
  return undefined
}

const ALG = { name: 'Ed25519' } as const

/**
 * Imported keys are cached: importKey costs about as much as a verify, and a batch is often
 * many statements by one actor. Bounded so a flood of fresh keys cannot grow memory.
 */
const keyCache = new Map<string, Promise<CryptoKey | undefined>>()
const KEY_CACHE_MAX = 4096

function importPublicKey(publicKey: Uint8Array): Promise<CryptoKey | undefined> {
  const id = String.fromCharCode(...publicKey)
  let key = keyCache.get(id)
  if (!key) {
    key = crypto.subtle.importKey('raw', publicKey, ALG, false, ['verify']).then(
      (k) => k,
      () => undefined, // not a point on the curve
    )
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!)
    keyCache.set(id, key)
  }
  return key
}

/**
 * Returns true only for a valid signature under the strict rules above; false for any bad
 * signature, including one of the wrong length. Throws TypeError for arguments of the wrong type.
 */
export async function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  for (const [name, v] of [['signature', signature], ['message', message], ['publicKey', publicKey]] as const) {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  }
  if (weakKeyReason(publicKey) || weakSignatureReason(signature)) return false
  const key = await importPublicKey(publicKey)
  if (!key) return false
  try {
    return await crypto.subtle.verify(ALG, key, signature, message)
  } catch {
    return false
  }
}

/** PKCS#8 wrapper for a raw 32-byte Ed25519 seed (RFC 8410). */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])

export interface KeyPair {
  /** The 32-byte seed; keep it secret. */
  secretKey: Uint8Array
  publicKey: Uint8Array
}

export async function keyPairFromSeed(seed: Uint8Array): Promise<KeyPair> {
  if (!(seed instanceof Uint8Array)) throw new TypeError('seed must be a Uint8Array')
  if (seed.length !== 32) throw new RangeError('seed must be 32 bytes')
  const priv = await crypto.subtle.importKey('pkcs8', concat(PKCS8_PREFIX, seed), ALG, true, ['sign'])
  const jwk = (await crypto.subtle.exportKey('jwk', priv)) as JsonWebKey
  const publicKey = base64url.decode(jwk.x!)
  return { secretKey: seed.slice(), publicKey }
}

export function generateKeyPair(): Promise<KeyPair> {
  return keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32)))
}

const signKeys = new Map<string, Promise<CryptoKey>>()

export async function sign(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array')
  if (!(secretKey instanceof Uint8Array)) throw new TypeError('secretKey must be a Uint8Array')
  if (secretKey.length !== 32) throw new RangeError('secretKey must be a 32-byte seed')
  const id = String.fromCharCode(...secretKey)
  let key = signKeys.get(id)
  if (!key) {
    key = crypto.subtle.importKey('pkcs8', concat(PKCS8_PREFIX, secretKey), ALG, false, ['sign'])
    if (signKeys.size >= 64) signKeys.clear()
    signKeys.set(id, key)
  }
  return new Uint8Array(await crypto.subtle.sign(ALG, await key, message))
}

