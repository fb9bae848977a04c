import { ADMIT_CLAIM } from '../policy/index.ts'
import { LIMITS, ProtocolError, verifyStatement, type Json, type VerifiedStatement } from '../verify/index.ts'
import { forgetAdmitted } from './admission.ts'
import { refusedEvidence, type EvidenceBlobReader } from './evidence.ts'
import { charges, NOT_ADMITTED, overQuota, QUOTA_EXCEEDED, unadmitted, type GateConfig, type Origin } from './gate.ts'
import { insertStatements } from './statements.ts'
import { addUsage, dayOf } from './usage.ts'

export type { GateConfig, Origin } from './gate.ts'

export type ItemResult =
  | { index: number; id: string; status: 'accepted' | 'duplicate' }
  | { index: number; id?: string; status: 'rejected'; error: { code: string; message: string } }

export interface IngestResult {
  accepted: number
  duplicate: number
  rejected: number
  results: ItemResult[]
  /** The statements that were new to this relay, in input order. */
  fresh: VerifiedStatement[]
}

export interface IngestOptions {
  now: number
  skewMs?: number
  /** Who sent the batch: decides which budget pays and, on a closed relay, who is admitted. */
  origin: Origin
  /** Admission mode and quotas (the relay's config). */
  gate: GateConfig
  /**
   * Runs after every check passed and before the rows are written, with the statements about to
   * be stored (never called when there are none). If it throws, nothing is stored: a blob upload
   * that carries its statement stores the bytes here, so the two land together or not at all.
   */
  beforeInsert?: (toStore: readonly VerifiedStatement[]) => Promise<void>
  /** Where `log-equivocation` evidence blobs are read from; without it, evidence must be in meta. */
  readEvidenceBlob?: EvidenceBlobReader
}

const refusal = (code: string, message: string) => new ProtocolError(code, message)

/**
 * The one path by which statements enter storage, whoever sends them (a client, a pushing peer,
 * a pull from a peer's feed): admission first (no signature is checked for a key that may not
 * write here), then verification of every item, then the daily quotas, then one D1 batch.
 */
export async function ingest(db: D1Database, items: Json[], options: IngestOptions): Promise<IngestResult> {
  const { now, origin, gate } = options
  const refused = await unadmitted(db, items, gate, origin, now)
  const checked: (VerifiedStatement | ProtocolError)[] = await Promise.all(
    items.map((item, i) =>
      refused?.has(i)
        ? refusal(NOT_ADMITTED, `this relay's admission is "${gate.admission}" and the statement's actor is not admitted here`)
        : verifyStatement(item, { now, skewMs: options.skewMs ?? LIMITS.futureSkewMs }).catch((e: unknown) => {
            if (e instanceof ProtocolError) return e
            throw e
          }),
    ),
  )
  const badEvidence = await refusedEvidence(db, checked.filter((r): r is VerifiedStatement => !(r instanceof ProtocolError)), options.readEvidenceBlob)
  if (badEvidence.size) checked.forEach((r, i) => !(r instanceof ProtocolError) && badEvidence.has(r.id) && (checked[i] = badEvidence.get(r.id)!))
  const seen = new Set<string>()
  const candidates: VerifiedStatement[] = []
  for (const r of checked) {
    if (r instanceof ProtocolError || seen.has(r.id)) continue
    seen.add(r.id)
    candidates.push(r)
  }
  const over = await overQuota(db, candidates, gate, origin, now)
  const toStore = over.size ? candidates.filter((v) => !over.has(v.id)) : candidates
  if (toStore.length && options.beforeInsert) await options.beforeInsert(toStore)
  const inserted = await insertStatements(db, toStore)
  const fresh = toStore.filter((v) => inserted.has(v.id))
  // Only what was really stored is charged: a concurrent duplicate costs nothing either.
  await addUsage(db, charges(fresh, origin), dayOf(now))
  if (fresh.some((v) => v.statement.claim === ADMIT_CLAIM)) forgetAdmitted()
  const quotaMessage = origin.kind === 'peer' ? `peer ${origin.peer} has used its ${gate.peerStatementsPerDay} statements for today (UTC)` : `this actor has used its ${gate.quotaStatementsPerDay} statements for today (UTC)`
  const claimed = new Set<string>()
  const results: ItemResult[] = checked.map((r, index) => {
    if (r instanceof ProtocolError) return { index, status: 'rejected', error: { code: r.code, message: r.message } }
    if (over.has(r.id)) return { index, id: r.id, status: 'rejected', error: { code: QUOTA_EXCEEDED, message: quotaMessage } }
    const isNew = inserted.has(r.id) && !claimed.has(r.id)
    claimed.add(r.id)
    return { index, id: r.id, status: isNew ? 'accepted' : 'duplicate' }
  })
  const count = (s: ItemResult['status']) => results.filter((r) => r.status === s).length
  return { accepted: count('accepted'), duplicate: count('duplicate'), rejected: count('rejected'), results, fresh }
}
