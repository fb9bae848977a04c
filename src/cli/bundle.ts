import { settleInOrder } from '../client/index.ts'
import type { BundleLog } from './bundle-log.ts'
import { LIMITS, parseJson, ProtocolError, sha256, formatSri, utf8, verifyStatement, type Json, type Statement, type VerifiedStatement } from '../verify/index.ts'

/**
 * Offline bundles (docs/POLICY.md, "Offline bundles"): every statement a `vouch check` of one
 * lockfile under one policy read, so the same check can run with no network (CI without relay
 * access, air-gapped builds). Anchored on Sigstore's bundle: one self-describing JSON document
 * with a media type carrying its version, holding the signed material itself, never a verdict;
 * the reader re-verifies every signature and trusts nothing the file says about itself.
 */

export const BUNDLE_MEDIA_TYPE = 'application/vnd.vouch.bundle.v1+json'
/** A bundle larger than this is refused before parsing (a 2,000-package lockfile is ~2–5 MB). */
export const BUNDLE_MAX_BYTES = 256 * 1024 * 1024

export interface Bundle {
  mediaType: typeof BUNDLE_MEDIA_TYPE
  /** The lockfile it was made for: its file name and the SRI SHA-256 of its bytes (a hint; a mismatch is a warning). */
  lockfile: { name: string; sha256: string }
  /** When it was made (ms since the epoch). */
  created: number
  /** The signed statements, as relays serve them. */
  statements: Statement[]
  /**
   * Optional: transparency-log evidence per relay's log (PROTOCOL §6.10): its signed checkpoint
   * (C2SP signed note), its verifier key, and per statement its leaf index and inclusion proof.
   * Checked by src/cli/bundle-log.ts; absent when no relay read was a log.
   */
  log?: BundleLog[]
}

/**
 * A bundle that cannot be used: `code` is `bad_bundle` (malformed), `tampered` (a statement or a
 * checkpoint fails verification) or `wrong_log` (a checkpoint of a log the user knows otherwise).
 */
export class BundleError extends Error {
  constructor(
    readonly code: 'bad_bundle' | 'tampered' | 'wrong_log',
    message: string,
  ) {
    super(message)
  }
}

export async function lockfileDigest(bytes: string): Promise<string> {
  return formatSri(await sha256(utf8(bytes)))
}

export function makeBundle(lockfile: Bundle['lockfile'], statements: readonly VerifiedStatement[], created = Date.now(), log: BundleLog[] = []): Bundle {
  // Oldest first, then id: the same statements always make the same file.
  const sorted = [...statements].sort((a, b) => a.statement.time - b.statement.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { mediaType: BUNDLE_MEDIA_TYPE, lockfile, created, statements: sorted.map((s) => s.statement), ...(log.length > 0 && { log }) }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Parses a bundle with the strict JSON parser and verifies every statement in it (shape,
 * signature, clock), as if a relay had sent it. Throws BundleError naming the first problem.
 */
export async function readBundle(text: string, now = Date.now()): Promise<{ bundle: Bundle; statements: VerifiedStatement[] }> {
  if (text.length > BUNDLE_MAX_BYTES) throw new BundleError('bad_bundle', `the bundle is larger than ${BUNDLE_MAX_BYTES} bytes`)
  let doc: Json
  try {
    doc = parseJson(text, { maxDepth: LIMITS.bodyDepth + 4 })
  } catch (e) {
    if (e instanceof ProtocolError) throw new BundleError('bad_bundle', `not a vouch bundle: ${e.message}`)
    throw e
  }
  if (!isObject(doc) || doc.mediaType !== BUNDLE_MEDIA_TYPE) throw new BundleError('bad_bundle', `not a vouch bundle: mediaType must be ${BUNDLE_MEDIA_TYPE}`)
  const lf = doc.lockfile
  if (!isObject(lf) || typeof lf.name !== 'string' || typeof lf.sha256 !== 'string') throw new BundleError('bad_bundle', 'lockfile must be {name, sha256}')
  if (!Number.isSafeInteger(doc.created)) throw new BundleError('bad_bundle', 'created must be an integer (ms since the epoch)')
  if (!Array.isArray(doc.statements)) throw new BundleError('bad_bundle', 'statements must be an array')
  if (doc.log !== undefined && !Array.isArray(doc.log)) throw new BundleError('bad_bundle', 'log, when present, must be an array')
  // Several at once (src/client/in-order.ts): both cores verify. The first failure by position
  // is reported, as when they were verified one after another.
  const settled = await settleInOrder(doc.statements, (raw) => verifyStatement(raw, { now }))
  const statements: VerifiedStatement[] = []
  for (const [i, r] of settled.entries()) {
    if (r.status === 'fulfilled') statements.push(r.value)
    else if (r.reason instanceof ProtocolError) throw new BundleError('tampered', `statements[${i}] does not verify (${r.reason.code}: ${r.reason.message}); the bundle was changed after it was made`)
    else throw r.reason
  }
  return { bundle: doc as unknown as Bundle, statements }
}
