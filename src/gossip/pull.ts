import { configOf, statementsWithin, type RelayEnv } from '../config.ts'
import { heldIds } from '../store/statements.ts'
import { decodeStrictUtf8, formatSri, LIMITS, parseHashParam, parseJson, type Json } from '../verify/index.ts'
import { peerCaps } from './caps.ts'
import { copyFromTiles } from './catchup.ts'
import { failed, getPeerState, listPeers, putPeerState, succeeded, type PeerState } from './peers.ts'
import { peerFetch, storePulled } from './pulled.ts'
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
  /** Log entry bundles copied (catch-up from tiles, ./catchup.ts) before the feed pages. */
  bundles?: number
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
    const res = await peerFetch(env, url, PAGE_MAX_BYTES, report, init)
    if (res.status !== 200) throw new Error(`${new URL(url).pathname} answered HTTP ${res.status}`)
    return res.bytes
  }
  try {
    // Pages of at most the peer's pageMax (its plan) and our own (we ingest each page here), and
    // no more pages in a run than our CPU budget covers (one, on Workers Free).
    const config = configOf(env)
    // A peer's log first, while it is a bundle or more ahead; the feed pages read the partial tail.
    const tiles = await copyFromTiles(env, peer, self, state, report)
    state = tiles.state
    if (tiles.error) throw tiles.error
    const size = Math.min((await peerCaps(env, peer)).pageMax, config.pageMax)
    // Bundles left for the next round: this round's budget went on them.
    const pages = tiles.outcome === 'more' ? 0 : Math.max(1, Math.min(PAGES_PER_RUN, Math.floor(statementsWithin(config.cpuBudgetMs) / size)))
    for (let page = 0; page < pages; page++) {
      const idsPage = parseIdsPage(await get(`${peer}/v1/feed?view=ids&limit=${size}${state.cursor ? `&after=${encodeURIComponent(state.cursor)}` : ''}`))
      const held = await heldIds(env.DB, idsPage.ids)
      const missing = idsPage.ids.filter((id) => !held.has(id))
      if (missing.length) {
        const bodies = parseFeedPage(await get(`${peer}/v1/statements/lookup`, { method: 'POST', body: JSON.stringify({ ids: missing }) }), false)
        let deferred: number
        ;({ state, deferred } = await storePulled(env, peer, self, bodies.statements, report, state))
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
