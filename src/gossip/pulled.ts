import { configOf, type RelayEnv } from '../config.ts'
import { fetchCapped, type Fetched } from '../net/index.ts'
import { NOT_ADMITTED, TEMPORARY_REFUSALS } from '../store/gate.ts'
import { ingest } from '../store/ingest.ts'
import { r2EvidenceReader } from '../store/evidence.ts'
import { EVIDENCE_LIMITS, type Json } from '../verify/index.ts'
import { peerHeaders } from './identity.ts'
import { allowPrivate, peerTimeoutMs, type PeerState } from './peers.ts'
import { enqueuePush } from './push.ts'
import { stats } from './stats.ts'
import type { PullReport } from './pull.ts'

/**
 * What the two ways of reading a peer (feed pages, and log bundles in ./catchup.ts) share: the
 * signed, capped request, and storing what was read through the one ingest path with the same
 * accounting. Kept apart so that neither reader imports the other.
 */

/** A signed request to a peer, its answer counted in the round's bytes whatever its status. */
export async function peerFetch(env: RelayEnv, url: string, maxBytes: number, report: PullReport, init?: { method: string; body: string }): Promise<Fetched> {
  const signed = await peerHeaders(env, init?.method ?? 'GET', url, init?.body)
  const res = await fetchCapped(url, {
    ...(init ? { method: init.method, body: init.body } : {}),
    headers: { ...(init ? { 'content-type': 'application/json' } : {}), ...signed },
    timeoutMs: peerTimeoutMs(env),
    maxBytes,
    allowPrivate: allowPrivate(env),
  })
  report.bytes += res.bytes.length
  stats.pullBytes += res.bytes.length
  return res
}

/**
 * Verifies and stores statements read from a peer, as a pull does (charged to the peer's budget),
 * updates the report and the peer's counters, and pushes what was new on to the other peers.
 * Returns how many were refused for now (a quota): the caller must not move its cursor past them.
 */
export async function storePulled(env: RelayEnv, peer: string, self: string | undefined, items: Json[], report: PullReport, state: PeerState): Promise<{ state: PeerState; deferred: number }> {
  const config = configOf(env)
  const result = await ingest(env.DB, items, { now: Date.now(), skewMs: config.futureSkewMs, origin: { kind: 'peer', peer }, gate: config, readEvidenceBlob: r2EvidenceReader(env.BLOBS, EVIDENCE_LIMITS.blobBytes) })
  const codes = result.results.flatMap((r) => (r.status === 'rejected' ? [r.error.code] : []))
  const deferred = codes.filter((c) => TEMPORARY_REFUSALS.has(c)).length
  const refused = codes.filter((c) => c === NOT_ADMITTED).length
  const invalid = codes.length - deferred - refused
  if (invalid) console.warn(`peer ${peer} served ${invalid} invalid statements (first: ${codes.find((c) => !TEMPORARY_REFUSALS.has(c) && c !== NOT_ADMITTED)}); dropped`)
  report.stored += result.accepted
  report.invalid += invalid
  report.refused += refused
  report.deferred += deferred
  stats.pulled += result.accepted
  stats.pullInvalid += invalid
  if (result.fresh.length) await enqueuePush(env, result.fresh, new Set([peer, ...(self ? [self] : [])]))
  return { state: { ...state, pulled: state.pulled + result.accepted, invalid: state.invalid + invalid }, deferred }
}
