import { configOf, statementsWithin, type RelayEnv } from '../config.ts'
import { fetchCapped } from '../net/index.ts'
import { NOT_ADMITTED, TEMPORARY_REFUSALS } from '../store/gate.ts'
import { r2EvidenceReader } from '../store/evidence.ts'
import { ingest } from '../store/ingest.ts'
import { heldIds } from '../store/statements.ts'
import { decodeStrictUtf8, EVIDENCE_LIMITS, formatSri, LIMITS, parseHashParam, parseJson, type Json } from '../verify/index.ts'
import { peerHeaders } from './identity.ts'
import { peerCaps } from './caps.ts'
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
  /** Statements from keys this relay does not admit (dropped; the cursor moves past them). */
  refused: number
  /** Statements refused for now (a quota): the cursor stays before their page, to retry later. */
  deferred: number
  bytes: number
  error?: string
}

/**
 * One pull round: every peer not backing off, one after another (so what the first peer supplied
 * is not downloaded again from the second), each from its stored cursor, each request bounded by
 * the peer timeout.
 */
export async function pullAll(env: RelayEnv, self: string | undefined): Promise<PullReport[]> {
  const reports: PullReport[] = []
  for (const p of await listPeers(env, 'pull')) reports.push(await pullPeer(env, p, self))
  return reports
}

/**
 * Catch-up in two halves per page: the peer's ids after our cursor (~50 bytes each), then only the
 * statements we lack, fetched by id. A relay that missed a day moves about the bytes it missed
 * plus a few percent, not everything the peer holds.
 */
export async function pullPeer(env: RelayEnv, peer: string, self: string | undefined): Promise<PullReport> {
  const now = Date.now()
  let state: PeerState = await getPeerState(env, peer)
  const report: PullReport = { peer, pages: 0, stored: 0, invalid: 0, refused: 0, deferred: 0, bytes: 0 }
  if (state.retryAt > now) return { ...report, skipped: 'backoff' }
  const get = async (url: string, init?: { method: string; body: string }) => {
    const signed = await peerHeaders(env, init?.method ?? 'GET', url, init?.body)
    const res = await fetchCapped(url, {
      ...(init ? { method: init.method, body: init.body } : {}),
      headers: { ...(init ? { 'content-type': 'application/json' } : {}), ...signed },
      timeoutMs: peerTimeoutMs(env),
      maxBytes: PAGE_MAX_BYTES,
      allowPrivate: allowPrivate(env),
    })
    if (res.status !== 200) throw new Error(`${new URL(url).pathname} answered HTTP ${res.status}`)
    report.bytes += res.bytes.length
    stats.pullBytes += res.bytes.length
    return res.bytes
  }
  try {
    // Pages of at most the peer's pageMax (its plan) and our own (we ingest each page here), and
    // no more pages in a run than our CPU budget covers (one, on Workers Free).
    const config = configOf(env)
    const size = Math.min((await peerCaps(env, peer)).pageMax, config.pageMax)
    const pages = Math.max(1, Math.min(PAGES_PER_RUN, Math.floor(statementsWithin(config.cpuBudgetMs) / size)))
    for (let page = 0; page < pages; page++) {
      const idsPage = parseIdsPage(await get(`${peer}/v1/feed?view=ids&limit=${size}${state.cursor ? `&after=${encodeURIComponent(state.cursor)}` : ''}`))
      const held = await heldIds(env.DB, idsPage.ids)
      const missing = idsPage.ids.filter((id) => !held.has(id))
      if (missing.length) {
        const bodies = parseFeedPage(await get(`${peer}/v1/statements/lookup`, { method: 'POST', body: JSON.stringify({ ids: missing }) }), false)
        const result = await ingest(env.DB, bodies.statements, { now: Date.now(), skewMs: config.futureSkewMs, origin: { kind: 'peer', peer }, gate: config, readEvidenceBlob: r2EvidenceReader(env.BLOBS, EVIDENCE_LIMITS.blobBytes) })
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
        state = { ...state, pulled: state.pulled + result.accepted, invalid: state.invalid + invalid }
        if (result.fresh.length) await enqueuePush(env, result.fresh, new Set([peer, ...(self ? [self] : [])]))
        // Refused for now (a quota): the page is read again next round, so the cursor stays before
        // it. What this page did store is held by then, and only the deferred ids are fetched again.
        if (deferred) break
      }
      // Stored: only now may the cursor move past this page.
      state = { ...state, cursor: idsPage.cursor }
      report.pages++
      stats.pullPages++
      if (!idsPage.more) break
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

function parseObject(bytes: Uint8Array, what: string): Record<string, Json> {
  const text = decodeStrictUtf8(bytes)
  if (text === undefined) throw new Error(`${what} is not UTF-8 without a byte order mark`)
  const v = parseJson(text, { maxDepth: LIMITS.bodyDepth + 1 })
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not an object`)
  return v
}

const validCursor = (c: Json | undefined): c is string => typeof c === 'string' && c.length <= 256 && /^[A-Za-z0-9._~-]*$/.test(c)

/** A peer's page is hostile input like any other: strict JSON, exact shape, bounded. */
export function parseFeedPage(bytes: Uint8Array, paged = true): FeedPage {
  const { statements, cursor, more } = parseObject(bytes, 'feed page')
  if (!Array.isArray(statements) || statements.length > LIMITS.pageMax) throw new Error('feed page has no valid statements array')
  if (!paged) return { statements, cursor: '', more: false }
  if (!validCursor(cursor)) throw new Error('feed page has no valid cursor')
  if (typeof more !== 'boolean') throw new Error('feed page has no valid "more"')
  return { statements, cursor, more }
}

export function parseIdsPage(bytes: Uint8Array): { ids: string[]; cursor: string; more: boolean } {
  const { ids, cursor, more } = parseObject(bytes, 'ids page')
  if (!Array.isArray(ids) || ids.length > LIMITS.pageMax || !ids.every((i) => typeof i === 'string' && i.length <= 100)) throw new Error('ids page has no valid ids array')
  if (!validCursor(cursor)) throw new Error('ids page has no valid cursor')
  if (typeof more !== 'boolean') throw new Error('ids page has no valid "more"')
  const out: string[] = []
  for (const id of ids as string[]) {
    const d = parseHashParam(id)
    if (!d || d.alg !== 'sha256') throw new Error('ids page holds something that is not a statement id')
    out.push(formatSri(d))
  }
  return { ids: out, cursor, more }
}
