import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeDidKey, formatCosignerKey, keyPairFromSeed, type Statement } from '../../src/verify/index.ts'
import { ensurePolicy, evaluate, FactIndex, PolicyError, revokedKeys, type Explanation, type Fact, type PolicyInput } from '../../src/policy/index.ts'

/**
 * `revocation: "witnessed"` (POLICY.md rule 4, issue 16.6): a revoked key's claim counts only when
 * witnesses proved it existed before the revocation (`Fact.witnessedAt`); its own time, which a
 * thief holding the key can set at will, is never the cut-off.
 */

const key = (n: number) => encodeDidKey(new Uint8Array(32).fill(n))
const [ME, MALLORY, EVE, BUILDER] = [1, 4, 10, 5].map(key) as [string, string, string, string]
const H = (c: string) => `sha256-${c.repeat(43)}=`
const PKG = 'pkg:generic/mylib'
const V = `${PKG}@1.2.3`
const NOW = 1_800_000_000_000
const WITNESS = formatCosignerKey('relay-b.test/vouch-witness', (await keyPairFromSeed(new Uint8Array(32).fill(0x31))).publicKey)

let n = 0
function fact(actor: string, subject: string, claim: string, object?: string, o: { time?: number; not?: true; witnessedAt?: number; meta?: Statement['meta'] } = {}): Fact {
  const s: Statement = { v: 1, actor, subject, claim, time: o.time ?? NOW - 1000, sig: 'x'.repeat(86), ...(object ? { object } : {}), ...(o.not ? { not: true } : {}), ...(o.meta ? { meta: o.meta } : {}) }
  return { id: `sha256-fact${n++}`, statement: s, ...(o.witnessedAt !== undefined && { witnessedAt: o.witnessedAt, witnessedBy: ['relay-b.test/vouch-witness'] }) }
}
const logs = { witnesses: [{ key: WITNESS }], k: 1 }
function policy(p: Partial<PolicyInput> = {}) {
  return ensurePolicy({ version: 1, trust: { keys: [ME] }, logs, ...p })
}
const WITNESSED = policy({ revocation: 'witnessed' })
const judge = (facts: Fact[], p = WITNESSED, subject = V) => evaluate(new FactIndex(facts), p, subject, { now: NOW })
const nodes = (e: Explanation): Explanation[] => [e, ...(e.children ?? []).flatMap(nodes)]

describe('revocation: "witnessed"', () => {
  it('needs logs to name the witnesses, with a clear error', () => {
    expect(() => ensurePolicy({ version: 1, revocation: 'witnessed' })).toThrow(PolicyError)
    expect(() => ensurePolicy({ version: 1, revocation: 'witnessed' })).toThrow(/revocation: "witnessed" needs "logs"/)
    expect(policy({ revocation: 'witnessed' }).revocation).toBe('witnessed')
  })

  it('a back-dated claim of a stolen key counts under from-time and not under witnessed; a witnessed one does', () => {
    const revokedAt = NOW - 5000
    const grant = fact(ME, MALLORY, 'author', PKG, { time: NOW - 9000 })
    const revoke = fact(ME, MALLORY, 'author', PKG, { time: revokedAt, not: true })
    // Claim 1: made and witnessed before the revocation. Claim 2: the thief's, dated before it, witnessed after.
    const honest = fact(MALLORY, V, 'source', H('A'), { time: NOW - 8000, witnessedAt: NOW - 7900 })
    const thief = fact(MALLORY, 'pkg:generic/mylib@6.6.6', 'source', H('B'), { time: NOW - 6000, witnessedAt: NOW - 100 })
    const facts = [grant, revoke, honest, thief]
    expect(judge(facts, policy(), thief.statement.subject).source).toBe(H('B')) // the vulnerability
    expect(judge(facts).source).toBe(H('A'))
    const v = judge(facts, undefined, thief.statement.subject)
    expect(v.verdict).toBe('untrusted')
    const refused = nodes(v.explanation).find((x) => x.rule === 'not-witnessed')!
    expect(refused.text).toBe(
      `not counted: ${MALLORY.slice(0, 16)}…${MALLORY.slice(-4)} was revoked from ${new Date(revokedAt).toISOString()} and this claim was first witnessed by ${new Date(NOW - 100).toISOString()}, not before then (its own time ${new Date(NOW - 6000).toISOString()} is the key's word, which a thief can back-date)`,
    )
    const counted = nodes(judge(facts).explanation).find((x) => x.rule === 'witnessed')!
    expect(counted).toMatchObject({ ok: true, statements: [honest.id] })
    expect(counted.text).toContain(`witnessed by relay-b.test/vouch-witness by ${new Date(NOW - 7900).toISOString()}, before the key was revoked from ${new Date(revokedAt).toISOString()}`)
    // Without a bound at all: refused, and the text says no witnessed checkpoint holds it.
    const unbound = judge([grant, revoke, { ...honest, witnessedAt: undefined }])
    expect(unbound.verdict).toBe('untrusted')
    expect(nodes(unbound.explanation).find((x) => x.rule === 'not-witnessed')!.text).toContain('this claim is in no checkpoint witnessed before then')
  })

  it('grants of a revoked key count only when witnessed before its revocation; builds too', () => {
    const base = [fact(ME, MALLORY, 'author', PKG, { time: NOW - 9000 }), fact(ME, MALLORY, 'author', PKG, { time: NOW - 5000, not: true }), fact(EVE, V, 'source', H('A'))]
    const grant = (witnessedAt?: number) => fact(MALLORY, EVE, 'author', PKG, { time: NOW - 8000, ...(witnessedAt !== undefined && { witnessedAt }) })
    expect(judge([...base, grant(NOW - 7000)]).source).toBe(H('A'))
    expect(judge([...base, grant(NOW - 4000)]).verdict).toBe('untrusted')
    expect(judge([...base, grant()]).verdict).toBe('untrusted')
    expect(judge([...base, grant()], policy()).source).toBe(H('A')) // from-time believes the grant's date
    const builds = [
      fact(ME, BUILDER, 'trusted-builder', undefined, { time: NOW - 9000 }),
      fact(ME, BUILDER, 'trusted-builder', undefined, { time: NOW - 5000, not: true }),
      fact(ME, V, 'source', H('A')),
      fact(BUILDER, H('A'), 'build', H('C'), { time: NOW - 8000 }),
    ]
    expect(judge(builds, policy({ revocation: 'from-time' })).builds).toHaveLength(1)
    expect(judge(builds).builds).toHaveLength(0)
    expect(judge([...builds.slice(0, 3), { ...builds[3]!, witnessedAt: NOW - 7000 }]).builds).toHaveLength(1)
  })

  it('revokedKeys names the revoked authors and builders the client must bound, and no one else', () => {
    const facts = [
      fact(ME, MALLORY, 'author', PKG, { time: NOW - 9000 }),
      fact(ME, MALLORY, 'author', PKG, { time: NOW - 5000, not: true }),
      fact(ME, EVE, 'author', PKG, { time: NOW - 9000 }),
      fact(ME, BUILDER, 'trusted-builder', undefined, { time: NOW - 9000 }),
      fact(ME, BUILDER, 'trusted-builder', undefined, { time: NOW - 5000, not: true }),
    ]
    expect([...revokedKeys(new FactIndex(facts), policy({ revocation: 'witnessed' }), V, { now: NOW })].sort()).toEqual([MALLORY, BUILDER].sort())
  })

  it('property: no claim of a revoked key counts unless witnessedAt < revokedAt, whatever its own time', () => {
    const hashes = ['A', 'B', 'C', 'D'].map(H)
    const claim = fc.record({ time: fc.integer({ min: NOW - 20_000, max: NOW }), witnessedAt: fc.option(fc.integer({ min: NOW - 20_000, max: NOW + 1000 }), { nil: undefined }), h: fc.constantFrom(...hashes), not: fc.boolean() })
    fc.assert(
      fc.property(fc.integer({ min: NOW - 20_000, max: NOW }), fc.uniqueArray(claim, { minLength: 1, maxLength: 4, selector: (c) => c.h }), fc.boolean(), (revokedAt, claims, viaGrant) => {
        // The revoked key publishes directly, or through a key it granted (then the grant is what is dated).
        const facts = [fact(ME, MALLORY, 'author', PKG, { time: NOW - 30_000, witnessedAt: NOW - 30_000 }), fact(ME, MALLORY, 'author', PKG, { time: revokedAt, not: true })]
        let grantOk = true
        let publisher = MALLORY
        if (viaGrant) {
          const g = claims[0]!
          facts.push(fact(MALLORY, EVE, 'author', PKG, { time: g.time, ...(g.witnessedAt !== undefined && { witnessedAt: g.witnessedAt }) }))
          grantOk = g.witnessedAt !== undefined && g.witnessedAt < revokedAt
          publisher = EVE
        }
        const mine = claims.map((c) => fact(publisher, V, 'source', c.h, { time: c.time, ...(c.not && { not: true }), ...(c.witnessedAt !== undefined && !viaGrant && { witnessedAt: c.witnessedAt }) }))
        const v = judge([...facts, ...mine])
        const used = new Set(nodes(v.explanation).filter((x) => x.rule === 'source-claim' || x.rule === 'yank').flatMap((x) => x.statements ?? []))
        for (const f of mine) {
          if (!used.has(f.id)) continue
          // Counted: the claim itself (or the grant its key holds) was witnessed before the revocation.
          if (viaGrant) expect(grantOk).toBe(true)
          else expect(f.witnessedAt !== undefined && f.witnessedAt < revokedAt).toBe(true)
        }
        // And the claims' own times change nothing (one claim per hash, so no claim's time decides
        // which of two is in force): moving every one to just before the revocation gives the same verdict.
        const moved = judge([...facts, ...mine.map((f) => ({ ...f, statement: { ...f.statement, time: Math.min(f.statement.time, revokedAt - 1) } }))])
        if (!viaGrant) expect(moved.source).toBe(v.source)
      }),
      { numRuns: 300 },
    )
  })
})
