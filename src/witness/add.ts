import type { RelayEnv } from '../config.ts'
import {
  base64,
  cosign,
  emptyRoot,
  equalBytes,
  parseAddCheckpoint,
  parseCheckpoint,
  splitNote,
  verify,
  verifyConsistency,
  utf8,
} from '../verify/index.ts'
import type { WitnessIdentity } from './identity.ts'
import { witnessedLogs } from './logs.ts'
import { swapWitnessRecord, witnessRecord } from './state.ts'

/**
 * tlog-witness add-checkpoint, every check in the spec's order. The outcome is a value the route
 * turns into the spec's status codes; nothing here knows HTTP.
 */
export type AddOutcome =
  | { status: 200; lines: string }
  | { status: 409; size: number }
  | { status: 400 | 403 | 404 | 422; code: string; message: string }

const refuse = (status: 400 | 403 | 404 | 422, code: string, message: string): AddOutcome => ({ status, code, message })

export async function addCheckpoint(env: RelayEnv, me: WitnessIdentity, text: string, now: number): Promise<AddOutcome> {
  let req, note, cp
  try {
    req = parseAddCheckpoint(text)
    note = splitNote(req.note)
    cp = parseCheckpoint(note.body)
  } catch (e) {
    if (e instanceof RangeError) return refuse(400, 'bad_request', e.message)
    throw e
  }
  if (!cp) return refuse(400, 'bad_checkpoint', 'the note is not a checkpoint (origin, size and base64 root lines)')
  const key = (await witnessedLogs(env)).get(cp.origin)
  if (!key) return refuse(404, 'unknown_log', `this witness does not witness ${JSON.stringify(cp.origin.slice(0, 200))}: it witnesses its configured peers' logs`)
  // signed-note: a line naming the trusted key whose signature fails makes the note malformed.
  // One at a time, repeats skipped, stopping at the first failure: an anonymous note of 100 lines
  // naming the log key costs one failed check, not 100 (the log itself signs with one line).
  const mine = new Set(note.signatures.filter((s) => s.name === key.name && equalBytes(s.keyHash, key.keyHash)).map((s) => base64.encode(s.signature)))
  let signed = mine.size > 0
  for (const sig of mine) {
    const bytes = base64.decode(sig)
    if (!(signed = bytes.length === 64 && (await verify(bytes, utf8(note.body), key.publicKey)))) break
  }
  if (!signed) return refuse(403, 'bad_log_signature', `the checkpoint has no valid signature by ${key.name}'s log key`)
  if (req.oldSize > cp.size) return refuse(400, 'bad_old_size', `old size ${req.oldSize} is larger than the checkpoint's size ${cp.size}`)
  const known = await witnessRecord(env.DB, cp.origin)
  if (req.oldSize !== (known?.size ?? 0)) return { status: 409, size: known?.size ?? 0 }
  if (cp.size === 0 && !equalBytes(cp.root, emptyRoot())) return refuse(422, 'bad_empty_root', 'a checkpoint of size 0 must have the empty tree\'s root')
  if (!verifyConsistency(req.oldSize, cp.size, req.proof, known?.root ?? emptyRoot(), cp.root)) {
    return refuse(422, 'inconsistent', `the proof does not show the tree of ${req.oldSize} leaves this witness cosigned is a prefix of this checkpoint`)
  }
  const time = Math.floor(now / 1000)
  const line = await cosign(note.body, me.key, me.secretKey, time)
  if (!(await swapWitnessRecord(env.DB, cp.origin, known, { size: cp.size, root: cp.root, note: req.note, cosig: line, time }))) {
    // Another request moved the record between our read and our write: answer as if we had read its result.
    return { status: 409, size: (await witnessRecord(env.DB, cp.origin))?.size ?? 0 }
  }
  return { status: 200, lines: line }
}
