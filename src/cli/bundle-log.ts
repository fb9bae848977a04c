import { LogForkError, ProvenTree, type CheckpointStore, type LogEvidence } from '../client/index.ts'
import { base64, decodeBase64, HASH_SIZE, leafHash, openNote, parseCheckpoint, parseVerifierKey, utf8, type Checkpoint, type VerifiedStatement } from '../verify/index.ts'
import type { BundleBound } from './bundle-bounds.ts'
import { BundleError } from './bundle.ts'

/**
 * A bundle's log evidence (docs/POLICY.md, "Offline bundles"): per relay's log, its signed
 * checkpoint and each statement's leaf index and inclusion proof in it. Checked offline, this
 * shows each statement was in the log that key signed; it cannot show the log stayed consistent
 * with the checkpoints the user keeps (that needs the relay's tiles), nor that the bundle holds
 * every statement the log does (a dropped yank leaves no gap an inclusion proof could show).
 */
export interface BundleLog {
  relay: string
  /** The log's signed-note verifier key (`<origin>+<key hash>+<base64>`): what the checkpoint must verify under. */
  verifierKey: string
  checkpoint: string
  entries: { statement: string; index: number; proof: string[] }[]
  /** Optional: witnessed time bounds for statements of revoked keys (./bundle-bounds.ts); older readers ignore it. */
  bounds?: BundleBound[]
}

/** The bundle's `log` from what the checker proved: proofs as standard base64 of each 32-byte hash. */
export const bundleLogOf = (evidence: readonly LogEvidence[]): BundleLog[] =>
  evidence.map((e) => ({ relay: e.relay, verifierKey: e.verifierKey, checkpoint: e.checkpoint, entries: e.entries.map((x) => ({ statement: x.id, index: x.index, proof: x.proof.map((p) => base64.encode(p)) })) }))

export interface BundleLogReport {
  /** Each checkpoint, and how it stands beside the one this user keeps for its log. */
  logs: { relay: string; origin: string; size: number; kept: 'none' | 'same tree' | 'other size (consistency not checked offline)' }[]
  /** Statements whose every inclusion proof verified against a signed checkpoint. */
  logChecked: number
  /** Statements the bundle carries no proof for (their relay had no log, or an older bundle). */
  notLogChecked: number
  /** Statements a proof failed for: left out of the check. */
  dropped: { id: string; message: string }[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const bad = (message: string) => new BundleError('bad_bundle', message)
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** One `log` group, its shape checked; the checkpoint's signature is checked by the caller. */
function parseGroup(g: unknown, i: number): BundleLog & { proofs: Uint8Array[][] } {
  const at = `log[${i}]`
  if (!isObject(g) || typeof g.relay !== 'string' || typeof g.verifierKey !== 'string' || typeof g.checkpoint !== 'string' || !Array.isArray(g.entries)) throw bad(`${at} must be {relay, verifierKey, checkpoint, entries}`)
  const proofs: Uint8Array[][] = []
  for (const [k, e] of g.entries.entries()) {
    if (!isObject(e) || typeof e.statement !== 'string' || !Number.isSafeInteger(e.index) || (e.index as number) < 0 || !Array.isArray(e.proof) || e.proof.length > 64) throw bad(`${at}.entries[${k}] must be {statement, index, proof} (a non-negative index, at most 64 hashes)`)
    proofs.push(
      e.proof.map((p) => {
        const h = typeof p === 'string' ? decodeBase64(p) : undefined
        if (!h || h.length !== HASH_SIZE) throw bad(`${at}.entries[${k}].proof holds something that is not a base64 SHA-256 hash`)
        return h
      }),
    )
  }
  return { ...(g as unknown as BundleLog), proofs }
}

/**
 * Checks a bundle's `log` offline and returns the statements to judge: those whose proofs all
 * verify, and those with no proof (counted as not log-checked). A checkpoint that does not verify
 * under the key the bundle records refuses the bundle (`tampered`); so does one of a log this
 * user's `store` knows under another key or from another relay (`wrong_log`), and one of the
 * same size as the kept checkpoint with another root (LogForkError: the relay signed both). A
 * proof that fails drops its statement, with the reason.
 */
export async function checkBundleLog(log: unknown, statements: readonly VerifiedStatement[], store?: CheckpointStore): Promise<{ statements: VerifiedStatement[]; report: BundleLogReport }> {
  const report: BundleLogReport = { logs: [], logChecked: 0, notLogChecked: 0, dropped: [] }
  if (log === undefined) return { statements: [...statements], report: { ...report, notLogChecked: statements.length } }
  if (!Array.isArray(log)) throw bad('log, when present, must be an array')
  const byId = new Map(statements.map((s) => [s.id, s]))
  const proven = new Set<string>()
  const failed = new Map<string, string>()
  for (const [i, raw] of log.entries()) {
    const g = parseGroup(raw, i)
    const verifier = parseVerifierKey(g.verifierKey)
    if (!verifier) throw bad(`log[${i}].verifierKey is not a signed-note verifier key`)
    let cp: Checkpoint | undefined
    try {
      const opened = await openNote(g.checkpoint, verifier)
      cp = opened.verified ? parseCheckpoint(opened.text) : undefined
    } catch {
      cp = undefined
    }
    if (!cp || cp.origin !== verifier.name) throw new BundleError('tampered', `log[${i}]: the checkpoint of ${g.relay} is not a checkpoint of ${verifier.name} signed by ${g.verifierKey}; the bundle was changed after it was made`)
    report.logs.push({ relay: g.relay, origin: cp.origin, size: cp.size, kept: await compareKept(store, g, cp) })
    // One tree per checkpoint: the proofs share their upper paths, hashed once (RFC 9162's check).
    const tree = new ProvenTree(cp.size, cp.root)
    for (const [k, e] of g.entries.entries()) {
      const s = byId.get(e.statement)
      if (!s) throw bad(`log[${i}].entries[${k}] names ${e.statement}, which the bundle does not hold`)
      if (tree.includesByProof(e.index, leafHash(utf8(s.canonical)), g.proofs[k]!)) proven.add(s.id)
      else failed.set(s.id, `its inclusion proof at leaf ${e.index} of ${cp.origin} (${cp.size} leaves) does not lead to the signed root`)
    }
  }
  const kept: VerifiedStatement[] = []
  for (const s of statements) {
    const why = failed.get(s.id)
    if (why) report.dropped.push({ id: s.id, message: why })
    else {
      kept.push(s)
      if (proven.has(s.id)) report.logChecked++
      else report.notLogChecked++
    }
  }
  return { statements: kept, report }
}

/**
 * What can be said offline of a bundle checkpoint beside the one kept for its log: the same key
 * and relay, and at the same size the same root (anything else at one size is a fork both signed).
 * At another size, consistency needs a proof from the relay's tiles: not checked here.
 */
async function compareKept(store: CheckpointStore | undefined, g: BundleLog, cp: Checkpoint): Promise<BundleLogReport['logs'][number]['kept']> {
  if (!store) return 'none'
  const pinned = await store.relayLog(g.relay)
  if (pinned !== undefined && pinned !== cp.origin) throw new BundleError('wrong_log', `the bundle says ${g.relay} signed the log ${cp.origin}, but it served you the log ${pinned}`)
  const kept = await store.checkpoint(cp.origin)
  if (!kept) return 'none'
  if (kept.verifierKey !== g.verifierKey) throw new BundleError('wrong_log', `the bundle's checkpoint of ${cp.origin} is signed by ${g.verifierKey}; the log you keep a checkpoint of is signed by ${kept.verifierKey}`)
  const verifier = parseVerifierKey(kept.verifierKey)
  const opened = verifier ? await openNote(kept.note, verifier).catch(() => undefined) : undefined
  const old = opened?.verified ? parseCheckpoint(opened.text) : undefined
  // A kept file that no longer verifies says nothing either way; the online check reports it.
  if (!old || old.size !== cp.size) return old ? 'other size (consistency not checked offline)' : 'none'
  if (!equal(old.root, cp.root)) throw new LogForkError({ relay: g.relay, origin: cp.origin, verifierKey: g.verifierKey, kept: kept.note, received: g.checkpoint, reason: `the bundle's checkpoint and the one you keep are two different roots for the tree of ${cp.size} leaves` })
  return 'same tree'
}
