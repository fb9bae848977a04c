import { blobKey } from '../blobs/store.ts'
import { EQUIVOCATION_CLAIM, evidenceFromBlob, evidenceSource, parseSri, proveEquivocation, ProtocolError, type EvidenceSource, type VerifiedStatement } from '../verify/index.ts'
import { countBySubjectClaim } from './sharded.ts'
import { shardsOf } from './shards.ts'

/**
 * `log-equivocation` claims (PROTOCOL §6.12) at the gate. Every relay takes them whatever its
 * admission mode, because evidence that a relay forked its log is worth most exactly where that
 * relay's friends would not admit its accuser; in exchange each one must PROVE a fork before it
 * is stored, and a relay keeps a bounded number per log.
 */

/** Evidence statements kept per log (subject): a handful of independent proofs of one fork is plenty. */
export const EVIDENCE_PER_LOG = 16

/** Reads an evidence blob's bytes by SRI hash, or undefined when this relay does not hold it. */
export type EvidenceBlobReader = (hash: string) => Promise<Uint8Array | undefined>

/** Blobs from the relay's R2 bucket, never more than an evidence blob may be (the size is checked before reading). */
export const r2EvidenceReader =
  (bucket: R2Bucket, maxBytes: number): EvidenceBlobReader =>
  async (hash) => {
    const d = parseSri(hash)
    if (!d) return undefined
    const head = await bucket.head(blobKey(d))
    if (!head) return undefined
    if (head.size > maxBytes) return new Uint8Array(maxBytes + 1)
    const obj = await bucket.get(blobKey(d))
    return obj ? new Uint8Array(await obj.arrayBuffer()) : undefined
  }

export const isEvidenceItem = (item: unknown): boolean =>
  typeof item === 'object' && item !== null && !Array.isArray(item) && (item as { claim?: unknown }).claim === EQUIVOCATION_CLAIM

/**
 * Which verified evidence statements to refuse, by id, with why: those whose evidence does not
 * prove a fork, whose blob this relay lacks, or beyond `EVIDENCE_PER_LOG` for their log.
 */
export async function refusedEvidence(db: D1Database, candidates: readonly VerifiedStatement[], readBlob: EvidenceBlobReader | undefined): Promise<Map<string, ProtocolError>> {
  const out = new Map<string, ProtocolError>()
  const evidence = candidates.filter((v) => v.statement.claim === EQUIVOCATION_CLAIM)
  if (!evidence.length) return out
  const room = new Map<string, number>()
  for (const subject of new Set(evidence.map((v) => v.statement.subject))) {
    const shards = shardsOf(db)
    const row = shards
      ? { n: await countBySubjectClaim(db, shards, subject, EQUIVOCATION_CLAIM) }
      : await db.prepare('SELECT count(*) AS n FROM statements WHERE subject = ? AND claim = ?').bind(subject, EQUIVOCATION_CLAIM).first<{ n: number }>()
    room.set(subject, EVIDENCE_PER_LOG - (row?.n ?? 0))
  }
  // One verdict per distinct piece of evidence in a request: a batch of 1000 claims naming the
  // same blob (or carrying the same meta) reads and proves it once, not 1000 times.
  const verdicts = new Map<string, Promise<unknown>>()
  const judge = (subject: string, src: EvidenceSource): Promise<unknown> => {
    const k = JSON.stringify([subject, src])
    let p = verdicts.get(k)
    if (!p) verdicts.set(k, (p = prove(subject, src, readBlob)))
    return p
  }
  for (const v of evidence) {
    try {
      await judge(v.statement.subject, evidenceSource(v.statement))
      const left = room.get(v.statement.subject)!
      if (left <= 0) throw new ProtocolError('evidence_enough', `this relay already keeps ${EVIDENCE_PER_LOG} pieces of evidence against ${v.statement.subject}`)
      room.set(v.statement.subject, left - 1)
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e
      out.set(v.id, e)
    }
  }
  return out
}

async function prove(subject: string, src: EvidenceSource, readBlob: EvidenceBlobReader | undefined): Promise<void> {
  let ev
  if (src.kind === 'meta') ev = src.evidence
  else {
    const bytes = readBlob ? await readBlob(src.hash) : undefined
    if (!bytes) throw new ProtocolError('evidence_blob_missing', `this relay holds no blob ${src.hash}; upload the evidence blob (PUT /v1/blobs/…) before the claim that names it`)
    ev = await evidenceFromBlob(src.hash, bytes)
  }
  await proveEquivocation(subject, ev)
}
