import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import vectors from '../vectors/cosignature/cosignatures.json'
import {
  base64,
  cosign,
  cosignedMessage,
  cosignerKey,
  formatCosignerKey,
  formatVerifierKey,
  hex,
  keyPairFromSeed,
  parseCosignerKey,
  parseSignatureLines,
  splitNote,
  verifyCosignature,
  verifyCosignedCheckpoint,
} from '../../src/verify/index.ts'

/** C2SP tlog-cosignature v1 (Ed25519): the vectors replayed in workerd and Node, and the checks around them. */

const w1 = vectors.cases[1]!.witnesses[0]!
const w2 = vectors.cases[1]!.witnesses[1]!
const note300 = vectors.cases[1]!.cosignedNote

describe('tlog-cosignature vectors', () => {
  it('every vector line verifies with its vkey and gives its time; the message is the spec layout', async () => {
    for (const c of vectors.cases) {
      for (const w of c.witnesses) {
        const key = parseCosignerKey(w.vkey)!
        expect(key.name).toBe(w.name)
        expect(new TextDecoder().decode(cosignedMessage(c.body, w.time))).toBe(w.message)
        const [sig] = parseSignatureLines(w.line)
        expect(await verifyCosignature(c.body, sig!, key)).toBe(w.time)
        // The other checkpoint's body: the same line is not a cosignature of it.
        const other = vectors.cases.find((x) => x !== c)!
        expect(await verifyCosignature(other.body, sig!, key)).toBeUndefined()
      }
    }
  })

  it('regenerating gives the same lines (Ed25519 is deterministic)', async () => {
    const { buildCosignatureVectors } = await import('../vectors/cosignature/build.ts').catch(() => ({ buildCosignatureVectors: undefined }))
    // The builder reads files through node:fs only when run as a script, so it runs in both runtimes.
    if (buildCosignatureVectors) expect(JSON.parse(await buildCosignatureVectors())).toEqual(vectors)
  })

  it("the spec's example line carries its key id and time, and its message is the spec's text", () => {
    const [sig] = parseSignatureLines(vectors.spec.line + '\n')
    expect(sig!.name).toBe('witness.example.com/w1')
    expect(hex.encode(sig!.keyHash)).toBe(vectors.spec.keyId)
    expect(Number(new DataView(sig!.signature.buffer, sig!.signature.byteOffset).getBigUint64(0))).toBe(vectors.spec.time)
    expect(sig!.signature.length).toBe(72)
    expect(new TextDecoder().decode(cosignedMessage(vectors.spec.body, vectors.spec.time))).toBe(vectors.spec.message)
  })
})

describe('cosigner keys', () => {
  it('the key id commits to type 0x04: the same key as a note verifier (0x01) has another id and is refused as a cosigner', async () => {
    const { publicKey } = await keyPairFromSeed(new Uint8Array(32).fill(0x57))
    const vkey = formatCosignerKey('witness.example/w1', publicKey)
    expect(vkey).toBe(w1.vkey)
    const noteKey = formatVerifierKey('witness.example/w1', publicKey)
    expect(noteKey.split('+')[1]).not.toBe(vkey.split('+')[1])
    expect(parseCosignerKey(noteKey)).toBeUndefined()
  })

  it('refuses malformed vkeys and a key id that does not match', () => {
    for (const bad of ['', 'w+00000000+BA==', w1.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'), w1.vkey + ' ', 'a b+' + w1.vkey.split('+').slice(1).join('+')]) expect(parseCosignerKey(bad)).toBeUndefined()
  })
})

describe('verifyCosignedCheckpoint', () => {
  it('counts distinct named witnesses and compares with k', async () => {
    const r = await verifyCosignedCheckpoint(note300, [w1.vkey, w2.vkey], 2)
    expect(r).toEqual({ ok: true, cosigners: [{ name: w1.name, time: w1.time }, { name: w2.name, time: w2.time }] })
    expect((await verifyCosignedCheckpoint(note300, [w1.vkey], 2)).ok).toBe(false)
    expect((await verifyCosignedCheckpoint(note300, [w1.vkey, w1.vkey], 2)).cosigners).toHaveLength(1)
    expect((await verifyCosignedCheckpoint(note300, [], 0)).ok).toBe(true)
  })

  it('a cosignature moved onto another checkpoint counts for nothing', async () => {
    const lines = note300.slice(note300.indexOf('\n— ') + 1).split('\n').slice(1).join('\n')
    const moved = vectors.cases[0]!.cosignedNote.split('\n— ')[0] + '\n— ' + vectors.cases[0]!.cosignedNote.split('\n— ')[1]!.split('\n')[0] + '\n' + lines
    expect((await verifyCosignedCheckpoint(moved, [w1.vkey, w2.vkey], 1)).cosigners).toEqual([])
  })

  it('any flipped bit in a cosignature line breaks it, or makes the line malformed', async () => {
    const { body, signatures } = splitNote(note300)
    const key = parseCosignerKey(w1.vkey)!
    const sig = signatures.find((s) => s.name === w1.name)!
    const raw = new Uint8Array([...sig.keyHash, ...sig.signature])
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: raw.length * 8 - 1 }), async (bit) => {
        const flipped = raw.slice()
        flipped[bit >> 3]! ^= 1 << (bit & 7)
        const [s] = parseSignatureLines(`— ${w1.name} ${base64.encode(flipped)}\n`)
        expect(await verifyCosignature(body, s!, key)).toBeUndefined()
      }),
      { numRuns: 200 },
    )
  })

  it('refuses a bad k, a witness that is not a cosigner vkey, and a malformed note', async () => {
    await expect(verifyCosignedCheckpoint(note300, [w1.vkey], -1)).rejects.toThrow(RangeError)
    await expect(verifyCosignedCheckpoint(note300, ['nope'], 1)).rejects.toThrow(/vkey/)
    await expect(verifyCosignedCheckpoint('no signatures\n', [w1.vkey], 1)).rejects.toThrow(RangeError)
    await expect(verifyCosignedCheckpoint(note300 + '— x !!\n', [w1.vkey], 1)).rejects.toThrow(/malformed/)
  })

  it('sign and verify round-trip for any time and body; time 0 is refused', async () => {
    const kp = await keyPairFromSeed(new Uint8Array(32).fill(9))
    const key = cosignerKey('w.example/x', kp.publicKey)
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.stringMatching(/^[a-z0-9./]{1,30}$/), async (time, origin) => {
        const body = `${origin}\n5\n${base64.encode(new Uint8Array(32))}\n`
        const [s] = parseSignatureLines(await cosign(body, key, kp.secretKey, time))
        expect(await verifyCosignature(body, s!, key)).toBe(time)
      }),
      { numRuns: 30 },
    )
    expect(() => cosignedMessage('a\n', 0)).toThrow(RangeError)
  })
})
