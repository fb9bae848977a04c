import { describe, expect, it } from 'vitest'
import { encodeDidKey, type Statement } from '../../src/verify/index.ts'
import { ensurePolicy, evaluate, FactIndex, renderExplanation, type Fact, type PolicyInput } from '../../src/policy/index.ts'

/** Keys for scenarios: any 32 bytes make a did:key; the engine never checks signatures. */
const key = (n: number) => encodeDidKey(new Uint8Array(32).fill(n))
const [ME, ALICE, BOB, MALLORY, BUILDER1, BUILDER2, BUILDER3, BRIDGE, REVIEWER] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(key) as [string, string, string, string, string, string, string, string, string]
const H = (c: string) => `sha256-${c.repeat(43)}=`
const SRC = H('A')
const SRC2 = H('B')
const OUT = H('C')
const OUT2 = H('D')
const PKG = 'pkg:generic/mylib'
const V = `${PKG}@1.2.3`
const NOW = 1_800_000_000_000

let n = 0
function fact(actor: string, subject: string, claim: string, object?: string, o: { time?: number; not?: true; meta?: Statement['meta'] } = {}): Fact {
  const s: Statement = { v: 1, actor, subject, claim, time: o.time ?? NOW - 1000, sig: 'x'.repeat(86), ...(object ? { object } : {}), ...(o.not ? { not: true } : {}), ...(o.meta ? { meta: o.meta } : {}) }
  return { id: `sha256-fact${n++}`, statement: s }
}
const policy = (p: Partial<PolicyInput> = {}) => ensurePolicy({ version: 1, trust: { keys: [ME] }, ...p })
const judge = (facts: Fact[], p = policy(), subject = V) => evaluate(new FactIndex(facts), p, subject, { now: NOW })
const texts = (e: { text: string; children?: unknown[] }): string[] => [e.text, ...((e.children ?? []) as typeof e[]).flatMap(texts)]

describe('policy scenarios from the seed', () => {
  it('trusted author + trusted builder: source and build are trusted, and the explanation names both paths', () => {
    const facts = [fact(ME, ALICE, 'author', PKG), fact(ALICE, V, 'source', SRC), fact(ME, BUILDER1, 'trusted-builder'), fact(BUILDER1, SRC, 'build', OUT)]
    const v = judge(facts, policy({ builds: { required: true } }))
    expect(v.verdict).toBe('trusted')
    expect(v.source).toBe(SRC)
    expect(v.builds).toEqual([{ system: '', output: OUT, builders: [BUILDER1] }])
    const all = texts(v.explanation)
    expect(all.some((t) => t.includes('author via') && t.includes(ME.slice(0, 16)))).toBe(true)
    expect(all.some((t) => t.includes(`${OUT} from 1 trusted builder`))).toBe(true)
    expect(renderExplanation(v.explanation)).toContain('✓ pkg:generic/mylib@1.2.3: trusted')
  })

  it('two of three builders agree: the agreed output is trusted and the dissent is reported', () => {
    const facts = [
      fact(ME, V, 'source', SRC),
      ...[BUILDER1, BUILDER2, BUILDER3].map((b) => fact(ME, b, 'trusted-builder')),
      fact(BUILDER1, SRC, 'build', OUT),
      fact(BUILDER2, SRC, 'build', OUT),
      fact(BUILDER3, SRC, 'build', OUT2),
    ]
    const v = judge(facts, policy({ builds: { required: true, agree: 2 } }))
    expect(v.verdict).toBe('trusted')
    expect(v.builds).toEqual([{ system: '', output: OUT, builders: [BUILDER1, BUILDER2] }])
    expect(texts(v.explanation).some((t) => t.includes('trusted builders disagree'))).toBe(true)
    // With only one builder per output, nothing reaches 2: untrusted, not hidden.
    const split = judge(facts.filter((f) => f.statement.actor !== BUILDER2), policy({ builds: { required: true, agree: 2 } }))
    expect(split.verdict).toBe('untrusted')
    expect(split.builds).toEqual([])
  })

  it('at equal times the negative statement wins, whichever order the facts arrive in (a fixed case of the model test)', () => {
    const t = NOW - 1000
    const claim = fact(ALICE, V, 'source', SRC, { time: t })
    const yank = fact(ALICE, V, 'source', SRC, { time: t, not: true })
    for (const order of [[claim, yank], [yank, claim]]) {
      const v = judge([fact(ME, ALICE, 'author', PKG), ...order])
      expect(v.verdict).toBe('untrusted')
      expect(v.source).toBeUndefined()
    }
    // And a revocation at the very time of the grant cuts it: the grant never took effect.
    for (const order of [[fact(ME, ALICE, 'author', PKG, { time: t }), fact(ME, ALICE, 'author', PKG, { time: t, not: true })], [fact(ME, ALICE, 'author', PKG, { time: t, not: true }), fact(ME, ALICE, 'author', PKG, { time: t })]]) {
      expect(judge([...order, fact(ALICE, V, 'source', SRC)]).verdict).toBe('untrusted')
    }
    // One millisecond later, the positive statement is the latest and stands.
    expect(judge([fact(ME, ALICE, 'author', PKG), yank, fact(ALICE, V, 'source', SRC, { time: t + 1 })]).verdict).toBe('trusted')
  })

  it('a yanked version has no trusted source, and the yank is in the explanation', () => {
    const facts = [fact(ME, ALICE, 'author', PKG), fact(ALICE, V, 'source', SRC, { time: NOW - 2000 }), fact(ALICE, V, 'source', SRC, { time: NOW - 1000, not: true })]
    const v = judge(facts)
    expect(v.verdict).toBe('untrusted')
    expect(v.source).toBeUndefined()
    expect(texts(v.explanation)).toContain(`${ALICE.slice(0, 16)}…${ALICE.slice(-4)} says ${V} IS NOT ${SRC}`)
    // The yank is data too, so a caller (vouch check) never parses the explanation's text.
    expect(v.yanked).toEqual([SRC])
    // A yank by a key the policy does not count yanks nothing.
    expect(judge([fact(ME, ALICE, 'author', PKG), fact(ALICE, V, 'source', SRC), fact(MALLORY, V, 'source', SRC, { not: true })]).yanked).toEqual([])
  })

  it('a compromised key revoked: its claims from the revocation on are ignored (or all of them, by policy)', () => {
    const revokedAt = NOW - 5000
    const facts = [
      fact(ME, MALLORY, 'author', PKG, { time: NOW - 9000 }),
      fact(MALLORY, V, 'source', SRC, { time: NOW - 8000 }),
      fact(ME, MALLORY, 'author', PKG, { time: revokedAt, not: true }),
      fact(MALLORY, 'pkg:generic/mylib@6.6.6', 'source', SRC2, { time: NOW - 1000 }),
    ]
    expect(judge(facts).source).toBe(SRC) // made before the revocation
    const later = judge(facts, policy(), 'pkg:generic/mylib@6.6.6')
    expect(later.verdict).toBe('untrusted')
    expect(texts(later.explanation).some((t) => t.includes('revoked'))).toBe(true)
    expect(judge(facts, policy({ revocation: 'all' })).verdict).toBe('untrusted')
  })

  it('a key cannot revoke the key that granted it, nor a co-author', () => {
    const facts = [fact(ME, ALICE, 'author', PKG), fact(ALICE, MALLORY, 'author', PKG), fact(ME, BOB, 'author', PKG), fact(MALLORY, ALICE, 'author', PKG, { not: true }), fact(BOB, ALICE, 'author', PKG, { not: true }), fact(ALICE, V, 'source', SRC)]
    expect(judge(facts).verdict).toBe('trusted')
  })

  it('ownership transfer: the old author names a new one and steps down; the new author publishes', () => {
    const facts = [
      fact(ME, ALICE, 'author', PKG, { time: NOW - 9000 }),
      fact(ALICE, BOB, 'author', PKG, { time: NOW - 5000 }),
      fact(ALICE, ALICE, 'author', PKG, { time: NOW - 4000, not: true }),
      fact(BOB, V, 'source', SRC, { time: NOW - 1000 }),
      fact(ALICE, 'pkg:generic/mylib@9.9.9', 'source', SRC2, { time: NOW - 1000 }),
    ]
    expect(judge(facts).source).toBe(SRC)
    expect(judge(facts, policy(), 'pkg:generic/mylib@9.9.9').verdict).toBe('untrusted') // Alice stepped down before
    // A grant made after the granter's own revocation does not count.
    const late = [fact(ME, ALICE, 'author', PKG, { time: NOW - 9000 }), fact(ME, ALICE, 'author', PKG, { time: NOW - 5000, not: true }), fact(ALICE, BOB, 'author', PKG, { time: NOW - 4000 }), fact(BOB, V, 'source', SRC)]
    expect(judge(late).verdict).toBe('untrusted')
  })

  it('a bridge key trusted for npm: its published claims count for npm packages only', () => {
    const npm = 'pkg:npm/left-pad@1.2.3'
    const sha512 = `sha512-${'E'.repeat(86)}==`
    const facts = [fact(BRIDGE, npm, 'published', sha512, { meta: { registry: 'https://registry.npmjs.org' } }), fact(BRIDGE, 'pkg:pypi/requests@2.0.0', 'published', SRC)]
    const p = policy({ bridges: [{ key: BRIDGE, ecosystems: ['npm'] }] })
    expect(judge(facts, p, npm)).toMatchObject({ verdict: 'trusted', source: sha512 })
    expect(judge(facts, p, 'pkg:pypi/requests@2.0.0').verdict).toBe('untrusted')
    expect(judge(facts, policy(), npm).verdict).toBe('untrusted')
  })

  it('a review requirement: trusted only with enough passing reviews from the named reviewers, and no failing one', () => {
    const base = [fact(ME, V, 'source', SRC)]
    const p = policy({ reviews: { required: 1, from: [REVIEWER] } })
    expect(judge(base, p).verdict).toBe('untrusted')
    expect(judge([...base, fact(MALLORY, SRC, 'review', 'pass')], p).verdict).toBe('untrusted')
    expect(judge([...base, fact(REVIEWER, SRC, 'review', 'pass')], p).verdict).toBe('trusted')
    const failed = judge([...base, fact(REVIEWER, SRC, 'review', 'pass', { time: NOW - 5000 }), fact(REVIEWER, SRC, 'review', 'fail', { time: NOW - 100 })], p)
    expect(failed.verdict).toBe('untrusted')
  })

  it('two trusted authors claiming different hashes is a conflict, reported not hidden', () => {
    const v = judge([fact(ME, ALICE, 'author', PKG), fact(ME, BOB, 'author', PKG), fact(ALICE, V, 'source', SRC), fact(BOB, V, 'source', SRC2)])
    expect(v.verdict).toBe('conflict')
    expect(v.explanation.text).toContain('conflict')
    expect(texts(v.explanation).some((t) => t.includes('disagree'))).toBe(true)
  })

  it('git claims beside a source claim corroborate it: never a conflict, and required only when the policy says so', () => {
    const TREE = 'gitoid:tree:sha1:4b825dc642cb6eb9a060e54bf8d69288fbee4904'
    const TREE2 = `gitoid:tree:sha1:${'1'.repeat(40)}`
    const TREE256 = `gitoid:tree:sha256:${'2'.repeat(64)}`
    const COMMIT = `gitoid:commit:sha1:${'3'.repeat(40)}`
    const base = [fact(ME, ALICE, 'author', PKG), fact(ME, BOB, 'author', PKG), fact(ALICE, V, 'source', SRC)]
    const v = judge([...base, fact(ALICE, V, 'git-tree', TREE), fact(BOB, V, 'git-tree', TREE), fact(ALICE, V, 'git-tree', TREE256), fact(BOB, V, 'git-commit', COMMIT)])
    expect(v.verdict).toBe('trusted')
    expect(v.source).toBe(SRC)
    expect(v.git).toEqual([{ claim: 'git-tree', format: 'sha1', id: TREE }, { claim: 'git-tree', format: 'sha256', id: TREE256 }, { claim: 'git-commit', format: 'sha1', id: COMMIT }])

    // Authors disagreeing on the tree is reported, not a conflict; a stranger's tree and a
    // commit id under git-tree are not read at all.
    const split = judge([...base, fact(ALICE, V, 'git-tree', TREE), fact(BOB, V, 'git-tree', TREE2), fact(MALLORY, V, 'git-tree', TREE2), fact(ALICE, V, 'git-tree', COMMIT)])
    expect(split.verdict).toBe('trusted')
    expect(split.git).toEqual([])
    expect(texts(split.explanation).some((t) => t.includes('disagree on the sha1 tree'))).toBe(true)
    expect(texts(split.explanation).some((t) => t.includes(MALLORY.slice(0, 16)))).toBe(false)

    const needTree = policy({ sources: { requireGit: 'tree' } })
    expect(judge(base, needTree).verdict).toBe('untrusted')
    expect(judge([...base, fact(ALICE, V, 'git-tree', TREE), fact(BOB, V, 'git-tree', TREE2)], needTree).verdict).toBe('untrusted')
    expect(judge([...base, fact(BOB, V, 'git-tree', TREE)], needTree).verdict).toBe('trusted')
    expect(judge([...base, fact(BOB, V, 'git-commit', COMMIT)], needTree).verdict).toBe('untrusted')
    expect(judge([...base, fact(BOB, V, 'git-commit', COMMIT)], policy({ sources: { requireGit: 'commit' } })).verdict).toBe('trusted')
    // A yank of the tree, by any key that may speak for the package, removes it.
    const yanked = judge([...base, fact(BOB, V, 'git-tree', TREE), fact(ALICE, V, 'git-tree', TREE, { not: true })], needTree)
    expect(yanked.verdict).toBe('untrusted')
    expect(renderExplanation(yanked.explanation)).toContain(`IS NOT ${TREE}`)
    // The tree never stands in for a source.
    expect(judge([fact(ME, ALICE, 'author', PKG), fact(ALICE, V, 'git-tree', TREE)], needTree).verdict).toBe('untrusted')
  })

  it('statements dated beyond the clock-skew window are ignored', () => {
    const facts = [fact(ME, V, 'source', SRC, { time: NOW - 1000 }), fact(ME, V, 'source', SRC, { time: NOW + 10 * 60_000, not: true })]
    expect(judge(facts).verdict).toBe('trusted')
    expect(judge(facts, policy({ clockSkewMs: 3_600_000 })).verdict).toBe('untrusted')
  })

  it('roots by alias: a key that claims and proves enough aliases is trusted', () => {
    const facts = [fact(ALICE, ALICE, 'alias', 'dns:alice.example'), fact(ALICE, ALICE, 'alias', 'github:alice'), fact(ALICE, V, 'source', SRC)]
    const p = ensurePolicy({ version: 1, trust: { aliases: [{ aliases: ['dns:alice.example', 'github:alice'], require: 2 }] } })
    const idx = new FactIndex(facts)
    const one = [{ did: ALICE, alias: 'dns:alice.example', method: 'dns' }]
    expect(evaluate(idx, p, V, { now: NOW, proofs: one }).verdict).toBe('untrusted')
    const two = [...one, { did: ALICE, alias: 'github:alice', method: 'github' }]
    expect(evaluate(idx, p, V, { now: NOW, proofs: two }).verdict).toBe('trusted')
    // A proof without the key's own alias claim does not count.
    expect(evaluate(new FactIndex(facts.slice(1)), p, V, { now: NOW, proofs: two }).verdict).toBe('untrusted')
  })
})

describe('policy documents', () => {
  it('refuses unknown fields and bad keys with the path named', () => {
    expect(() => ensurePolicy({ version: 1, trust: { keys: ['did:key:nope'] } })).toThrow(/trust\.keys\.0/)
    expect(() => ensurePolicy({ version: 1, buidls: {} })).toThrow(/buidls/)
    expect(() => ensurePolicy({ version: 2 })).toThrow(/version/)
    expect(ensurePolicy({ version: 1 }).builds).toEqual({ required: false, agree: 1, builderDepth: 1 })
  })
})

describe('explanations name every statement used', () => {
  it('a build verdict names the trusted-builder grant behind each builder', () => {
    const grant = fact(ME, BUILDER1, 'trusted-builder')
    const build = fact(BUILDER1, SRC, 'build', OUT)
    const v = judge([fact(ME, V, 'source', SRC), grant, build], policy({ builds: { required: true } }))
    const ids = (e: { statements?: string[]; children?: unknown[] }): string[] => [...(e.statements ?? []), ...((e.children ?? []) as typeof e[]).flatMap(ids)]
    expect(ids(v.explanation)).toEqual(expect.arrayContaining([grant.id, build.id]))
  })
})
