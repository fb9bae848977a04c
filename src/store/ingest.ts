import { LIMITS, ProtocolError, verifyStatement, type Json, type VerifiedStatement } from '../verify/index.ts'
import { insertStatements } from './statements.ts'

export type ItemResult =
  | { index: number; id: string; status: 'accepted' | 'duplicate' }
  | { index: number; status: 'rejected'; error: { code: string; message: string } }

export interface IngestResult {
  accepted: number
  duplicate: number
  rejected: number
  results: ItemResult[]
  /** The statements that were new to this relay, in input order. */
  fresh: VerifiedStatement[]
}

/**
 * The one path by which statements enter storage, whoever sends them (a client, a pushing peer,
 * a pull from a peer's feed): verify every item here, then store the valid ones in one D1 batch.
 */
export async function ingest(db: D1Database, items: Json[], options: { now: number; skewMs?: number }): Promise<IngestResult> {
  const checked = await Promise.all(
    items.map((item) =>
      verifyStatement(item, { now: options.now, skewMs: options.skewMs ?? LIMITS.futureSkewMs }).catch((e: unknown) => {
        if (e instanceof ProtocolError) return e
        throw e
      }),
    ),
  )
  const seen = new Set<string>()
  const toStore: VerifiedStatement[] = []
  for (const r of checked) {
    if (r instanceof ProtocolError || seen.has(r.id)) continue
    seen.add(r.id)
    toStore.push(r)
  }
  const inserted = await insertStatements(db, toStore)
  const claimed = new Set<string>()
  const results: ItemResult[] = checked.map((r, index) => {
    if (r instanceof ProtocolError) return { index, status: 'rejected', error: { code: r.code, message: r.message } }
    const isNew = inserted.has(r.id) && !claimed.has(r.id)
    claimed.add(r.id)
    return { index, id: r.id, status: isNew ? 'accepted' : 'duplicate' }
  })
  const count = (s: ItemResult['status']) => results.filter((r) => r.status === s).length
  return {
    accepted: count('accepted'),
    duplicate: count('duplicate'),
    rejected: count('rejected'),
    results,
    fresh: toStore.filter((v) => inserted.has(v.id)),
  }
}
