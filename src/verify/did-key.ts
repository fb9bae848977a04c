import { base58, concat, decodeBase58 } from './bytes.ts'

/** Multicodec varint for an Ed25519 public key (0xed), as did:key uses. */
const ED25519_PUB = new Uint8Array([0xed, 0x01])
const PREFIX = 'did:key:z'

/**
 * Decoded keys, by did string. base58 decoding with its strict re-encode costs ~25 µs, and a
 * batch is usually many statements by a few actors. Bounded; holds only valid keys.
 */
const cache = new Map<string, Uint8Array>()
const CACHE_MAX = 4096

/** An actor is its Ed25519 public key, written `did:key:z6Mk…` (multibase base58btc). */
export function decodeDidKey(did: string): Uint8Array | undefined {
  const hit = cache.get(did)
  if (hit) return hit.slice()
  if (typeof did !== 'string' || !did.startsWith(PREFIX) || did.length !== PREFIX.length + 47) return undefined
  const bytes = decodeBase58(did.slice(PREFIX.length))
  if (!bytes || bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) return undefined
  const key = bytes.slice(2)
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!)
  cache.set(did, key)
  return key.slice()
}

export function encodeDidKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array')
  if (publicKey.length !== 32) throw new RangeError('publicKey must be 32 bytes')
  return PREFIX + base58.encode(concat(ED25519_PUB, publicKey))
}

export const isDidKey = (s: string): boolean => decodeDidKey(s) !== undefined
