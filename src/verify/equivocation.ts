import { base64, decodeBase64, equalBytes, utf8 } from './bytes.ts'
import { ProtocolError } from './errors.ts'
import { parseSri, sha256 } from './hash.ts'
import { parseJson, type Json } from './json.ts'
import { openNote, parseCheckpoint, parseVerifierKey, type Checkpoint } from './note.ts'
import type { Statement } from './statement.ts'
import { checkSize, HASH_SIZE, rebuildConsistency, type SubtreeHash } from './tlog.ts'

export { rebuildConsistency } from './tlog.ts'

/**
 * Equivocation as portable evidence (PROTOCOL §5, §6.12): two checkpoints signed by one log key
 * that no honest log could have signed both of. Pure; whoever holds the evidence, a relay or a
 * client, decides the same way without asking anyone.
 *
 * A failed consistency proof proves nothing (anyone can send garbage hashes). What proves a fork
 * is a proof that DOES rebuild the larger signed root, and from the same hashes rebuilds a root
 * for the first m leaves other than the smaller signed one: by collision resistance those hashes
 * are the larger tree's own nodes, so its first m leaves are not the tree the smaller checkpoint
 * signed.
 */

export const EQUIVOCATION_CLAIM = 'log-equivocation'

export const EVIDENCE_LIMITS = {
  /** Bytes of one checkpoint note in evidence (a checkpoint is a few hundred; cosignature lines may be kept). */
  noteBytes: 8192,
  /** Hashes of the proof: RFC 6962 consistency proofs of 2^63-leaf trees need fewer. */
  proofHashes: 128,
  /** Bytes of an evidence blob (the canonical JSON of the evidence). */
  blobBytes: 64 * 1024,
} as const

/** The two signed notes, the smaller tree first, and the proof hashes (base64), as published. */
export interface Evidence {
  checkpoints: [string, string]
  proof: string[]
}

export interface ProvenEquivocation {
  origin: string
  verifierKey: string
  small: Checkpoint
  big: Checkpoint
  /** `same-size`: two roots for one size; `inconsistent`: the big tree does not extend the small one. */
  kind: 'same-size' | 'inconsistent'
}

const bad = (message: string): never => {
  throw new ProtocolError('bad_evidence', message)
}
const unproven = (message: string): never => {
  throw new ProtocolError('unproven_equivocation', message)
}

/** Reads evidence strictly: exactly `checkpoints` (two notes) and `proof` (32-byte base64 hashes). */
export function ensureEvidence(value: unknown): Evidence {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('evidence must be an object {checkpoints, proof}')
  const o = value as Record<string, unknown>
  for (const k of Object.keys(o)) if (k !== 'checkpoints' && k !== 'proof') bad(`unknown evidence field ${JSON.stringify(k)}`)
  const cps = o.checkpoints
  if (!Array.isArray(cps) || cps.length !== 2 || !cps.every((n) => typeof n === 'string' && n.length > 0 && utf8(n).length <= EVIDENCE_LIMITS.noteBytes)) {
    return bad(`checkpoints must be two signed checkpoint notes of at most ${EVIDENCE_LIMITS.noteBytes} bytes each`)
  }
  const proof = o.proof
  if (!Array.isArray(proof) || proof.length > EVIDENCE_LIMITS.proofHashes) return bad(`proof must be an array of at most ${EVIDENCE_LIMITS.proofHashes} hashes`)
  for (const p of proof) if (typeof p !== 'string' || decodeBase64(p)?.length !== HASH_SIZE) bad('each proof hash must be 32 bytes in padded base64')
  return { checkpoints: [cps[0] as string, cps[1] as string], proof: proof as string[] }
}


/** The evidence path for (m, n) from the larger tree's hashes: the RFC 6962 proof, led by the m-subtree root when m is a power of two. */
export async function evidencePath(m: number, n: number, proof: readonly Uint8Array[], h: SubtreeHash): Promise<Uint8Array[]> {
  checkSize('m', m)
  const level = Math.round(Math.log2(m))
  return m > 0 && 2 ** level === m ? [await h(level, 0), ...proof] : [...proof]
}

/**
 * Whether `evidence` proves that the log whose note verifier key is `verifierKey` signed two
 * inconsistent checkpoints. Returns what it proves; throws ProtocolError `bad_evidence` (malformed)
 * or `unproven_equivocation` (well-formed, but proves nothing).
 */
export async function proveEquivocation(verifierKey: string, evidence: Evidence): Promise<ProvenEquivocation> {
  const verifier = parseVerifierKey(verifierKey) ?? bad('the subject must be the log\'s note verifier key, <name>+<8 hex key hash>+<base64(0x01 ‖ key)>')
  const cps: Checkpoint[] = []
  for (const [i, note] of evidence.checkpoints.entries()) {
    const opened = await openNote(note, verifier).catch((e: unknown) => bad(`checkpoint ${i + 1}: ${(e as Error).message}`))
    if (!opened.verified) unproven(`checkpoint ${i + 1} is not signed by ${verifierKey}`)
    cps.push(parseCheckpoint(opened.text) ?? bad(`checkpoint ${i + 1} is not a checkpoint (origin, size, root)`))
  }
  const [small, big] = cps as [Checkpoint, Checkpoint]
  if (small.origin !== big.origin) unproven(`the checkpoints are of two logs (${small.origin}, ${big.origin})`)
  if (small.size > big.size) bad('put the checkpoint of the smaller tree first')
  const proof = evidence.proof.map((p) => decodeBase64(p)!)
  const proven = (kind: ProvenEquivocation['kind']): ProvenEquivocation => ({ origin: small.origin, verifierKey, small, big, kind })
  if (small.size === big.size) {
    if (proof.length) bad('two checkpoints of one size need no proof; send an empty one')
    return equalBytes(small.root, big.root) ? unproven('the two checkpoints sign the same tree') : proven('same-size')
  }
  if (small.size === 0) unproven('the empty tree is a prefix of every tree')
  const r = rebuildConsistency(small.size, big.size, proof) ?? unproven(`the proof has the wrong number of hashes for trees of ${small.size} and ${big.size} leaves`)
  if (!equalBytes(r.newRoot, big.root)) unproven(`the proof does not rebuild the signed root of ${big.size} leaves, so it proves nothing`)
  if (equalBytes(r.oldRoot, small.root)) unproven(`the tree of ${big.size} leaves extends the tree of ${small.size}: the checkpoints are consistent`)
  return proven('inconsistent')
}

/** Where a `log-equivocation` statement keeps its evidence: in `meta`, or in a blob its `object` names. */
export type EvidenceSource = { kind: 'meta'; evidence: Evidence } | { kind: 'blob'; hash: string }

/**
 * The evidence of a `log-equivocation` statement: meta `{checkpoints, proof}` and no object, or
 * object = the SHA-256 SRI of a blob holding that JSON and no meta. A negative form means nothing.
 */
export function evidenceSource(s: Statement): EvidenceSource {
  if (s.claim !== EQUIVOCATION_CLAIM) throw new RangeError(`not a ${EQUIVOCATION_CLAIM} statement`)
  if (s.not) bad(`${EQUIVOCATION_CLAIM} has no negative form: evidence cannot be withdrawn`)
  if (s.object !== undefined) {
    if (s.meta !== undefined) bad('evidence in a blob (object) takes no meta')
    if (parseSri(s.object)?.alg !== 'sha256') bad('object must name the evidence blob by its sha256 SRI hash')
    return { kind: 'blob', hash: s.object }
  }
  return { kind: 'meta', evidence: ensureEvidence(s.meta) }
}

/** Evidence from a blob's bytes, after recomputing their hash: a content address is never believed. */
export async function evidenceFromBlob(hash: string, bytes: Uint8Array): Promise<Evidence> {
  if (bytes.length > EVIDENCE_LIMITS.blobBytes) bad(`an evidence blob is at most ${EVIDENCE_LIMITS.blobBytes} bytes`)
  const want = parseSri(hash)
  if (!want || !equalBytes((await sha256(bytes)).bytes, want.bytes)) bad(`the blob's bytes do not hash to ${hash}`)
  let json: Json
  try {
    json = parseJson(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes), { maxDepth: 3, maxMembers: EVIDENCE_LIMITS.proofHashes })
  } catch (e) {
    return bad(`the evidence blob is not JSON: ${(e as Error).message}`)
  }
  return ensureEvidence(json)
}

/** Evidence as published: canonical order (smaller tree first), hashes in base64. */
export function formatEvidence(small: string, big: string, path: readonly Uint8Array[]): Evidence {
  return { checkpoints: [small, big], proof: path.map((h) => base64.encode(h)) }
}
