import { configOf, type RelayEnv } from '../config.ts'
import { fetchCapped } from '../net/index.ts'
import { decodeStrictUtf8, encodeDidKey, isDidKey, keyPairFromSeed, parseJson, signRequest, utf8 } from '../verify/index.ts'
import { allowPrivate, listPeers, peerTimeoutMs } from './peers.ts'

/**
 * The relay's identity among relays: its Ed25519 key (RELAY_KEY) signs every request it makes to a
 * peer (RFC 9421, `src/verify/http-signature.ts`), and a receiving relay recognises the key as one
 * of its configured peers' by reading each peer's `/.well-known/vouch` (`key`) over the peer's own
 * URL. So "A lists B" is all the configuration peering needs: the URL names the relay, the key
 * proves a request came from it.
 */

export interface RelayIdentity {
  did: string
  secretKey: Uint8Array
}

const identities = new WeakMap<Uint8Array, Promise<RelayIdentity>>()

/** This relay's key as a did:key, or undefined when RELAY_KEY is not set (an anonymous relay). */
export function relayIdentity(env: RelayEnv): Promise<RelayIdentity | undefined> {
  const seed = configOf(env).relayKey
  if (!seed) return Promise.resolve(undefined)
  let id = identities.get(seed)
  if (!id) {
    id = keyPairFromSeed(seed).then((kp) => ({ did: encodeDidKey(kp.publicKey), secretKey: kp.secretKey }))
    identities.set(seed, id)
  }
  return id
}

/** Signature headers for a request to a peer (none when this relay has no key). */
export async function peerHeaders(env: RelayEnv, method: string, url: string, body?: string): Promise<Record<string, string>> {
  const me = await relayIdentity(env)
  return me ? signRequest({ method, url, body: body === undefined ? undefined : utf8(body) }, me) : {}
}

/** A peer's key is re-read after this long (a relay may rotate its key). */
const PEER_KEY_TTL_S = 3600
/** The answer of a well-known document is small; a peer that sends more is not one. */
const WELL_KNOWN_MAX_BYTES = 64 * 1024
const keyKv = (peer: string) => `gossip:peer-key:${peer}`

/** The did:key a peer publishes at its `/.well-known/vouch`, cached in KV; undefined if it has none. */
export async function peerKey(env: RelayEnv, peer: string): Promise<string | undefined> {
  const cached = await env.CACHE.get(keyKv(peer))
  if (cached !== null) return cached || undefined
  let key = ''
  try {
    const res = await fetchCapped(`${peer}/.well-known/vouch`, { timeoutMs: peerTimeoutMs(env), maxBytes: WELL_KNOWN_MAX_BYTES, allowPrivate: allowPrivate(env) })
    const text = res.status === 200 ? decodeStrictUtf8(res.bytes) : undefined
    const doc = text === undefined ? undefined : parseJson(text, { maxDepth: 8 })
    const k = doc && typeof doc === 'object' && !Array.isArray(doc) ? doc.key : undefined
    if (typeof k === 'string' && isDidKey(k)) key = k
  } catch (e) {
    console.warn(`could not read the key of peer ${peer}: ${(e as Error).message}`)
    return undefined // not cached: try again next time
  }
  await env.CACHE.put(keyKv(peer), key, { expirationTtl: PEER_KEY_TTL_S })
  return key || undefined
}

/** Per isolate: which configured peer each key belongs to, rebuilt at most once a minute. */
const PEER_MAP_MS = 60_000
const peerMaps = new WeakMap<object, { at: number; map: Promise<Map<string, string>> }>()

/**
 * The configured peer (its URL) whose key is `did`, or undefined. Reads the keys of every
 * configured peer (any direction, admin-managed ones included) from KV, fetching missing ones: the
 * fetches go only to URLs the operator configured, at most once a minute per isolate, whatever
 * keys anonymous requests claim.
 */
export async function configuredPeerOf(env: RelayEnv, did: string, now = Date.now()): Promise<string | undefined> {
  let m = peerMaps.get(env)
  if (!m || now - m.at > PEER_MAP_MS) {
    const map = listPeers(env, 'any').then(async (peers) => {
      const keys = await Promise.all(peers.map((p) => peerKey(env, p)))
      return new Map(peers.flatMap((p, i) => (keys[i] ? [[keys[i]!, p] as [string, string]] : [])))
    })
    map.catch(() => peerMaps.delete(env))
    m = { at: now, map }
    peerMaps.set(env, m)
  }
  return (await m.map).get(did)
}

/** Forget the per-isolate map (the admin API changed the peers). */
export const forgetPeerKeys = (env: RelayEnv) => peerMaps.delete(env)
