import { createStatement, publish, query, sign, type PublishReport, type RequestOptions, type Signer } from '../client/index.ts'
import { canonicalize, LIMITS, type JsonObject, type Statement, type VerifiedStatement } from '../verify/index.ts'
import { mapLimit } from './http.ts'

/**
 * What every bridge does once it knows what the other system says: find what this bridge key has
 * already said about the same subjects (on the relays, verified), sign only what is new or
 * changed, and publish it. Idempotent: running a bridge twice publishes nothing the second time.
 */

/** A claim a bridge wants to make, before it is signed. */
export interface Claim {
  subject: string
  claim: string
  object?: string
  not?: true
  meta?: JsonObject
}

export interface BridgePublishOptions extends RequestOptions {
  relays: readonly string[]
  signer: Signer
  /** Relays that must take every statement; default 1. */
  quorum?: number
  /** Queries in flight at once when looking up what was already said; default 16. */
  concurrency?: number
  /** Sign and report, but publish nothing. */
  dryRun?: boolean
}

/** What a bridge key has said about one subject with one claim, newest first. */
export type Prior = Map<string, Statement[]>

/**
 * The bridge key's own statements (`actor`, by default the signer) with `claim` about each
 * subject, from the relays, verified by the client. Two ways, the cheaper first:
 *   - one scan of everything the key said with `claim` (pages of 1000), kept if it is short: at
 *     most 1000 statements or twice as many as there are subjects (a new key, whose scan is one
 *     empty page, or a key that bridges this package and a few others);
 *   - otherwise one query per subject, `concurrency` at a time (a key with a long history).
 * Both give the same statements; the scan just avoids a request per version.
 */
export async function priorStatements(subjects: readonly string[], claim: string, o: BridgePublishOptions, actor = o.signer.did): Promise<Prior> {
  const unique = [...new Set(subjects)]
  const wanted = new Set(unique)
  const prior: Prior = new Map(unique.map((s) => [s, []]))
  const ro = { timeoutMs: o.timeoutMs, signal: o.signal, fetch: o.fetch }
  const newestFirst = (a: Statement, b: Statement) => b.time - a.time || (a.not ? -1 : 0) - (b.not ? -1 : 0)
  if (unique.length > 1) {
    const scan = await query(o.relays, { actor, claim }, { ...ro, limit: Math.max(LIMITS.pageMax, 2 * unique.length) })
    if (!scan.relays.some((r) => r.truncated)) {
      for (const { statement } of scan.statements) if (wanted.has(statement.subject)) prior.get(statement.subject)!.push(statement)
      for (const list of prior.values()) list.sort(newestFirst)
      return prior
    }
  }
  const found = await mapLimit(unique, o.concurrency ?? 16, (subject) => query(o.relays, { actor, subject, claim }, { ...ro, limit: 10_000 }))
  unique.forEach((subject, i) => prior.set(subject, found[i]!.statements.map((s) => s.statement).sort(newestFirst)))
  return prior
}

const sameMeta = (a: JsonObject | undefined, b: JsonObject | undefined) => canonicalize(a ?? {}) === canonicalize(b ?? {})

/**
 * The statement in force for (subject, claim, object): the newest, and at equal times the
 * negative (the policy engine's rule, docs/POLICY.md rule 2).
 */
export function inForce(prior: Prior, c: Pick<Claim, 'subject' | 'claim' | 'object'>): Statement | undefined {
  return prior.get(c.subject)?.find((s) => s.claim === c.claim && s.object === c.object)
}

/** True when the bridge key's statement in force already says exactly this (polarity and meta). */
export function alreadySaid(prior: Prior, c: Claim): boolean {
  const s = inForce(prior, c)
  return s !== undefined && (s.not === true) === (c.not === true) && sameMeta(s.meta, c.meta)
}

/** Objects this key currently claims positively for the subject (not withdrawn by itself). */
export function standingObjects(prior: Prior, subject: string, claim: string): Statement[] {
  const seen = new Set<string | undefined>()
  const out: Statement[] = []
  for (const s of prior.get(subject) ?? []) {
    if (s.claim !== claim || seen.has(s.object)) continue
    seen.add(s.object)
    if (!s.not) out.push(s)
  }
  return out
}

export interface PublishOutcome {
  /** Signed statements, in the order of the claims given (already-said claims excluded). */
  statements: VerifiedStatement[]
  /** Per relay, merged over the batches. */
  relays: PublishReport[]
  /** Relays that took every batch. */
  took: number
}

/**
 * Signs the claims with the bridge key (each verified after signing, as a relay would) and
 * publishes them in batches of at most 1000. Signing happens for all claims before the first
 * POST, so a claim that cannot be signed (meta too large, a bad subject) publishes nothing.
 */
export async function signAndPublish(claims: readonly Claim[], o: BridgePublishOptions, time = Date.now()): Promise<PublishOutcome> {
  // Built (and shape-checked) first, so a bad claim fails before any signing; then signed several
  // at a time: WebCrypto signs and verifies off the main thread, so this uses every core.
  const unsigned = claims.map((c) => createStatement({ ...c, actor: o.signer.did, time }))
  const statements = await mapLimit(unsigned, 32, (u) => sign(u, o.signer))
  if (o.dryRun || statements.length === 0) return { statements, relays: [], took: 0 }
  const reports = new Map<string, PublishReport>()
  let took = Infinity
  for (let i = 0; i < statements.length; i += LIMITS.batchItems) {
    const r = await publish(o.relays, statements.slice(i, i + LIMITS.batchItems), { quorum: o.quorum, timeoutMs: o.timeoutMs, signal: o.signal, fetch: o.fetch })
    took = Math.min(took, r.took)
    for (const rep of r.relays) {
      const had = reports.get(rep.relay)
      reports.set(rep.relay, had ? { ...had, ok: had.ok && rep.ok, results: [...(had.results ?? []), ...(rep.results ?? [])], problem: had.problem ?? rep.problem } : rep)
    }
  }
  return { statements, relays: [...reports.values()], took }
}
