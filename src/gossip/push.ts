import type { RelayEnv } from '../config.ts'
import { fetchCapped } from '../net/index.ts'
import { LIMITS, type VerifiedStatement } from '../verify/index.ts'
import { peerHeaders } from './identity.ts'
import { allowPrivate, peerTimeoutMs, failed, getPeerState, listPeers, putPeerState } from './peers.ts'
import { stats } from './stats.ts'

/**
 * Pushed batches carry the relays that already hold them or are being sent them (space-separated
 * base URLs, the sender included). A receiver forwards only to peers not in that set, and adds its
 * own targets before forwarding: in a ring of three, a statement posted to A crosses A→B and A→C
 * and stops, instead of also crossing B→C and C→B. Relays do not trust this header for anything
 * but saving bandwidth: a peer that lies in it only slows its own statements, which pull repairs.
 */
export const SEEN_HEADER = 'x-vouch-seen'
const SEEN_MAX = 64

export function parseSeen(header: string | undefined): Set<string> {
  if (!header || header.length > 8192) return new Set()
  return new Set(header.split(' ').filter(Boolean).slice(0, SEEN_MAX))
}

/** Statements arriving within this window leave in one batch per peer. */
export const PUSH_DELAY_MS = 20
/** Forwarded pushes wait a further random 0–100 ms (see `holders`). */
const FORWARD_JITTER_MS = 100
/** A pushed request stays well under the receiver's body limit. */
const PUSH_CHUNK_BYTES = LIMITS.bodyBytes / 2

interface Group {
  env: RelayEnv
  seen: Set<string>
  items: { id: string; body: string }[]
}

const outbox = new Map<string, Group>()
let pending: Promise<void> | undefined

/**
 * Recently learnt holders: statement id → relays known to hold it (from the seen-sets of pushes
 * that carried it, duplicates included). In a ring two relays often receive a statement at once
 * from opposite sides and would each forward it to the other; a forwarded push waits a random
 * 20–120 ms, so usually one goes first and the other learns, before its own flush, that the first
 * already holds it. Bounded: the oldest entries go first.
 */
const holders = new Map<string, Set<string>>()
const HOLDERS_MAX = 20_000

export function noteHolders(ids: readonly string[], seen: ReadonlySet<string>): void {
  if (!seen.size) return
  for (const id of ids) {
    let set = holders.get(id)
    if (!set) {
      if (holders.size >= HOLDERS_MAX) holders.delete(holders.keys().next().value!)
      holders.set(id, (set = new Set()))
    }
    for (const r of seen) set.add(r)
  }
}

/**
 * Queues new statements for forwarding and returns the promise of the flush that will send them
 * (give it to `waitUntil`). Coalescing happens in the isolate: requests that land within
 * PUSH_DELAY_MS share one POST per peer.
 */
export function enqueuePush(env: RelayEnv, fresh: VerifiedStatement[], seen: Set<string>, forwarded = false): Promise<void> {
  const key = [...seen].sort().join(' ')
  let group = outbox.get(key)
  if (!group) outbox.set(key, (group = { env, seen, items: [] }))
  for (const v of fresh) group.items.push({ id: v.id, body: v.canonical })
  const delay = forwarded ? PUSH_DELAY_MS + Math.random() * FORWARD_JITTER_MS : PUSH_DELAY_MS
  pending ??= new Promise<void>((resolve) => setTimeout(resolve, delay)).then(flush)
  return pending
}

async function flush(): Promise<void> {
  pending = undefined // later arrivals start a new flush
  const groups = [...outbox.values()]
  outbox.clear()
  await Promise.all(groups.map(sendGroup))
}

function chunk(bodies: string[]): string[] {
  const chunks: string[] = []
  let cur: string[] = []
  let size = 0
  for (const b of bodies) {
    if (cur.length && (cur.length >= LIMITS.batchItems || size + b.length > PUSH_CHUNK_BYTES)) chunks.push(`[${cur.join(',')}]`), (cur = []), (size = 0)
    cur.push(b)
    size += b.length + 1
  }
  if (cur.length) chunks.push(`[${cur.join(',')}]`)
  return chunks
}

async function sendGroup({ env, seen, items }: Group): Promise<void> {
  const peers = (await listPeers(env, 'push')).filter((p) => !seen.has(p))
  if (!peers.length) return
  const header = [...new Set([...seen, ...peers])].slice(0, SEEN_MAX).join(' ')
  const now = Date.now()
  await Promise.all(
    peers.map(async (peer) => {
      const state = await getPeerState(env, peer)
      if (state.retryAt > now) return // backing off; the peer's pull will catch up
      const bodies = items.filter((it) => !holders.get(it.id)?.has(peer)).map((it) => it.body)
      if (!bodies.length) return
      const chunks = chunk(bodies)
      try {
        for (const body of chunks) {
          const url = `${peer}/v1/statements`
          const res = await fetchCapped(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', [SEEN_HEADER]: header, ...(await peerHeaders(env, 'POST', url, body)) },
            body,
            timeoutMs: peerTimeoutMs(env),
            maxBytes: 1 << 20,
            allowPrivate: allowPrivate(env),
          })
          if (res.status !== 200 && res.status !== 422) throw new Error(`HTTP ${res.status}`)
          stats.pushRequests++
        }
        stats.pushedStatements += bodies.length
      } catch (e) {
        stats.pushFailures++
        console.warn(`push to ${peer} failed: ${(e as Error).message}`)
        await putPeerState(env, peer, failed(state, now, `push: ${(e as Error).message}`))
      }
    }),
  )
}
