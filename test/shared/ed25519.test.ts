/**
 * Strict Ed25519 verification against published edge-case vectors and against @noble/curves.
 * Runs in both vitest projects (workerd and Node), so a pass here means both runtimes give the
 * same verdicts. The vectors and their provenance are described in test/vectors/ed25519/README.md.
 */
import { ed25519 } from '@noble/curves/ed25519'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import speccheck from '../vectors/ed25519/speccheck-cases.json'
import wycheproof from '../vectors/ed25519/wycheproof-ed25519.json'
import {
  hasSmallOrder,
  hex,
  isCanonicalPoint,
  isCanonicalScalar,
  keyPairFromSeed,
  sign,
  verify,
  weakKeyReason,
  weakSignatureReason,
} from '../../src/verify/index.ts'

const P = 2n ** 255n - 19n
const L = 2n ** 252n + 27742317777372353535851937790883648493n

/** 32-byte little-endian encoding of n (0 <= n < 2^256). */
function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn)
  return out
}
function fromLE(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}
function withSignBit(b: Uint8Array, bit: 0 | 1): Uint8Array {
  const out = b.slice()
  out[31] = (out[31]! & 0x7f) | (bit << 7)
  return out
}
function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice()
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}
const Point = ed25519.ExtendedPoint
/** A point of order 8; its multiples are the whole 8-torsion subgroup. */
const T8 = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')
const TORSION = Array.from({ length: 8 }, (_, i) => T8.multiplyUnsafe(BigInt(i)))
const TORSION_ENCODINGS = TORSION.map((t) => t.toRawBytes())
const verdictRow = (vs: boolean[]): string => vs.map((v) => (v ? 'V' : 'X')).join(' ')

// ---------------------------------------------------------------------------------------------
// 1. ed25519-speccheck
// ---------------------------------------------------------------------------------------------

/**
 * The LibSodium row of the speccheck results table (README): only case 3 verifies. Dalek strict
 * and libra-crypto have the same row.
 */
const LIBSODIUM_ROW = 'X X X V X X X X X X X X'

/**
 * What each case tests (the README condition table) and the rule of ours that refuses it.
 * `reason` is weakKeyReason(A) ?? weakSignatureReason(sig); undefined means the bytes pass the
 * strict checks and the verdict comes from WebCrypto's cofactorless equation.
 * Cases 8–11's "non-canonical" R or A is ecff…ff: y = p - 1 (canonical) with the sign bit set
 * although x = 0. That is an encoding of the order-2 point, so the small-order check refuses it.
 */
const SPECCHECK: { name: string; accept: boolean; reason: string | undefined }[] = [
  { name: 'S = 0 with small-order A and small-order R', accept: false, reason: 'public key has small order' },
  { name: 'small-order A only (R mixed order)', accept: false, reason: 'public key has small order' },
  { name: 'small-order R only (A mixed order)', accept: false, reason: 'signature R has small order' },
  { name: 'mixed-order A and R, valid under both equations (succeeds unless full order is checked)', accept: true, reason: undefined },
  { name: 'mixed-order A and R, valid only under the cofactored equation', accept: false, reason: undefined },
  { name: 'mixed-order A, full-order R, valid only cofactored (fails cofactored iff 8h is prereduced)', accept: false, reason: undefined },
  { name: 'S > L (S out of bounds)', accept: false, reason: 'signature S is not below the group order' },
  { name: 'S >> L (S out of bounds, no canonical encoding with a clear high bit)', accept: false, reason: 'signature S is not below the group order' },
  { name: 'non-canonical small-order R, reduced for hash', accept: false, reason: 'signature R has small order' },
  { name: 'non-canonical small-order R, not reduced for hash', accept: false, reason: 'signature R has small order' },
  { name: 'non-canonical small-order A, reduced for hash', accept: false, reason: 'public key has small order' },
  { name: 'non-canonical small-order A, not reduced for hash', accept: false, reason: 'public key has small order' },
]

const speccheckCases = speccheck.map((c) => ({
  message: hex.decode(c.message),
  publicKey: hex.decode(c.pub_key),
  signature: hex.decode(c.signature),
}))

describe('ed25519-speccheck (verdicts must equal the LibSodium row)', () => {
  it('has the 12 cases the README describes', () => {
    expect(speccheckCases).toHaveLength(12)
    expect(SPECCHECK).toHaveLength(12)
    expect(verdictRow(SPECCHECK.map((c) => c.accept))).toBe(LIBSODIUM_ROW)
  })

  SPECCHECK.forEach(({ name, accept, reason }, i) => {
    it(`case ${i}: ${name} → ${accept ? 'accept' : 'refuse'}`, async () => {
      const { message, publicKey, signature } = speccheckCases[i]!
      expect(weakKeyReason(publicKey) ?? weakSignatureReason(signature)).toBe(reason)
      expect(await verify(signature, message, publicKey)).toBe(accept)
    })
  })

  it('the whole verdict vector equals the LibSodium row', async () => {
    const verdicts: boolean[] = []
    for (const c of speccheckCases) verdicts.push(await verify(c.signature, c.message, c.publicKey))
    expect(verdictRow(verdicts)).toBe(LIBSODIUM_ROW)
  })

  /**
   * Why the byte checks exist: WebCrypto on its own (BoringSSL in workerd, OpenSSL 3 in Node)
   * follows the BoringSSL / OpenSSL-3.0 rows of the README and accepts cases 0, 1, 2 and 11.
   * If this fails, the runtime's Ed25519 changed; the strict verdicts above are what matter.
   */
  it('WebCrypto alone is lenient: it gives the BoringSSL / OpenSSL-3.0 row', async () => {
    const alg = { name: 'Ed25519' }
    const verdicts: boolean[] = []
    for (const c of speccheckCases) {
      let ok = false
      try {
        const key = await crypto.subtle.importKey('raw', c.publicKey, alg, false, ['verify'])
        ok = await crypto.subtle.verify(alg, key, c.signature, c.message)
      } catch {
        ok = false
      }
      verdicts.push(ok)
    }
    expect(verdictRow(verdicts)).toBe('V V V V X X X X X X X V')
  })
})

// ---------------------------------------------------------------------------------------------
// 2. Wycheproof
// ---------------------------------------------------------------------------------------------

describe('Wycheproof ed25519_test.json (valid ⇔ verify returns true)', () => {
  const all = wycheproof.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })))

  it('has 151 tests with unique tcIds: 88 valid, 63 invalid', () => {
    expect(all).toHaveLength(wycheproof.numberOfTests)
    expect(all).toHaveLength(151)
    expect(new Set(all.map((t) => t.tcId)).size).toBe(151)
    expect(all.filter((t) => t.result === 'valid')).toHaveLength(88)
    expect(all.filter((t) => t.result === 'invalid')).toHaveLength(63)
  })

  wycheproof.testGroups.forEach((group, g) => {
    describe(`group ${g} (pk ${group.publicKey.pk.slice(0, 16)}…)`, () => {
      const publicKey = hex.decode(group.publicKey.pk)
      for (const t of group.tests) {
        const label = t.comment || t.flags.join(', ')
        it(`tcId ${t.tcId} [${t.result}]: ${label}`, async () => {
          const ok = await verify(hex.decode(t.sig), hex.decode(t.msg), publicKey)
          expect(ok, `tcId ${t.tcId} (${label}; flags ${t.flags.join(', ')})`).toBe(t.result === 'valid')
        })
      }
    })
  })

  it('signatures of the wrong length resolve to false rather than throwing', async () => {
    const wrong = all.filter((t) => t.sig.length !== 128)
    expect(new Set(wrong.map((t) => t.sig.length / 2))).toEqual(new Set([0, 32, 62, 63, 65, 66, 96]))
    for (const t of wrong) {
      await expect(verify(hex.decode(t.sig), hex.decode(t.msg), hex.decode(t.pk)), `tcId ${t.tcId}`).resolves.toBe(false)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// 3. The byte predicates at their boundaries
// ---------------------------------------------------------------------------------------------

describe('isCanonicalScalar (S < L)', () => {
  it.each([
    { label: '0', s: 0n, expected: true },
    { label: '1', s: 1n, expected: true },
    { label: '2^252', s: 2n ** 252n, expected: true },
    { label: 'L - 1', s: L - 1n, expected: true },
    { label: 'L', s: L, expected: false },
    { label: 'L + 1', s: L + 1n, expected: false },
    { label: '2^253', s: 2n ** 253n, expected: false },
    { label: '2^255', s: 2n ** 255n, expected: false },
    { label: '2^256 - 1', s: 2n ** 256n - 1n, expected: false },
  ])('S = $label → $expected', ({ s, expected }) => {
    expect(isCanonicalScalar(le32(s))).toBe(expected)
  })

  it('agrees with S < L on random scalars, most of them near L', () => {
    const near = fc.bigInt({ min: -300n, max: 300n }).map((d) => L + d)
    const any = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })
    fc.assert(
      fc.property(fc.oneof(near, any), (s) => isCanonicalScalar(le32(s)) === s < L),
      { numRuns: 200 },
    )
  })
})

describe('isCanonicalPoint (y < p, sign bit ignored)', () => {
  it.each([
    { label: '0', y: 0n, expected: true },
    { label: '1', y: 1n, expected: true },
    { label: '2^254', y: 2n ** 254n, expected: true },
    { label: 'p - 1', y: P - 1n, expected: true },
    { label: 'p', y: P, expected: false },
    { label: 'p + 1', y: P + 1n, expected: false },
    { label: 'p + 18 = 2^255 - 1', y: 2n ** 255n - 1n, expected: false },
  ])('y = $label → $expected, with either sign bit', ({ y, expected }) => {
    expect(isCanonicalPoint(withSignBit(le32(y), 0))).toBe(expected)
    expect(isCanonicalPoint(withSignBit(le32(y), 1))).toBe(expected)
  })

  it('agrees with (encoding mod 2^255) < p on random encodings, most of them near p', () => {
    const near = fc.bigInt({ min: -40n, max: 18n }).map((d) => P + d)
    const any = fc.bigInt({ min: 0n, max: 2n ** 255n - 1n })
    fc.assert(
      fc.property(fc.oneof(near, any), fc.constantFrom<0 | 1>(0, 1), (y, s) => isCanonicalPoint(withSignBit(le32(y), s)) === y < P),
      { numRuns: 200 },
    )
  })
})

describe('hasSmallOrder (blocklist compared without the sign bit)', () => {
  const listed: [string, bigint][] = [
    ['0 (order 4)', 0n],
    ['1 (order 1)', 1n],
    ['p - 1 (order 2)', P - 1n],
    ['p, a non-canonical 0', P],
    ['p + 1, a non-canonical 1', P + 1n],
    ['order-8 y = 2707…2022', fromLE(hex.decode('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'))],
    ['order-8 y = 5518…7927', fromLE(hex.decode('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))],
  ]

  it.each(listed)('flags y = %s with either sign bit', (_, y) => {
    expect(hasSmallOrder(withSignBit(le32(y), 0))).toBe(true)
    expect(hasSmallOrder(withSignBit(le32(y), 1))).toBe(true)
  })

  it('every flagged encoding decodes (ZIP 215 rules) to a point of small order: no false positives', () => {
    for (const [name, y] of listed) {
      for (const s of [0, 1] as const) {
        const point = Point.fromHex(withSignBit(le32(y), s), true)
        expect(point.isSmallOrder(), `${name}, sign ${s}`).toBe(true)
      }
    }
  })

  it.each([
    ['2', 2n],
    ['p - 2', P - 2n],
    ['p + 2, a non-canonical 2', P + 2n],
    ['2^255 - 1', 2n ** 255n - 1n],
  ])('does not flag y = %s', (_, y) => {
    expect(hasSmallOrder(withSignBit(le32(y), 0))).toBe(false)
    expect(hasSmallOrder(withSignBit(le32(y), 1))).toBe(false)
  })

  it('does not flag the base point, nor a listed encoding with one bit of y changed unless that gives another listed y', () => {
    expect(hasSmallOrder(Point.BASE.toRawBytes())).toBe(false)
    const ys = new Set(listed.map(([, y]) => y))
    let unflagged = 0
    for (const [name, y] of listed) {
      for (let bit = 0; bit < 255; bit++) {
        const flipped = y ^ (1n << BigInt(bit))
        if (!ys.has(flipped)) unflagged++
        expect(hasSmallOrder(le32(flipped)), `${name}, bit ${bit}`).toBe(ys.has(flipped))
      }
    }
    expect(unflagged).toBeGreaterThan(7 * 255 - 10)
  })
})

describe('weakKeyReason / weakSignatureReason (which rule refuses what)', () => {
  const A = Point.BASE.multiplyUnsafe(12345n).toRawBytes()
  const R = Point.BASE.multiplyUnsafe(67890n).toRawBytes()
  const sig = (r: Uint8Array, s: bigint) => {
    const out = new Uint8Array(64)
    out.set(r)
    out.set(le32(s), 32)
    return out
  }

  it('accepts a full-order key and a signature with canonical R and S < L', () => {
    expect(weakKeyReason(A)).toBeUndefined()
    expect(weakSignatureReason(sig(R, L - 1n))).toBeUndefined()
  })

  it('names each rule', () => {
    expect(weakKeyReason(A.subarray(1))).toBe('public key is not 32 bytes')
    expect(weakKeyReason(le32(P + 3n))).toBe('public key is not canonically encoded')
    expect(weakKeyReason(le32(P))).toBe('public key is not canonically encoded')
    expect(weakKeyReason(TORSION_ENCODINGS[3]!)).toBe('public key has small order')
    expect(weakSignatureReason(sig(R, 0n).subarray(1))).toBe('signature is not 64 bytes')
    expect(weakSignatureReason(sig(R, L))).toBe('signature S is not below the group order')
    expect(weakSignatureReason(sig(le32(P + 3n), 1n))).toBe('signature R is not canonically encoded')
    expect(weakSignatureReason(sig(TORSION_ENCODINGS[5]!, 1n))).toBe('signature R has small order')
  })

  // y = 3, 4, 5, 6, 9, 10, 14, 15, 16 and 18 are on the curve and not of small order, so y + p is
  // a non-canonical encoding of a real point. Only the y < p check refuses these.
  it('refuses non-canonical encodings y + p of on-curve points as A and as R', async () => {
    const onCurve = [3n, 4n, 5n, 6n, 9n, 10n, 14n, 15n, 16n, 18n]
    for (const y of onCurve) {
      expect(() => Point.fromHex(le32(y))).not.toThrow()
      for (const s of [0, 1] as const) {
        const enc = withSignBit(le32(P + y), s)
        expect(hasSmallOrder(enc)).toBe(false)
        expect(weakKeyReason(enc), `A = ${y} + p, sign ${s}`).toBe('public key is not canonically encoded')
        expect(weakSignatureReason(sig(enc, 1n)), `R = ${y} + p, sign ${s}`).toBe('signature R is not canonically encoded')
        expect(await verify(sig(R, 1n), new Uint8Array(), enc)).toBe(false)
      }
    }
  })

  it('verify returns false for keys that are not points on the curve', async () => {
    // y = 2 has no x: (y^2 - 1) / (d y^2 + 1) is not a square.
    expect(() => Point.fromHex(le32(2n))).toThrow()
    expect(weakKeyReason(le32(2n))).toBeUndefined()
    expect(await verify(sig(R, 1n), new Uint8Array(), le32(2n))).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------
// 4. Properties, with @noble/curves as the reference
// ---------------------------------------------------------------------------------------------


describe('properties against @noble/curves', () => {
  it('the 8 torsion points are distinct, small order, and each encoding is flagged with either sign bit', () => {
    expect(T8.multiplyUnsafe(4n).is0()).toBe(false) // order exactly 8
    expect(T8.multiplyUnsafe(8n).is0()).toBe(true)
    const encodings = TORSION.map((t) => hex.encode(t.toRawBytes()))
    expect(new Set(encodings).size).toBe(8)
    TORSION.forEach((t, i) => {
      expect(t.isSmallOrder()).toBe(true)
      for (const s of [0, 1] as const) {
        expect(hasSmallOrder(withSignBit(t.toRawBytes(), s)), `${i}·T8, sign ${s}`).toBe(true)
      }
    })
  })

  it('k·G + T is flagged iff noble says it has small order (k = 0 often, for pure torsion points)', () => {
    const k = fc.oneof(
      { arbitrary: fc.constant(0n), weight: 1 },
      { arbitrary: fc.bigInt({ min: 1n, max: L - 1n }), weight: 3 },
    )
    let pure = 0
    fc.assert(
      fc.property(k, fc.integer({ min: 0, max: 7 }), fc.constantFrom<0 | 1>(0, 1), (k, t, s) => {
        const point = Point.BASE.multiplyUnsafe(k).add(TORSION[t]!)
        const small = point.isSmallOrder()
        if (small) pure++
        // Flipping the sign bit encodes -P (or, when x = 0, nothing): small order either way.
        return hasSmallOrder(withSignBit(point.toRawBytes(), s)) === small
      }),
      { numRuns: 200 },
    )
    expect(pure).toBeGreaterThan(0)
  })

  it('sign then verify is true, agrees with noble, and flipping any one bit of signature or message makes it false', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        async (seed, message, sigBit, msgBit) => {
          const { publicKey } = await keyPairFromSeed(seed)
          const signature = await sign(message, seed)
          expect(hex.encode(publicKey)).toBe(hex.encode(ed25519.getPublicKey(seed)))
          expect(hex.encode(signature)).toBe(hex.encode(ed25519.sign(message, seed)))
          expect(await verify(signature, message, publicKey)).toBe(true)
          expect(await verify(flipBit(signature, sigBit % 512), message, publicKey)).toBe(false)
          expect(await verify(signature, flipBit(message, msgBit % (message.length * 8)), publicKey)).toBe(false)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('flipping each of the 512 signature bits in turn makes a good signature fail', async () => {
    const seed = new Uint8Array(32).fill(7)
    const message = new TextEncoder().encode('vouch')
    const { publicKey } = await keyPairFromSeed(seed)
    const signature = await sign(message, seed)
    expect(await verify(signature, message, publicKey)).toBe(true)
    for (let bit = 0; bit < 512; bit++) {
      expect(await verify(flipBit(signature, bit), message, publicKey), `bit ${bit}`).toBe(false)
    }
  })

  it('verify never throws on random bytes of any length as signature, message or key', async () => {
    const good = await keyPairFromSeed(new Uint8Array(32).fill(9))
    const bytes = (len: number) => fc.uint8Array({ minLength: len, maxLength: len })
    // S below 2^252 < L, so these pass the byte checks more often and reach WebCrypto.
    const plausibleSig = bytes(64).map((b) => {
      const c = b.slice()
      c[63] = c[63]! & 0x0f
      return c
    })
    const signature = fc.oneof(fc.uint8Array({ maxLength: 130 }), bytes(64), plausibleSig)
    const publicKey = fc.oneof(fc.uint8Array({ maxLength: 66 }), bytes(32), fc.constant(good.publicKey))
    await fc.assert(
      fc.asyncProperty(signature, fc.uint8Array({ maxLength: 100 }), publicKey, async (sig, msg, pk) => {
        expect(await verify(sig, msg, pk)).toBe(false)
      }),
      { numRuns: 200 },
    )
  })

  it('verify rejects with TypeError when an argument is not a Uint8Array', async () => {
    const ok = await keyPairFromSeed(new Uint8Array(32).fill(3))
    const msg = new Uint8Array([1, 2, 3])
    const sig = await sign(msg, ok.secretKey)
    const notBytes = fc.oneof(
      fc.anything(),
      fc.constantFrom<unknown>(
        new ArrayBuffer(64),
        new DataView(new ArrayBuffer(64)),
        new Uint8ClampedArray(64),
        new Int8Array(64),
        new Uint16Array(32),
        Array.from(sig),
        hex.encode(sig),
      ),
    ).filter((v) => !(v instanceof Uint8Array))
    await fc.assert(
      fc.asyncProperty(notBytes, fc.integer({ min: 0, max: 2 }), async (bad, position) => {
        const args: unknown[] = [sig, msg, ok.publicKey]
        args[position] = bad
        await expect(verify(...(args as [Uint8Array, Uint8Array, Uint8Array]))).rejects.toBeInstanceOf(TypeError)
      }),
      { numRuns: 150 },
    )
    expect(await verify(sig, msg, ok.publicKey)).toBe(true)
  })
})
