/**
 * Replays test/vectors/statements.json (docs/PROTOCOL.md §9) in both vitest projects, so workerd
 * and Node must give every vector the same verdict. Regenerate the file with
 * `node --import tsx test/vectors/generate.ts`; this test does not depend on the generator.
 */
import { describe, expect, it } from 'vitest'
import file from '../vectors/statements.json'
import {
  canonicalize,
  encodeDidKey,
  formatSri,
  hex,
  keyPairFromSeed,
  LIMITS,
  parseJson,
  parseJsonBytes,
  ProtocolError,
  sha256,
  signingBytes,
  signStatement,
  SIGNING_PREFIX,
  statementId,
  unsigned,
  utf8,
  verifyStatement,
  type Json,
  type Statement,
  type UnsignedStatement,
} from '../../src/verify/index.ts'

interface ValidVector {
  name: string
  description: string
  seedHex: string
  statement: Statement
  canonical: string
  signingInputHex: string
  id: string
  sig: string
}
interface InvalidVector {
  name: string
  description: string
  json: string
  now: number
  code: string
}
const vectors = file as unknown as { description: string; signingPrefix: string; valid: ValidVector[]; invalid: InvalidVector[] }

/** Every code a single statement can be refused with: strict JSON (§4 step 1) and item level (§8). */
const STATEMENT_CODES = [
  'invalid_utf8',
  'malformed_json',
  'duplicate_key',
  'bad_number',
  'number_out_of_range',
  'invalid_unicode',
  'too_deep',
  'not_object',
  'unsupported_version',
  'unknown_field',
  'missing_field',
  'bad_type',
  'bad_actor',
  'bad_subject',
  'bad_object',
  'bad_claim',
  'bad_hash',
  'bad_did',
  'bad_not',
  'bad_time',
  'bad_meta',
  'bad_sig_encoding',
  'too_large',
  'future_time',
  'weak_key',
  'bad_signature',
]

describe('statement vectors file', () => {
  it('uses the signing prefix of this implementation', () => {
    expect(vectors.signingPrefix).toBe(SIGNING_PREFIX)
  })

  it('has unique names and an invalid vector for every statement error code', () => {
    const names = [...vectors.valid, ...vectors.invalid].map((v) => v.name)
    expect(new Set(names).size).toBe(names.length)
    expect([...new Set(vectors.invalid.map((v) => v.code))].sort()).toEqual([...STATEMENT_CODES].sort())
  })

  it('covers every workflow of the claim vocabulary, positive and negative', () => {
    const forms = new Set(vectors.valid.map(({ statement: s }) => `${s.claim}${s.not ? ' not' : ''}`))
    for (const claim of ['source', 'build', 'author', 'review', 'trusted-builder', 'alias', 'published']) expect(forms).toContain(claim)
    for (const negative of ['source not', 'author not', 'trusted-builder not', 'alias not', 'published not']) expect(forms).toContain(negative)
  })
})

describe('valid statement vectors', () => {
  for (const v of vectors.valid) {
    it(v.name, async () => {
      const s = v.statement
      expect(canonicalize(s as unknown as Json)).toBe(v.canonical)
      expect(utf8(v.canonical).length).toBeLessThanOrEqual(LIMITS.statementBytes)
      expect(s.sig).toBe(v.sig)

      const input = signingBytes(s)
      expect(hex.encode(input)).toBe(v.signingInputHex)
      expect(v.signingInputHex.startsWith(hex.encode(utf8(SIGNING_PREFIX)))).toBe(true)

      const verified = await verifyStatement(s, { now: s.time })
      expect(verified.id).toBe(v.id)
      expect(verified.canonical).toBe(v.canonical)
      expect(await statementId(s)).toBe(v.id)
      expect(formatSri(await sha256(utf8(v.canonical)))).toBe(v.id)

      // What a relay serves (the canonical text) parses strictly and verifies to the same id.
      const fromText = await verifyStatement(parseJson(v.canonical, { maxDepth: LIMITS.bodyDepth }), { now: s.time })
      expect(fromText.id).toBe(v.id)

      // Ed25519 is deterministic: the seed re-signs to the same signature.
      const seed = hex.decode(v.seedHex)
      const { publicKey } = await keyPairFromSeed(seed)
      expect(encodeDidKey(publicKey)).toBe(s.actor)
      expect((await signStatement(unsigned(s), seed)).sig).toBe(v.sig)
    })
  }
})

describe('invalid statement vectors', () => {
  for (const v of vectors.invalid) {
    it(v.name, async () => {
      let error: unknown
      try {
        // Bytes, as a relay receives them: the UTF-8 rule (no BOM) is part of step 1.
        const value = parseJsonBytes(new TextEncoder().encode(v.json), { maxDepth: LIMITS.bodyDepth })
        await verifyStatement(value, { now: v.now })
      } catch (e) {
        error = e
      }
      expect(error, 'the statement was accepted').toBeInstanceOf(ProtocolError)
      expect((error as ProtocolError).code).toBe(v.code)
    })
  }
})

/**
 * Direct library use: values built in code never pass through parseJson, so its invalid_unicode
 * and bad_number checks do not run. ensureStatementShape (which signStatement and verifyStatement
 * both call first) must refuse lone surrogates and non-integers itself, with the item-level codes.
 */
describe('direct library use, without parseJson', () => {
  const seed = new Uint8Array(32).fill(7)
  const base = async () => ({
    v: 1 as const,
    actor: encodeDidKey((await keyPairFromSeed(seed)).publicKey),
    subject: 'pkg:generic/a',
    claim: 'source',
    object: 'sha256-I3A8i5BzT/YWv9CwizrkmPNzYfmFi9d1E4A3XYDDDLo=',
    time: 1_700_000_000_000,
    meta: { note: 'ok' } as Record<string, Json>,
  })
  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError)
      return (e as ProtocolError).code
    }
    throw new Error('expected a ProtocolError, but the statement was accepted')
  }
  const cases: [string, (s: Awaited<ReturnType<typeof base>>) => object, string][] = [
    ['a lone high surrogate in subject', (s) => ({ ...s, subject: 'pkg:generic/a\ud800' }), 'bad_subject'],
    ['a lone low surrogate in subject', (s) => ({ ...s, subject: '\udc00pkg:generic/a' }), 'bad_subject'],
    ['a reversed surrogate pair in object', (s) => ({ ...s, object: 'pkg:generic/b\ude02\ud83d' }), 'bad_object'],
    ['a lone surrogate as a meta key', (s) => ({ ...s, meta: { '\udc00': 1 } }), 'bad_meta'],
    ['a lone surrogate in a nested meta key', (s) => ({ ...s, meta: { a: [{ ['x\ud800']: true }] } }), 'bad_meta'],
    ['a lone surrogate in a meta value', (s) => ({ ...s, meta: { a: ['\ud83d'] } }), 'bad_meta'],
    ['a fraction in meta', (s) => ({ ...s, meta: { ratio: 1.5 } }), 'bad_meta'],
    ['a fractional time', (s) => ({ ...s, time: 1.5 }), 'bad_time'],
  ]

  it('signs and verifies the well-formed base statement (the control)', async () => {
    const signed = await signStatement(await base(), seed)
    expect((await verifyStatement(signed, { now: signed.time })).statement).toEqual(signed)
    // A properly paired astral character is fine.
    const astral = await signStatement({ ...(await base()), subject: 'pkg:generic/a\u{1F602}', meta: { '\u{1F602}': '\u{1F602}' } }, seed)
    await expect(verifyStatement(astral, { now: astral.time })).resolves.toBeDefined()
  })

  for (const [name, change, code] of cases) {
    it(`signStatement and verifyStatement refuse ${name} with ${code}`, async () => {
      const bad = change(await base()) as UnsignedStatement
      expect(await codeOf(signStatement(bad, seed))).toBe(code)
      // Sign the good statement, then swap in the bad value: verification refuses it for its shape.
      const signed = await signStatement(await base(), seed)
      expect(await codeOf(verifyStatement({ ...change(signed as never), sig: signed.sig }, { now: signed.time }))).toBe(code)
    })
  }
})
