import type { RelayEnv } from '../env.ts'
import { fetchCapped } from '../http/outbound.ts'
import { ingest } from '../store/ingest.ts'
import { LIMITS, parseJson, type Json } from '../verify/index.ts'
import { allowPrivate, peerTimeoutMs, failed, getPeerState, listPeers, putPeerState, succeeded, type PeerState } from './peers.ts'
import { enqueuePush } from './push.ts'
import { stats } from './stats.ts'

/** A feed page of 1000 maximum-size statements is ~4.1 MB; allow some slack, no more. */
const PAGE_MAX_BYTES = 1000 * LIMITS.statementBytes + 65_536
/** Pages per peer per run, so one huge peer cannot eat the invocation's subrequest budget. */
const PAGES_PER_RUN = 50

export interface PullReport {
  peer: string
  skipped?: 'backoff'
  pages: number
  stored: number
  invalid: number
  bytes: number
  error?: string
}

/** One pull round: every peer not backing off, in parallel, each from its stored cursor. */
export async function pullAll(env: RelayEnv, self: string | undefined): Promise<PullReport[]> {
  const peers = await listPeers(env)
  return Promise.all(peers.map((p) => pullPeer(env, p, self)))
}

export async function pullPeer(env: RelayEnv, peer: string, self: string | undefined): Promise<PullReport> {
  const now = Date.now()
  let state: PeerState = await getPeerState(env, peer)
  const report: PullReport = { peer, pages: 0, stored: 0, invalid: 0, bytes: 0 }
  if (state.retryAt > now) return { ...report, skipped: 'backoff' }
  try {
    for (let page = 0; page < PAGES_PER_RUN; page++) {
      const url = `${peer}/v1/feed?limit=${LIMITS.pageMax}${state.cursor ? `&after=${encodeURIComponent(state.cursor)}` : ''}`
      const res = await fetchCapped(url, { timeoutMs: peerTimeoutMs(env), maxBytes: PAGE_MAX_BYTES, allowPrivate: allowPrivate(env) })
      if (res.status !== 200) throw new Error(`feed answered HTTP ${res.status}`)
      report.bytes += res.bytes.length
      stats.pullBytes += res.bytes.length
      const feed = parseFeedPage(res.bytes)
      const result = await ingest(env.DB, feed.statements, { now: Date.now(), skewMs: Number(env.MAX_FUTURE_SKEW_MS ?? LIMITS.futureSkewMs) })
      if (result.rejected) {
        const first = result.results.find((r) => r.status === 'rejected')
        console.warn(`peer ${peer} served ${result.rejected} invalid statements (first: ${first && 'error' in first ? first.error.code : '?'}); dropped`)
      }
      // Stored: only now may the cursor move past this page.
      state = { ...state, cursor: feed.cursor, pulled: state.pulled + result.accepted, invalid: state.invalid + result.rejected }
      report.pages++, report.stored += result.accepted, report.invalid += result.rejected
      stats.pullPages++, (stats.pulled += result.accepted), (stats.pullInvalid += result.rejected)
      if (result.fresh.length) await enqueuePush(env, result.fresh, new Set([peer, ...(self ? [self] : [])]))
      if (!feed.more) break
    }
    state = succeeded(state, now)
  } catch (e) {
    stats.pullFailures++
    report.error = (e as Error).message
    console.warn(`pull from ${peer} failed: ${report.error}`)
    state = failed(state, now, `pull: ${report.error}`)
  }
  // One KV write per peer per run (KV allows one write a second to a key).
  await putPeerState(env, peer, state)
  return report
}

interface FeedPage {
  statements: Json[]
  cursor: string
  more: boolean
}

/** A peer's page is hostile input like any other: strict JSON, exact shape, bounded. */
export function parseFeedPage(bytes: Uint8Array): FeedPage {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw new Error('feed page is not UTF-8')
  }
  const v = parseJson(text, { maxDepth: LIMITS.bodyDepth + 1 })
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('feed page is not an object')
  const { statements, cursor, more } = v as Record<string, Json>
  if (!Array.isArray(statements) || statements.length > LIMITS.pageMax) throw new Error('feed page has no valid statements array')
  if (typeof cursor !== 'string' || cursor.length > 256 || !/^[A-Za-z0-9._~-]*$/.test(cursor)) throw new Error('feed page has no valid cursor')
  if (typeof more !== 'boolean') throw new Error('feed page has no valid "more"')
  return { statements, cursor, more }
}
