import { boundProofs, boundRequirement, countWitnesses, type BoundRequirement, type LogChecker, type RequestOptions, type TimeBound } from '../client/index.ts'
import { base64, decodeBase64, HASH_SIZE, leafHash, openNote, parseCheckpoint, parseVerifierKey, utf8, verifyConsistency, verifyInclusion, type Checkpoint, type VerifiedStatement } from '../verify/index.ts'
import type { BundleLog } from './bundle-log.ts'
import { BundleError } from './bundle.ts'

/**
 * Witnessed time bounds in a bundle (PROTOCOL §6.13, docs/POLICY.md "Offline bundles"), so that
 * `revocation: "witnessed"` gives the same verdict from a bundle as online. A log group's optional
 * `bounds` holds, per statement of a revoked key the check bounded, the witnessed checkpoint with
 * its cosignatures, the statement's inclusion proof in it, and the consistency proof between it
 * and the group's checkpoint. Readers that do not know the field ignore it (the claims of revoked
 * keys then do not count under "witnessed", as before).
 */
export interface BundleBound {
  /** The statement's id; it must be in the bundle and in this group's `entries`. */
  statement: string
  index: number
  /** The witnessed checkpoint: the log's signed note with its cosignature lines, verbatim. */
  witnessed: string
  /** Inclusion of the statement at `index` in the witnessed tree (base64 hashes). */
  inclusion: string[]
  /** Consistency between the witnessed tree and the group's checkpoint, the smaller tree first; empty at one size. */
  consistency: string[]
}

/** Each bundle group's bounds, from the bounds the online check proved for the statements it used. */
export async function bundleBoundsOf(log: LogChecker, bounds: ReadonlyMap<string, TimeBound>, used: ReadonlySet<string>, o: RequestOptions = {}): Promise<Map<string, BundleBound[]>> {
  const out = new Map<string, BundleBound[]>()
  for (const [id, b] of [...bounds].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) {
    if (!used.has(id)) continue
    const p = await boundProofs(log, b, o)
    if (!p) continue
    const list = out.get(b.relay) ?? (out.set(b.relay, []), out.get(b.relay)!)
    list.push({ statement: id, index: b.index, witnessed: b.note, inclusion: p.inclusion.map((h) => base64.encode(h)), consistency: p.consistency.map((h) => base64.encode(h)) })
  }
  return out
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])
/** A bundle names every statement of revoked keys its check bounded: generous, but not unbounded work per note. */
const MAX_BOUNDS = 10_000

function hashes(v: unknown, at: string): Uint8Array[] {
  if (!Array.isArray(v) || v.length > 64) throw new BundleError('bad_bundle', `${at} must be at most 64 base64 SHA-256 hashes`)
  return v.map((p) => {
    const h = typeof p === 'string' ? decodeBase64(p) : undefined
    if (!h || h.length !== HASH_SIZE) throw new BundleError('bad_bundle', `${at} holds something that is not a base64 SHA-256 hash`)
    return h
  })
}

/**
 * The witnessed times a bundle proves offline, checked exactly as online (PROTOCOL §6.13): the
 * witnessed note verifies under the group's log key, has k valid cosignatures of the policy's
 * named witnesses (none dated beyond now + skew), is consistent with the group's signed
 * checkpoint, and includes the statement. A bound that fails any check is left out (its
 * statement then has no witnessed time), with the reason; a malformed `bounds` refuses the bundle.
 * Call after checkBundleLog, which verified the group checkpoints.
 */
export async function checkBundleBounds(
  log: unknown,
  statements: readonly VerifiedStatement[],
  logs: Parameters<typeof boundRequirement>[0],
  clockSkewMs?: number,
  now?: () => number,
): Promise<{ bounds: Map<string, { at: number; by: string[] }>; refused: { id: string; message: string }[] }> {
  const req: BoundRequirement = { ...boundRequirement(logs, clockSkewMs), ...(now && { now }) }
  const bounds = new Map<string, { at: number; by: string[] }>()
  const refused: { id: string; message: string }[] = []
  if (!Array.isArray(log)) return { bounds, refused }
  const byId = new Map(statements.map((s) => [s.id, s]))
  const nowMs = (req.now ?? Date.now)()
  let total = 0
  for (const [i, g] of (log as BundleLog[]).entries()) {
    const raw = (g as unknown as Record<string, unknown>).bounds
    if (raw === undefined) continue
    if (!Array.isArray(raw) || (total += raw.length) > MAX_BOUNDS) throw new BundleError('bad_bundle', `log[${i}].bounds must be an array (at most ${MAX_BOUNDS} bounds in a bundle)`)
    const verifier = parseVerifierKey(g.verifierKey)!
    const cp = parseCheckpoint((await openNote(g.checkpoint, verifier)).text)!
    // Statements near each other share a witnessed checkpoint: its signatures are checked once.
    const notes = new Map<string, Promise<{ w: Checkpoint; at: number; by: string[] } | string>>()
    for (const [k, b] of raw.entries()) {
      const at = `log[${i}].bounds[${k}]`
      if (!isObject(b) || typeof b.statement !== 'string' || !Number.isSafeInteger(b.index) || (b.index as number) < 0 || typeof b.witnessed !== 'string' || b.witnessed.length > 64 * 1024) {
        throw new BundleError('bad_bundle', `${at} must be {statement, index, witnessed (a signed note of at most 64 KiB), inclusion, consistency}`)
      }
      const [inclusion, consistency] = [hashes(b.inclusion, `${at}.inclusion`), hashes(b.consistency, `${at}.consistency`)]
      const s = byId.get(b.statement)
      if (!s) continue
      let checked = notes.get(b.witnessed)
      if (!checked) notes.set(b.witnessed, (checked = witnessedNote(b.witnessed, verifier, cp, req, nowMs)))
      const w = await checked
      const index = b.index as number
      const why =
        typeof w === 'string' ? w
        : !consistent(w.w, cp, consistency) ? `its witnessed checkpoint of ${w.w.size} leaves is not proven consistent with the bundle's checkpoint of ${cp.size}`
        : !verifyInclusion(index, w.w.size, leafHash(utf8(s.canonical)), inclusion, w.w.root) ? `its inclusion proof at leaf ${index} does not lead to the witnessed root of ${w.w.size} leaves`
        : undefined
      if (why) refused.push({ id: s.id, message: why })
      else if (typeof w !== 'string' && !(w.at >= (bounds.get(s.id)?.at ?? Infinity))) bounds.set(s.id, { at: w.at, by: w.by })
    }
  }
  return { bounds, refused: refused.filter((r) => !bounds.has(r.id)) }
}

async function witnessedNote(note: string, verifier: NonNullable<ReturnType<typeof parseVerifierKey>>, cp: Checkpoint, req: BoundRequirement, nowMs: number) {
  const opened = await openNote(note, verifier).catch(() => undefined)
  const w = opened?.verified ? parseCheckpoint(opened.text) : undefined
  if (!w || w.origin !== cp.origin) return `its witnessed checkpoint is not a checkpoint of ${cp.origin} signed by its key`
  const count = await countWitnesses(note, req.witnesses, req.k, { nowMs, clockSkewMs: req.clockSkewMs }).catch((e: Error) => e.message)
  if (typeof count === 'string') return `its witnessed checkpoint cannot be read for cosignatures (${count})`
  if (!count.ok) return `its witnessed checkpoint of ${w.size} leaves has ${count.cosigners.length} of the ${req.k} valid cosignatures the policy requires`
  const first = count.cosigners.sort((a, b) => a.time - b.time).slice(0, req.k)
  // As online: the end of the second the k-th earliest cosignature names.
  return { w, at: (first[req.k - 1]!.time + 1) * 1000, by: first.map((c) => c.name) }
}

function consistent(w: Checkpoint, cp: Checkpoint, proof: Uint8Array[]): boolean {
  if (w.size === cp.size) return proof.length === 0 && equal(w.root, cp.root)
  const [small, big] = w.size < cp.size ? [w, cp] : [cp, w]
  return verifyConsistency(small.size, big.size, proof, small.root, big.root)
}
