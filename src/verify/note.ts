import { createHash } from 'node:crypto'
import { base64, concat, decodeBase64, equalBytes, hex, utf8 } from './bytes.ts'
import { sign, verify } from './ed25519.ts'
import { HASH_SIZE } from './tlog.ts'

/**
 * C2SP signed-note and tlog-checkpoint, Ed25519 keys only (type 0x01). The same bytes Go's
 * `golang.org/x/mod/sumdb/note` signs and opens, so its verifiers and witnesses read our checkpoints.
 */

const ED25519 = 0x01
/** A key name: non-empty, no whitespace, no '+' (the verifier key's separator). */
const NAME = /^[^\s+]+$/u

export interface NoteVerifier {
  name: string
  /** First 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). */
  keyHash: Uint8Array
  publicKey: Uint8Array
}

/**
 * The signed-note key id, SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4], for any signature type: 0x01
 * (Ed25519, the log's own key) and 0x04 (tlog-cosignature v1, a witness's key).
 */
export function keyIdOf(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  if (!NAME.test(name)) throw new RangeError(`note key name must be non-empty without spaces or '+', got ${JSON.stringify(name)}`)
  if (publicKey.length !== 32) throw new RangeError('publicKey must be 32 bytes')
  return new Uint8Array(createHash('sha256').update(concat(utf8(name), Uint8Array.of(0x0a, type), publicKey)).digest()).slice(0, 4)
}

/** `<name>+<8 hex key id>+<base64(type ‖ public key)>`, the vkey form sumdb/note and witnesses take. */
export const formatNoteKey = (name: string, type: number, publicKey: Uint8Array): string =>
  `${name}+${hex.encode(keyIdOf(name, type, publicKey))}+${base64.encode(concat(Uint8Array.of(type), publicKey))}`

/** A vkey of signature type `type` read strictly; undefined when malformed, of another type, or its id does not match. */
export function parseNoteKey(s: string, type: number): NoteVerifier | undefined {
  const m = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(s)
  if (!m) return undefined
  const key = decodeBase64(m[3]!)
  if (!key || key.length !== 33 || key[0] !== type) return undefined
  const publicKey = key.slice(1)
  const keyHash = keyIdOf(m[1]!, type, publicKey)
  return hex.encode(keyHash) === m[2] ? { name: m[1]!, keyHash, publicKey } : undefined
}

export const noteKeyHash = (name: string, publicKey: Uint8Array): Uint8Array => keyIdOf(name, ED25519, publicKey)
export const formatVerifierKey = (name: string, publicKey: Uint8Array): string => formatNoteKey(name, ED25519, publicKey)
export const parseVerifierKey = (s: string): NoteVerifier | undefined => parseNoteKey(s, ED25519)

/** Signs note text (which must end in a newline) and returns the whole note. */
export async function signNote(text: string, name: string, publicKey: Uint8Array, secretKey: Uint8Array): Promise<string> {
  if (!text.endsWith('\n') || text.includes('\n\n') || text.startsWith('\n')) throw new RangeError('note text must be lines each ending in a newline, none empty')
  const sig = await sign(utf8(text), secretKey)
  return `${text}\n— ${name} ${base64.encode(concat(noteKeyHash(name, publicKey), sig))}\n`
}

export interface OpenedNote {
  text: string
  /** Whether a signature by `verifier` is present and valid. */
  verified: boolean
  /** Signature lines by other keys, kept for cosignature checks (tlog-cosignature). */
  others: { name: string; keyHash: Uint8Array; signature: Uint8Array }[]
}

/** Note size cap (Go's note.Open uses 1 MB; a checkpoint is a few hundred bytes). */
export const NOTE_MAX_BYTES = 1_000_000
/**
 * Signature lines a note may carry, as Go's note.Open: a note of more is malformed. Without it a
 * 1 MB note of lines naming a trusted key costs its reader ten thousand signature checks.
 */
export const NOTE_MAX_SIGNATURES = 100

/**
 * Splits a note into text and signatures and checks the one by `verifier`. A malformed note
 * throws a RangeError; a well-formed note without a valid signature by `verifier` is `verified: false`.
 */
export async function openNote(note: string, verifier: NoteVerifier): Promise<OpenedNote> {
  if (note.length > NOTE_MAX_BYTES) throw new RangeError('note is too large')
  const split = note.lastIndexOf('\n\n')
  if (split < 0 || !note.endsWith('\n')) throw new RangeError('note has no signature block')
  const text = note.slice(0, split + 1)
  if (text.includes('\n\n') || text.startsWith('\n')) throw new RangeError('note text has an empty line')
  let verified: boolean | undefined
  const others: OpenedNote['others'] = []
  const lines = note.slice(split + 2, -1).split('\n')
  if (lines.length > NOTE_MAX_SIGNATURES) throw new RangeError(`note has more than ${NOTE_MAX_SIGNATURES} signature lines`)
  for (const line of lines) {
    const m = /^— ([^\s+]+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line)
    const raw = m ? decodeBase64(m[2]!) : undefined
    if (!m || !raw || raw.length < 5) throw new RangeError(`malformed signature line ${JSON.stringify(line.slice(0, 100))}`)
    const keyHash = raw.slice(0, 4)
    const signature = raw.slice(4)
    if (m[1] === verifier.name && equalBytes(keyHash, verifier.keyHash)) {
      // Only the first line by the verifier counts (Go's note.Open drops repeats): one signature check per note, whatever it holds.
      verified ??= signature.length === 64 && (await verify(signature, utf8(text), verifier.publicKey))
    } else others.push({ name: m[1]!, keyHash, signature })
  }
  return { text, verified: verified === true, others }
}

export interface Checkpoint {
  origin: string
  size: number
  root: Uint8Array
}

/** The checkpoint body: origin, decimal size, base64 root, each on its own line. */
export function formatCheckpoint(c: Checkpoint): string {
  if (!c.origin || /[\n]/.test(c.origin)) throw new RangeError('origin must be one non-empty line')
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new RangeError('size must be a non-negative safe integer')
  if (c.root.length !== HASH_SIZE) throw new RangeError('root must be 32 bytes')
  return `${c.origin}\n${c.size}\n${base64.encode(c.root)}\n`
}

/** Parses checkpoint text strictly (extension lines after the root are allowed and ignored). */
export function parseCheckpoint(text: string): Checkpoint | undefined {
  const lines = text.split('\n')
  if (lines.length < 4 || lines[lines.length - 1] !== '') return undefined
  const [origin, size, root] = lines as [string, string, string]
  if (!origin || !/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) return undefined
  const r = decodeBase64(root)
  if (!r || r.length !== HASH_SIZE) return undefined
  return { origin, size: Number(size), root: r }
}
