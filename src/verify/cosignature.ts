import { base64, concat, decodeBase64, equalBytes, utf8 } from './bytes.ts'
import { sign, verify } from './ed25519.ts'
import { formatNoteKey, keyIdOf, NOTE_MAX_BYTES, NOTE_MAX_SIGNATURES, parseNoteKey } from './note.ts'

/**
 * C2SP tlog-cosignature v1, Ed25519 (signature type 0x04): a witness's timestamped statement that
 * a checkpoint is the largest consistent tree head it has seen of that log. The signed message is
 * `cosignature/v1\ntime <t>\n` followed by the checkpoint body, so a cosignature can never be
 * replayed as the log's own note signature (type 0x01), whose message is the bare body.
 */

const COSIGNATURE_V1 = 0x04
/** tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1; JavaScript's safe integers are below that. */
const MAX_TIME = Number.MAX_SAFE_INTEGER

export interface CosignerKey {
  name: string
  /** First 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key). */
  keyHash: Uint8Array
  publicKey: Uint8Array
}

export const cosignerKeyHash = (name: string, publicKey: Uint8Array): Uint8Array => keyIdOf(name, COSIGNATURE_V1, publicKey)

export const cosignerKey = (name: string, publicKey: Uint8Array): CosignerKey => ({ name, keyHash: cosignerKeyHash(name, publicKey), publicKey })

/** The witness's verifier key as signed-note writes vkeys: `<name>+<8 hex key id>+<base64(0x04 ‖ public key)>`. */
export const formatCosignerKey = (name: string, publicKey: Uint8Array): string => formatNoteKey(name, COSIGNATURE_V1, publicKey)

/** A cosigner vkey read strictly; undefined when malformed, of another type, or its key id does not match. */
export const parseCosignerKey = (s: string): CosignerKey | undefined => parseNoteKey(s, COSIGNATURE_V1)

function checkBody(body: string): void {
  if (!body.endsWith('\n') || body.includes('\n\n') || body.startsWith('\n')) throw new RangeError('checkpoint body must be lines each ending in a newline, none empty')
}

function checkTime(time: number): void {
  if (!Number.isSafeInteger(time) || time < 1 || time > MAX_TIME) throw new RangeError(`time must be a positive whole number of seconds, got ${time}`)
}

/** The bytes an Ed25519 v1 cosignature signs: header line, time line, then the checkpoint body. */
export function cosignedMessage(body: string, time: number): Uint8Array {
  checkBody(body)
  checkTime(time)
  return utf8(`cosignature/v1\ntime ${time}\n${body}`)
}

const u64 = (n: number) => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/**
 * A cosignature line (`— <name> base64(key id ‖ u64 time ‖ signature)`, with its newline) over a
 * checkpoint body. `time` is POSIX seconds; tlog-witness forbids zero.
 */
export async function cosign(body: string, key: CosignerKey, secretKey: Uint8Array, time: number): Promise<string> {
  const sig = await sign(cosignedMessage(body, time), secretKey)
  return `— ${key.name} ${base64.encode(concat(key.keyHash, u64(time), sig))}\n`
}

/** One signature line of a note, as signed-note writes it. */
export interface NoteSignature {
  name: string
  keyHash: Uint8Array
  /** The bytes after the key id (for a cosignature: u64 time ‖ 64-byte signature). */
  signature: Uint8Array
}

const SIGNATURE_LINE = /^— ([^\s+]+) ([A-Za-z0-9+/]+={0,2})$/u

/** Parses signature lines (each ending in a newline); RangeError on any malformed one. */
export function parseSignatureLines(lines: string): NoteSignature[] {
  if (lines === '') return []
  if (!lines.endsWith('\n')) throw new RangeError('signature lines must each end in a newline')
  const each = lines.slice(0, -1).split('\n')
  if (each.length > NOTE_MAX_SIGNATURES) throw new RangeError(`more than ${NOTE_MAX_SIGNATURES} signature lines`)
  return each.map((line) => {
      const m = SIGNATURE_LINE.exec(line)
      const raw = m ? decodeBase64(m[2]!) : undefined
      if (!m || !raw || raw.length < 5) throw new RangeError(`malformed signature line ${JSON.stringify(line.slice(0, 100))}`)
      return { name: m[1]!, keyHash: raw.slice(0, 4), signature: raw.slice(4) }
    })
}

/** Splits a signed note into its body and signature lines; RangeError when it is not one. */
export function splitNote(note: string): { body: string; signatures: NoteSignature[] } {
  if (note.length > NOTE_MAX_BYTES) throw new RangeError('note is too large')
  const split = note.lastIndexOf('\n\n')
  if (split < 0 || !note.endsWith('\n')) throw new RangeError('note has no signature block')
  const body = note.slice(0, split + 1)
  checkBody(body)
  return { body, signatures: parseSignatureLines(note.slice(split + 2)) }
}

/**
 * The time of a valid cosignature by `key` over `body`, or undefined when `sig` is not one (other
 * key, wrong length, zero time, bad signature). Lines of other keys are ignored, as signed-note
 * asks, so this never throws for them.
 */
export async function verifyCosignature(body: string, sig: NoteSignature, key: CosignerKey): Promise<number | undefined> {
  if (sig.name !== key.name || !equalBytes(sig.keyHash, key.keyHash) || sig.signature.length !== 8 + 64) return undefined
  const time = Number(new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0))
  if (!Number.isSafeInteger(time) || time < 1) return undefined
  return (await verify(sig.signature.slice(8), cosignedMessage(body, time), key.publicKey)) ? time : undefined
}

export interface CosignedCheckpoint {
  /** Whether at least k distinct named witnesses cosigned the body. */
  ok: boolean
  /** The witnesses with a valid cosignature, with the time each signed (POSIX seconds). */
  cosigners: { name: string; time: number }[]
}

/**
 * How many of the named witnesses cosigned this checkpoint note, and whether that reaches `k`
 * (the client policy "believe a checkpoint only with k cosignatures from these witnesses"). The
 * log's own signature is not checked here: the caller opens the note with the log's key too. A
 * witness counts once however many lines it has. Malformed notes throw RangeError.
 */
export async function verifyCosignedCheckpoint(note: string, witnesses: readonly (CosignerKey | string)[], k: number): Promise<CosignedCheckpoint> {
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`k must be a non-negative whole number, got ${k}`)
  const keys = witnesses.map((w) => {
    const key = typeof w === 'string' ? parseCosignerKey(w) : w
    if (!key) throw new RangeError(`witness key ${JSON.stringify(String(w).slice(0, 100))} is not a cosignature/v1 (type 0x04) vkey`)
    return key
  })
  const { body, signatures } = splitNote(note)
  const cosigners: CosignedCheckpoint['cosigners'] = []
  for (const key of keys) {
    if (cosigners.some((c) => c.name === key.name)) continue
    for (const sig of signatures) {
      const time = await verifyCosignature(body, sig, key)
      if (time !== undefined) {
        cosigners.push({ name: key.name, time })
        break
      }
    }
  }
  return { ok: cosigners.length >= k, cosigners }
}
