import type { RelayConfig } from '../config.ts'
import type { Json, VerifiedStatement } from '../verify/index.ts'
import { admitted } from './admission.ts'
import { isEvidenceItem } from './evidence.ts'
import { heldIds } from './statements.ts'
import { dayOf, usageOf } from './usage.ts'

/**
 * Who handed the relay a batch: a client (anyone), or a configured peer (a push authenticated by
 * the peer-signature middleware, or a pull this relay made from a peer it lists). Peers are
 * charged as a whole, never per actor: a peer relays other people's statements.
 */
export type Origin = { kind: 'client' } | { kind: 'peer'; peer: string }

/** The settings the gate reads (a slice of `RelayConfig`, so tests can pass just these). */
export type GateConfig = Pick<RelayConfig, 'admission' | 'operatorKeys' | 'admitDepth' | 'quotaStatementsPerDay' | 'peerStatementsPerDay'>

/** Refusal codes. `quota_exceeded` is temporary (retry tomorrow); `not_admitted` is not. */
export const NOT_ADMITTED = 'not_admitted'
export const QUOTA_EXCEEDED = 'quota_exceeded'
export const TEMPORARY_REFUSALS: ReadonlySet<string> = new Set([QUOTA_EXCEEDED, 'rate_limited'])

/** The usage-ledger name a peer's statements are charged to. */
export const peerLedgerKey = (peer: string) => `peer:${peer}`

/** Seconds until the next UTC midnight, when every daily quota starts again. */
export const secondsToNextDay = (now: number) => Math.max(1, Math.ceil((86_400_000 - (now % 86_400_000)) / 1000))

/**
 * Admission before verification: an item whose claimed actor may not write here is refused
 * without spending a signature check on it. It is refused whether or not the signature is good,
 * so believing the unverified actor field costs nothing: it can only refuse, never admit.
 * Returns the set of items (by index) to refuse, or undefined when the mode admits everyone.
 */
export async function unadmitted(db: D1Database, items: readonly Json[], config: GateConfig, origin: Origin, now: number): Promise<Set<number> | undefined> {
  if (config.admission === 'open') return undefined
  // A closed relay takes everything its configured peers bring (it chose them), and its own keys'.
  if (config.admission === 'closed' && origin.kind === 'peer') return undefined
  const allowed = config.admission === 'closed' ? new Set(config.operatorKeys) : await admitted(db, config.operatorKeys, config.admitDepth, now)
  const out = new Set<number>()
  items.forEach((item, i) => {
    const actor = typeof item === 'object' && item !== null && !Array.isArray(item) ? item.actor : undefined
    // Evidence of a forked log is taken from anyone: it must prove itself instead (store/evidence.ts).
    if ((typeof actor !== 'string' || !allowed.has(actor)) && !isEvidenceItem(item)) out.add(i)
  })
  return out
}

/**
 * Daily quotas: which of these verified, admitted, distinct statements may be stored now. Items
 * are charged in input order; those past the budget are returned as over quota. The store is
 * asked which items it already holds only when some budget would otherwise run out, because
 * duplicates cost nothing and most batches are far under quota (one read query saved per batch).
 */
export async function overQuota(db: D1Database, candidates: readonly VerifiedStatement[], config: GateConfig, origin: Origin, now: number): Promise<Set<string>> {
  const ledgerOf = (v: VerifiedStatement) => (origin.kind === 'peer' ? peerLedgerKey(origin.peer) : v.statement.actor)
  const quota = origin.kind === 'peer' ? config.peerStatementsPerDay : config.quotaStatementsPerDay
  const wanted = new Map<string, number>()
  for (const v of candidates) wanted.set(ledgerOf(v), (wanted.get(ledgerOf(v)) ?? 0) + 1)
  const used = await usageOf(db, [...wanted.keys()], dayOf(now))
  const left = new Map([...wanted.keys()].map((k) => [k, quota - (used.get(k)?.statements ?? 0)]))
  const over = new Set<string>()
  if ([...wanted].every(([k, n]) => n <= left.get(k)!)) return over
  const held = await heldIds(db, candidates.map((v) => v.id))
  for (const v of candidates) {
    if (held.has(v.id)) continue
    const k = ledgerOf(v)
    const n = left.get(k)!
    if (n > 0) left.set(k, n - 1)
    else over.add(v.id)
  }
  return over
}

/** What a batch adds to the ledger: each newly stored statement, per actor or to its peer. */
export function charges(stored: readonly VerifiedStatement[], origin: Origin): Map<string, { statements: number }> {
  const out = new Map<string, { statements: number }>()
  for (const v of stored) {
    const k = origin.kind === 'peer' ? peerLedgerKey(origin.peer) : v.statement.actor
    out.set(k, { statements: (out.get(k)?.statements ?? 0) + 1 })
  }
  return out
}
