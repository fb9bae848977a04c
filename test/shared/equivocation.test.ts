import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import vectors from '../vectors/equivocation/evidence.json'
import {
  consistencyProof,
  ensureEvidence,
  evidencePath,
  evidenceFromBlob,
  evidenceSource,
  formatCheckpoint,
  formatEvidence,
  formatSri,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  proveEquivocation,
  ProtocolError,
  rebuildConsistency,
  sha256,
  signNote,
  utf8,
  verifyStatement,
  type Evidence,
  type Statement,
  type SubtreeHash,
} from '../../src/verify/index.ts'

/** The verdict of `proveEquivocation`, or the code it refused with. */
const verdict = (key: string, e: Evidence) =>
  proveEquivocation(key, e).then(
    (p) => p.kind,
    (err: unknown) => (err instanceof ProtocolError ? err.code : Promise.reject(err)),
  )
const subtrees = (leaves: Uint8Array[]): SubtreeHash => async (level, index) => naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))

describe('equivocation evidence vectors (test/vectors/equivocation)', () => {
  for (const c of vectors.cases) {
    it(`${c.name}: ${c.proven ?? c.error}`, async () => {
      expect(await verdict(vectors.verifierKey, ensureEvidence(c.evidence))).toBe(c.proven ?? c.error)
    })
  }

  it('regenerating gives the same file (Ed25519 is deterministic)', async () => {
    const { buildEquivocationVectors } = await import('../vectors/equivocation/build.ts').catch(() => ({ buildEquivocationVectors: undefined }))
    if (buildEquivocationVectors) expect(JSON.parse(await buildEquivocationVectors())).toEqual(vectors)
  })

  it('the signed claim is a valid statement whose meta holds the evidence, and its evidence proves a fork', async () => {
    const v = await verifyStatement(vectors.statement, { now: vectors.statement.time })
    const src = evidenceSource(v.statement)
    expect(src.kind).toBe('meta')
    expect((await proveEquivocation(v.statement.subject, (src as { evidence: Evidence }).evidence)).kind).toBe('inconsistent')
  })
})

describe('the checker', () => {
  it('proves a fork exactly when the forked leaf is among the first m (property)', async () => {
    const log = await keyPairFromSeed(new Uint8Array(32).fill(9))
    const key = formatVerifierKey('p.example/log', log.publicKey)
    const note = (leaves: Uint8Array[], size: number) => signNote(formatCheckpoint({ origin: 'p.example/log', size, root: naiveRoot(leaves.slice(0, size)) }), 'p.example/log', log.publicKey, log.secretKey)
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 70 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 }), fc.integer({ min: 0, max: n - 1 }))),
        fc.boolean(),
        async ([n, m, f], smallIsHonest) => {
          const honest = Array.from({ length: n }, (_, i) => leafHash(utf8(`e${i}`)))
          const forked = honest.map((h, i) => (i === f ? leafHash(utf8('forked')) : h))
          const [small, big] = smallIsHonest ? [honest, forked] : [forked, honest]
          const path = await evidencePath(m, n, await consistencyProof(m, n, subtrees(big)), subtrees(big))
          const got = await verdict(key, formatEvidence(await note(small, m), await note(big, n), path))
          expect(got).toBe(f < m ? 'inconsistent' : 'unproven_equivocation')
        },
      ),
      { numRuns: 60 },
    )
  })

  it('random paths never rebuild a given root (property): a failed proof proves nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 24 }), (a, b, path) => {
        const [m, n] = a < b ? [a, b] : [b, a + 1]
        const r = rebuildConsistency(m, n, path)
        if (r) expect(r.newRoot).not.toEqual(naiveRoot([leafHash(utf8('x'))]))
      }),
    )
  })

  it('rebuilds exactly the two roots of an honest tree for every m < n ≤ 40', async () => {
    const leaves = Array.from({ length: 40 }, (_, i) => leafHash(utf8(String(i))))
    for (let n = 2; n <= 40; n++) {
      for (let m = 1; m < n; m++) {
        const h = subtrees(leaves.slice(0, n))
        const r = rebuildConsistency(m, n, await evidencePath(m, n, await consistencyProof(m, n, h), h))
        expect(r, `${m}, ${n}`).toEqual({ oldRoot: naiveRoot(leaves.slice(0, m)), newRoot: naiveRoot(leaves.slice(0, n)) })
      }
    }
  })

  it('reads evidence strictly, and a blob only through its recomputed hash', async () => {
    const good = vectors.cases[1]!.evidence
    expect(() => ensureEvidence({ ...good, extra: 1 })).toThrow(/unknown evidence field/)
    expect(() => ensureEvidence({ ...good, checkpoints: [good.checkpoints[0]] })).toThrow(/two signed checkpoint notes/)
    expect(() => ensureEvidence({ ...good, proof: ['AAAA'] })).toThrow(/32 bytes/)
    expect(() => ensureEvidence({ ...good, proof: Array(129).fill(good.proof[0]) })).toThrow(/at most 128/)
    const bytes = utf8(JSON.stringify(good))
    const hash = formatSri(await sha256(bytes))
    expect(await evidenceFromBlob(hash, bytes)).toEqual(good)
    await expect(evidenceFromBlob(hash, utf8(JSON.stringify(good) + ' '))).rejects.toThrow(/do not hash/)
    const base = vectors.statement as unknown as Statement
    expect(evidenceSource({ ...base, meta: undefined, object: hash })).toEqual({ kind: 'blob', hash })
    expect(() => evidenceSource({ ...base, object: hash })).toThrow(/takes no meta/)
    expect(() => evidenceSource({ ...base, not: true })).toThrow(/no negative form/)
    await expect(proveEquivocation('not-a-key', ensureEvidence(good))).rejects.toThrow(/verifier key/)
  })
})
