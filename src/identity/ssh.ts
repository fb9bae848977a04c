import { concat, decodeBase64, equalBytes, utf8 } from '../verify/index.ts'

/**
 * The SSH wire encoding (RFC 4251 §5: uint32 big-endian, string = uint32 length + bytes) of
 * Ed25519 keys, the one codec for the forge-key proof here and for the CLI's OpenSSH key files
 * and ssh-agent messages. Pure, on Uint8Array, so it runs in Workers and Node alike.
 */

export const SSH_ED25519 = 'ssh-ed25519'

const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

export const sshU32 = (n: number): Uint8Array => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
export const sshString = (b: Uint8Array | string): Uint8Array => {
  const bytes = typeof b === 'string' ? utf8(b) : b
  return concat(sshU32(bytes.length), bytes)
}

/** Reads SSH wire values in order; a length past the end throws `Error('truncated')`. */
export class SshReader {
  private off = 0
  constructor(private readonly buf: Uint8Array) {}

  u32(): number {
    if (this.off + 4 > this.buf.length) throw new Error('truncated')
    const b = this.buf
    const v = (b[this.off]! * 2 ** 24 + ((b[this.off + 1]! << 16) | (b[this.off + 2]! << 8) | b[this.off + 3]!)) >>> 0
    this.off += 4
    return v
  }

  /** A string's bytes, as a view of the input (not a copy). */
  bytes(): Uint8Array {
    const n = this.u32()
    if (this.off + n > this.buf.length) throw new Error('truncated')
    const b = this.buf.subarray(this.off, this.off + n)
    this.off += n
    return b
  }

  /** A string as text; invalid UTF-8 becomes U+FFFD and a BOM is kept, as OpenSSH does not check comments. */
  str(): string {
    return lenient.decode(this.bytes())
  }

  rest(): Uint8Array {
    return this.buf.subarray(this.off)
  }
}

/** The SSH wire form of an Ed25519 public key (RFC 8709): string "ssh-ed25519", string key. */
export const ed25519Blob = (publicKey: Uint8Array): Uint8Array => concat(sshString(SSH_ED25519), sshString(publicKey))

/** The 32-byte key of an Ed25519 public key blob, or undefined for any other blob. */
export function parseEd25519Blob(blob: Uint8Array): Uint8Array | undefined {
  try {
    const r = new SshReader(blob)
    if (r.str() !== SSH_ED25519) return undefined
    const key = r.bytes()
    return key.length === 32 && r.rest().length === 0 ? key.slice() : undefined
  } catch {
    return undefined
  }
}

/**
 * The OpenSSH public key lines (`type base64 [comment]`, as in authorized_keys and a forge's
 * `NAME.keys`) that are this Ed25519 key, compared blob for blob. Lines of other types, blank lines
 * and `#` comments are skipped; the count of key lines is returned for explanations.
 */
export function findSshKey(text: string, publicKey: Uint8Array): { found: boolean; lines: number } {
  const want = ed25519Blob(publicKey)
  let lines = 0
  let found = false
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    lines++
    const [type, b64] = line.split(/\s+/)
    if (type !== SSH_ED25519 || !b64) continue
    const blob = decodeBase64(b64)
    if (blob && equalBytes(blob, want)) found = true
  }
  return { found, lines }
}
