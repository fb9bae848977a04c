import { concat, decodeBase64, equalBytes, utf8 } from '../verify/index.ts'

const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
const sshString = (b: Uint8Array) => concat(u32(b.length), b)

/** The SSH wire form of an Ed25519 public key (RFC 8709): string "ssh-ed25519", string key. */
export const ed25519Blob = (publicKey: Uint8Array): Uint8Array => concat(sshString(utf8('ssh-ed25519')), sshString(publicKey))

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
    if (type !== 'ssh-ed25519' || !b64) continue
    const blob = decodeBase64(b64)
    if (blob && equalBytes(blob, want)) found = true
  }
  return { found, lines }
}
