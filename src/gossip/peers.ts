import { configOf, normalizePeerUrl, type RelayEnv } from '../config.ts'

export { normalizePeerUrl }

export const allowPrivate = (env: RelayEnv) => configOf(env).allowPrivatePeers

/** Timeout of every request to a peer (PEER_TIMEOUT_MS, default 10 s, at most 60 s). */
export const peerTimeoutMs = (env: RelayEnv) => configOf(env).peerTimeoutMs

const PEERS_KEY = 'gossip:peers'
const stateKey = (peer: string) => `gossip:peer:${peer}`

/**
 * Which peers gossip with this relay in a direction: `push` targets (PEERS, PUSH_PEERS), `pull`
 * sources (PEERS, PULL_PEERS), or `any` of them; peers added through the admin API (KV) are both.
 * A closed relay inside an organisation lists public relays in PULL_PEERS only: it reads from them
 * and never sends anything out.
 */
export type Direction = 'push' | 'pull' | 'any'

export async function listPeers(env: RelayEnv, direction: Direction = 'any'): Promise<string[]> {
  const managed = ((await env.CACHE.get<string[]>(PEERS_KEY, 'json')) ?? []) as string[]
  const c = configOf(env)
  const out = new Set<string>([...c.peers, ...(direction !== 'pull' ? c.pushOnlyPeers : []), ...(direction !== 'push' ? c.pullOnlyPeers : [])])
  for (const p of managed) {
    try {
      out.add(normalizePeerUrl(p, allowPrivate(env)))
    } catch (e) {
      console.warn(`ignoring peer ${JSON.stringify(p)}: ${(e as Error).message}`)
    }
  }
  return [...out]
}

export async function listManagedPeers(env: RelayEnv): Promise<string[]> {
  return ((await env.CACHE.get<string[]>(PEERS_KEY, 'json')) ?? []) as string[]
}

export async function setManagedPeers(env: RelayEnv, peers: string[]): Promise<void> {
  await env.CACHE.put(PEERS_KEY, JSON.stringify(peers))
}

/** What this relay remembers about a peer: where its feed was read up to, and its health. */
export interface PeerState {
  /** The peer's feed cursor after the last page stored here ("" = from the start). */
  cursor: string
  /** Consecutive failures; drives exponential back-off. */
  failures: number
  /** No request to this peer before this time (ms). */
  retryAt: number
  lastOk?: number
  lastError?: string
  /** Statements pulled and stored, and invalid ones dropped, over the relay's life. */
  pulled: number
  invalid: number
  /**
   * The last time the peer served log data that contradicts its own signed checkpoint (PROTOCOL
   * §6.10): what was wrong, the signed note and the bundle, for the operator. Its log is not read
   * for a day after (feed pages still are).
   */
  logFault?: { at: number; message: string; checkpoint: string; bundle?: number }
}

export const emptyState = (): PeerState => ({ cursor: '', failures: 0, retryAt: 0, pulled: 0, invalid: 0 })

export async function getPeerState(env: RelayEnv, peer: string): Promise<PeerState> {
  return { ...emptyState(), ...((await env.CACHE.get<PeerState>(stateKey(peer), 'json')) ?? {}) }
}

export async function putPeerState(env: RelayEnv, peer: string, state: PeerState): Promise<void> {
  await env.CACHE.put(stateKey(peer), JSON.stringify(state))
}

/** Back-off after n consecutive failures: 30 s, 1 min, 2 min, … capped at 1 hour. */
export const backoffMs = (failures: number) => Math.min(30_000 * 2 ** Math.max(0, failures - 1), 3_600_000)

export function failed(state: PeerState, now: number, error: string): PeerState {
  const failures = state.failures + 1
  return { ...state, failures, retryAt: now + backoffMs(failures), lastError: error }
}

export function succeeded(state: PeerState, now: number): PeerState {
  return { ...state, failures: 0, retryAt: 0, lastOk: now, lastError: undefined }
}
