import { configOf, type RelayEnv } from '../config.ts'
import type { VerifiedStatement } from '../verify/index.ts'
import { normalizePeerUrl } from './peers.ts'
import { enqueuePush, noteHolders, parseSeen, SEEN_HEADER } from './push.ts'
import { stats } from './stats.ts'

export { listPeers, getPeerState, setManagedPeers, listManagedPeers, normalizePeerUrl } from './peers.ts'
export { pullAll } from './pull.ts'
export { noteHolders, parseSeen, SEEN_HEADER } from './push.ts'
export { stats } from './stats.ts'

/** This relay's base URL as peers know it: configured, or else the origin the request came to. */
export function selfUrl(env: RelayEnv, requestUrl?: string): string | undefined {
  const configured = configOf(env).relayUrl
  if (configured || !requestUrl) return configured
  try {
    return normalizePeerUrl(new URL(requestUrl).origin, true)
  } catch {
    return undefined
  }
}

/**
 * Bookkeeping for a POST that came from a pushing peer (it carries `X-Vouch-Seen`): delivery
 * counters, and the relays now known to hold every statement it carried, new or duplicate.
 */
export function receivedPush(seenHeader: string, ids: readonly string[], received: number, fresh: number): void {
  stats.pushReceived += received
  stats.pushReceivedRequests++
  stats.pushReceivedNew += fresh
  noteHolders(ids, parseSeen(seenHeader))
}

/**
 * Called after a POST stored new statements: forward them to every peer that has not seen them.
 * `seenHeader` is set when the POST came from a pushing peer.
 */
export function afterAccept(env: RelayEnv, fresh: VerifiedStatement[], o: { seenHeader?: string; self?: string }): Promise<void> {
  const seen = parseSeen(o.seenHeader)
  if (o.self) seen.add(o.self)
  return enqueuePush(env, fresh, seen, o.seenHeader !== undefined)
}
