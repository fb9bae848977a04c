import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ed25519Blob, parseEd25519Blob, sshString, SshReader, sshU32 } from '../../src/identity/ssh.ts'

// The one SSH wire codec, used by the forge-key proof (workerd) and the CLI's key files and agent (Node).
describe('SSH wire codec', () => {
  // ssh-keygen's public key for 32 bytes of 7s, as in authorized_keys.
  const SEVENS = 'AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH'

  it('writes the RFC 8709 blob OpenSSH writes', () => {
    const blob = ed25519Blob(new Uint8Array(32).fill(7))
    expect(btoa(String.fromCharCode(...blob))).toBe(SEVENS)
  })

  it('property: a key survives blob and back; a cut or extended blob is refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 50 }), (key, cut) => {
        const blob = ed25519Blob(key)
        expect(parseEd25519Blob(blob)).toEqual(key)
        expect(parseEd25519Blob(blob.subarray(0, blob.length - cut))).toBeUndefined()
        expect(parseEd25519Blob(new Uint8Array([...blob, 0]))).toBeUndefined()
      }),
    )
  })

  it('refuses other key types and wrong key lengths', () => {
    const rsa = new Uint8Array([...sshString('ssh-rsa'), ...sshString(new Uint8Array(32))])
    expect(parseEd25519Blob(rsa)).toBeUndefined()
    expect(parseEd25519Blob(new Uint8Array([...sshString('ssh-ed25519'), ...sshString(new Uint8Array(31))]))).toBeUndefined()
  })

  it('reads u32 across the whole range and throws on a length past the end', () => {
    for (const n of [0, 1, 255, 256, 2 ** 31, 2 ** 32 - 1]) expect(new SshReader(sshU32(n)).u32()).toBe(n)
    const r = new SshReader(new Uint8Array([...sshU32(5), 1, 2]))
    expect(() => r.bytes()).toThrow('truncated')
  })
})
