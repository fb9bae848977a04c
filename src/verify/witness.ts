import { decodeBase64 } from './bytes.ts'
import { HASH_SIZE } from './tlog.ts'

/**
 * The body of a C2SP tlog-witness `add-checkpoint` request: an `old <size>` line, at most 63
 * consistency proof lines (one base64 hash each), an empty line, then the checkpoint note.
 * Pure; the witness route answers a RangeError from here with 400.
 */

/** tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63
/**
 * Bytes of a request body: 64 proof lines of 45 bytes are under 3 KB and a checkpoint a few hundred
 * bytes; the rest leaves room for a checkpoint carrying many cosignatures.
 */
export const ADD_CHECKPOINT_MAX_BYTES = 64 * 1024

export interface AddCheckpoint {
  oldSize: number
  proof: Uint8Array[]
  note: string
}

const OLD = /^old (0|[1-9][0-9]{0,15})$/

export function parseAddCheckpoint(text: string): AddCheckpoint {
  if (text.length > ADD_CHECKPOINT_MAX_BYTES) throw new RangeError(`request is larger than ${ADD_CHECKPOINT_MAX_BYTES} bytes`)
  const blank = text.indexOf('\n\n')
  if (blank < 0) throw new RangeError('request has no empty line before the checkpoint')
  const [first, ...proofLines] = text.slice(0, blank).split('\n')
  const m = OLD.exec(first!)
  const oldSize = m ? Number(m[1]) : NaN
  if (!Number.isSafeInteger(oldSize)) throw new RangeError('the first line must be "old <size>", the size in decimal without leading zeroes')
  if (proofLines.length > MAX_PROOF_LINES) throw new RangeError(`more than ${MAX_PROOF_LINES} consistency proof lines`)
  const proof = proofLines.map((line, i) => {
    const h = decodeBase64(line)
    if (!h || h.length !== HASH_SIZE) throw new RangeError(`proof line ${i + 1} is not one base64 SHA-256 hash`)
    return h
  })
  return { oldSize, proof, note: text.slice(blank + 2) }
}

/** The request body a log sends (the inverse of parseAddCheckpoint). */
export function formatAddCheckpoint(r: AddCheckpoint, encode: (h: Uint8Array) => string): string {
  return `old ${r.oldSize}\n${r.proof.map((h) => `${encode(h)}\n`).join('')}\n${r.note}`
}
