import type { RelayEnv } from '../config.ts'
import { fetchCapped } from '../net/index.ts'
import { decodeStrictUtf8, isDidKey, LIMITS, parseCosignerKey, parseVerifierKey } from '../verify/index.ts'
import { allowPrivate, peerTimeoutMs } from './peers.ts'

/**
 * A peer's advertised caps (PROTOCOL §6.7): at most `batchItems` statements in each push, and at
 * most `pageMax` ids in each feed page and lookup. A relay on a small plan (Workers Free: 10 ms
 * of CPU a request) advertises small ones; a push or page over them would fail there every time.
 */
export interface PeerCaps {
  batchItems: number
  pageMax: number
}

/** What a peer that does not say gets: the protocol maxima, which every relay before caps served. */
export const DEFAULT_CAPS: PeerCaps = { batchItems: LIMITS.batchItems, pageMax: LIMITS.pageMax }

/**
 * What this relay reads from a peer's /.well-known/vouch: its caps, and the key it signs its
 * requests with (§6.7: how a signed request is recognised as this peer's). One document, one
 * fetch, one KV entry for both.
 */
export interface PeerInfo {
  caps: PeerCaps
  /** The peer's did:key, when it publishes one. */
  key?: string
  /** The peer's log (origin and note verifier key), when it publishes one: what this relay witnesses. */
  log?: { origin: string; verifierKey: string }
  /** The peer's witness (its cosigner vkey), when it runs one: where this relay's checkpoints go to be cosigned. */
  witness?: { verifierKey: string }
}

/** An hour: caps change only when the operator changes the plan (a 413 forgets them at once), keys when the operator rotates one. */
const INFO_TTL_S = 3600
/** /.well-known/vouch lists the relay's peers and counters too; this is ample, and bounded. */
const INFO_MAX_BYTES = 256 * 1024
const infoKey = (peer: string) => `gossip:peer-info:${peer}`

/**
 * A cap as the peer wrote it, bounded by the protocol maximum. Anything that is not a whole
 * number from 1 up is ignored (the default stands): a peer cannot make us send zero-sized pages.
 */
function capOf(v: unknown, max: number): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? Math.min(v, max) : max
}

/** The caps and key in a peer's /.well-known/vouch answer; throws when the answer is not a JSON object. */
export function parsePeerInfo(bytes: Uint8Array): PeerInfo {
  const text = decodeStrictUtf8(bytes)
  if (text === undefined) throw new Error('/.well-known/vouch is not UTF-8')
  // Not the statement parser: this document may hold any JSON (fractions in counters, say), and
  // the answer is already capped at INFO_MAX_BYTES. Only the caps and the key are believed.
  const info: unknown = JSON.parse(text)
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new Error('/.well-known/vouch is not an object')
  const { limits, key, log, witness } = info as { limits?: unknown; key?: unknown; log?: unknown; witness?: unknown }
  const out: PeerInfo = { caps: DEFAULT_CAPS }
  if (typeof key === 'string' && isDidKey(key)) out.key = key
  // Kept only when well-formed, and a log only when its key is named by its origin (as vouch logs are).
  const field = (o: unknown, k: string) => (typeof o === 'object' && o !== null && typeof (o as Record<string, unknown>)[k] === 'string' ? ((o as Record<string, unknown>)[k] as string) : undefined)
  const origin = field(log, 'origin')
  const logKey = field(log, 'verifierKey')
  if (origin && logKey && origin.length <= 1024 && parseVerifierKey(logKey)?.name === origin) out.log = { origin, verifierKey: logKey }
  const witnessKey = field(witness, 'verifierKey')
  if (witnessKey && parseCosignerKey(witnessKey)) out.witness = { verifierKey: witnessKey }
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) return out
  const { batchItems, pageMax } = limits as Record<string, unknown>
  out.caps = { batchItems: capOf(batchItems, LIMITS.batchItems), pageMax: capOf(pageMax, LIMITS.pageMax) }
  return out
}

/** The caps alone (tests and callers that have the bytes). */
export const parseCaps = (bytes: Uint8Array): PeerCaps => parsePeerInfo(bytes).caps

/**
 * The peer's caps and key: from KV when fetched within the hour, else from its /.well-known/vouch
 * through the outbound door. A peer that cannot be asked gets the default caps and no key,
 * uncached: the push or pull that follows fails the same way and backs off, and the next attempt
 * asks again.
 */
export async function peerInfo(env: RelayEnv, peer: string): Promise<PeerInfo> {
  const cached = await env.CACHE.get<PeerInfo>(infoKey(peer), 'json')
  if (cached) return cached
  let info: PeerInfo
  try {
    const res = await fetchCapped(`${peer}/.well-known/vouch`, { timeoutMs: peerTimeoutMs(env), maxBytes: INFO_MAX_BYTES, allowPrivate: allowPrivate(env) })
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
    info = parsePeerInfo(res.bytes)
  } catch (e) {
    console.warn(`/.well-known/vouch of ${peer} unreadable (${(e as Error).message}); using the protocol maxima and no key`)
    return { caps: DEFAULT_CAPS }
  }
  await env.CACHE.put(infoKey(peer), JSON.stringify(info), { expirationTtl: INFO_TTL_S })
  return info
}

export const peerCaps = async (env: RelayEnv, peer: string): Promise<PeerCaps> => (await peerInfo(env, peer)).caps

/** Called when a peer refuses a request as too large (413): its caps changed; ask again next time. */
export async function forgetPeerCaps(env: RelayEnv, peer: string): Promise<void> {
  await env.CACHE.delete(infoKey(peer))
}
