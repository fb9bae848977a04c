import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { admittedKeys, type Fact } from '../../src/policy/index.ts'
import { encodeDidKey, type Statement } from '../../src/verify/index.ts'

const key = (n: number) => encodeDidKey(new Uint8Array(32).fill(n))
const [OP, A, B, C, D] = [1, 2, 3, 4, 5].map(key) as [string, string, string, string, string]
const NOW = 1_800_000_000_000
let n = 0
const grant = (by: string, to: string, o: { time?: number; not?: true; object?: string } = {}): Fact => ({
  id: `sha256-g${n++}`,
  statement: { v: 1, actor: by, subject: to, claim: 'admit', time: o.time ?? NOW - 1000, sig: 'x'.repeat(86), ...(o.object ? { object: o.object } : {}), ...(o.not ? { not: true } : {}) } as Statement,
})
const admitted = (facts: Fact[], depth = 2) => [...admittedKeys(facts, [OP], depth, NOW).keys()].sort()

describe('admission grants (trusted mode)', () => {
  it('roots and keys within the depth are admitted; one grant further is not', () => {
    const facts = [grant(OP, A), grant(A, B), grant(B, C)]
    expect(admitted(facts, 2)).toEqual([OP, A, B].sort())
    expect(admitted(facts, 3)).toEqual([OP, A, B, C].sort())
    expect(admitted(facts, 0)).toEqual([OP])
  })

  it('a grant from an unadmitted key admits nobody', () => {
    expect(admitted([grant(D, C)])).toEqual([OP])
  })

  it('a grant with an object, or another claim, is not an admission', () => {
    const other = { ...grant(OP, A), statement: { ...grant(OP, A).statement, claim: 'author' } }
    expect(admitted([grant(OP, A, { object: 'pkg:npm' }), other])).toEqual([OP])
  })

  it('revoked by the root: the key leaves; its grants made before the revocation stand, later ones do not', () => {
    const facts = [
      grant(OP, A, { time: NOW - 3000 }),
      grant(A, B, { time: NOW - 2000 }),
      grant(OP, A, { time: NOW - 1000, not: true }),
      grant(A, C, { time: NOW - 500 }),
    ]
    expect(admitted(facts)).toEqual([OP, B].sort())
  })

  it('a key cannot revoke the key that admitted it', () => {
    const facts = [grant(OP, A, { time: NOW - 3000 }), grant(A, B, { time: NOW - 2000 }), grant(B, A, { time: NOW - 1000, not: true })]
    expect(admitted(facts)).toEqual([OP, A, B].sort())
  })

  it('a post-dated grant does not count yet', () => {
    expect(admitted([grant(OP, A, { time: NOW + 60_000 })])).toEqual([OP])
  })

  it('whatever the grants, every admitted key has a path of at most maxDepth grants from a root', () => {
    const keys = [OP, A, B, C, D]
    const arb = fc.array(fc.record({ by: fc.integer({ min: 0, max: 4 }), to: fc.integer({ min: 0, max: 4 }), not: fc.boolean(), t: fc.integer({ min: 1, max: 5000 }) }), { maxLength: 12 })
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 4 }), (gs, depth) => {
        const facts = gs.map((g) => grant(keys[g.by]!, keys[g.to]!, { time: NOW - g.t, ...(g.not ? { not: true as const } : {}) }))
        const out = admittedKeys(facts, [OP], depth, NOW)
        expect(out.get(OP)?.depth).toBe(0)
        for (const [k, s] of out) {
          expect(s.depth).toBeLessThanOrEqual(depth)
          expect(s.via.length).toBe(s.depth)
          if (s.depth) expect(s.via.at(-1)!.statement.subject).toBe(k)
          if (s.depth) expect(s.via[0]!.statement.actor).toBe(OP)
        }
      }),
    )
  })
})
