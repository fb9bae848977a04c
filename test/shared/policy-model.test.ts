import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ensurePolicy, evaluate, FactIndex, type Policy } from '../../src/policy/index.ts'
import { encodeDidKey, type Statement } from '../../src/verify/index.ts'

/**
 * The engine against a deliberately simple model of docs/POLICY.md: no indexes, no BFS, every
 * rule written as a scan over all statements. Random trust graphs and statement sets over a tiny
 * universe (so ties, cycles, revocations and conflicts happen often) must give the same verdict,
 * source and builds.
 */
const KEYS = [1, 2, 3, 4].map((n) => encodeDidKey(new Uint8Array(32).fill(n)))
const PKG = 'pkg:generic/p'
const V = `${PKG}@1`
const NPM = 'pkg:npm/q@1'
const HASHES = ['A', 'B'].map((c) => `sha256-${c.repeat(43)}=`)
const OUTS = ['D', 'E'].map((c) => `sha256-${c.repeat(43)}=`)
const NOW = 6

function model(all: Statement[], policy: Policy, subject: string): { verdict: string; source?: string; builds: string[] } {
  const horizon = NOW + policy.clockSkewMs
  const S = all.filter((s) => s.time <= horizon)
  const same = (a: Statement, b: Statement) => a.actor === b.actor && a.subject === b.subject && a.claim === b.claim && a.object === b.object
  const beats = (a: Statement, b: Statement) => a.time > b.time || (a.time === b.time && !!a.not && !b.not)
  const inForce = (s: Statement) => !S.some((o) => o !== s && same(o, s) && beats(o, s))
  const roots = new Set(policy.trust.keys)

  function authority(claim: string, object: string | undefined, maxDepth: number) {
    const grant = (g: string, x: string) =>
      S.filter((s) => s.actor === g && s.subject === x && s.claim === claim && s.object === object && !s.not).sort((a, b) => a.time - b.time)[0]
    const relax = (ok: (g: string, x: string) => boolean) => {
      const depth = new Map<string, number>([...roots].map((r) => [r, 0]))
      for (let round = 0; round < KEYS.length + 1; round++)
        for (const g of KEYS)
          for (const x of KEYS) {
            const dg = depth.get(g)
            if (dg === undefined || dg + 1 > maxDepth || !grant(g, x) || !ok(g, x)) continue
            if ((depth.get(x) ?? Infinity) > dg + 1) depth.set(x, dg + 1)
          }
      return depth
    }
    const d0 = relax(() => true)
    const revokedAt = new Map<string, number>()
    for (const x of d0.keys()) {
      if (d0.get(x) === 0) continue
      for (const r of d0.keys()) {
        if (r !== x && !(d0.get(r)! < d0.get(x)!)) continue
        const mine = S.filter((s) => s.actor === r && s.subject === x && s.claim === claim && s.object === object)
        const latest = mine.find((s) => inForce(s))
        if (latest?.not && latest.time < (revokedAt.get(x) ?? Infinity)) revokedAt.set(x, latest.time)
      }
    }
    const d1 = relax((g, x) => grant(g, x)!.time < (revokedAt.get(g) ?? Infinity))
    return { depth: d1, revokedAt }
  }
  const counts = (a: ReturnType<typeof authority>, actor: string, time: number) =>
    a.depth.has(actor) && (!a.revokedAt.has(actor) || (policy.revocation === 'from-time' && time < a.revokedAt.get(actor)!))

  const authors = authority('author', subject.slice(0, subject.lastIndexOf('@')), policy.sources.authorDepth)
  const type = subject.split(':')[1]!.split('/')[0]!
  const isBridge = (k: string) => policy.bridges.some((b) => b.key === k && b.ecosystems.includes(type))
  const mayPublish = (s: Statement) => counts(authors, s.actor, s.time) && (authors.depth.get(s.actor)! > 0 || policy.sources.rootsMayPublish)
  const relevant = S.filter((s) => s.subject === subject && inForce(s) && ((s.claim === 'source' && mayPublish(s)) || (s.claim === 'published' && isBridge(s.actor))))
  const yanked = new Set(relevant.filter((s) => s.not).map((s) => s.object))
  const hashes = [...new Set(relevant.filter((s) => !s.not && s.object && !yanked.has(s.object)).map((s) => s.object!))]
  const source = hashes.length === 1 ? hashes[0] : undefined
  let conflict = hashes.length > 1
  const builds: string[] = []
  let buildsOk = !policy.builds.required
  if (source) {
    const builders = authority('trusted-builder', undefined, policy.builds.builderDepth)
    const bs = S.filter((s) => s.subject === source && s.claim === 'build' && !s.not && s.object && inForce(s) && counts(builders, s.actor, s.time))
    const systems = new Set(bs.map((s) => (typeof s.meta?.system === 'string' ? s.meta.system : '')))
    for (const sys of systems) {
      const inSys = bs.filter((s) => (typeof s.meta?.system === 'string' ? s.meta.system : '') === sys)
      const agreed = [...new Set(inSys.map((s) => s.object!))].filter((o) => new Set(inSys.filter((s) => s.object === o).map((s) => s.actor)).size >= policy.builds.agree)
      if (agreed.length > 1) conflict = true
      if (agreed.length === 1) builds.push(`${sys}|${agreed[0]}|${[...new Set(inSys.filter((s) => s.object === agreed[0]).map((s) => s.actor))].sort().join(',')}`)
    }
    if (builds.length) buildsOk = true
  }
  let reviewsOk = true
  if (policy.reviews.required > 0) {
    const from = new Set(policy.reviews.from === 'roots' ? roots : policy.reviews.from)
    const rs = source ? S.filter((s) => s.subject === source && s.claim === 'review' && !s.not && inForce(s) && from.has(s.actor)) : []
    // Distinct reviewers: one key's repeated reviews of a hash are one review (POLICY.md rule 8).
    reviewsOk = new Set(rs.filter((s) => s.object === 'pass').map((s) => s.actor)).size >= policy.reviews.required && !rs.some((s) => s.object === 'fail')
  }
  const verdict = conflict ? 'conflict' : source && buildsOk && reviewsOk ? 'trusted' : 'untrusted'
  return { verdict, source, builds: builds.sort() }
}

const key = fc.constantFrom(...KEYS)
const time = fc.integer({ min: 1, max: NOW + 3 })
const not = fc.boolean().map((b) => (b ? { not: true as const } : {}))
const st = (s: Omit<Statement, 'v' | 'sig'>): Statement => ({ v: 1, sig: 'x'.repeat(86), ...s })
const statement = fc.oneof(
  { arbitrary: fc.record({ actor: key, subject: key, time, n: not, pkg: fc.constantFrom(PKG, 'pkg:npm/q') }).map(({ actor, subject, time, n, pkg }) => st({ actor, subject, claim: 'author', object: pkg, time, ...n })), weight: 5 },
  fc.record({ actor: key, subject: fc.constantFrom(V, NPM), time, n: not, h: fc.constantFrom(...HASHES) }).map(({ actor, subject, time, n, h }) => st({ actor, subject, claim: 'source', object: h, time, ...n })),
  fc.record({ actor: key, time, n: not, h: fc.constantFrom(...HASHES) }).map(({ actor, time, n, h }) => st({ actor, subject: NPM, claim: 'published', object: h, time, ...n })),
  { arbitrary: fc.record({ actor: key, subject: key, time, n: not }).map(({ actor, subject, time, n }) => st({ actor, subject, claim: 'trusted-builder', time, ...n })), weight: 3 },
  fc.record({ actor: key, time, n: not, h: fc.constantFrom(...HASHES), o: fc.constantFrom(...OUTS), sys: fc.constantFrom(undefined, 'x86_64-linux') }).map(({ actor, time, n, h, o, sys }) =>
    st({ actor, subject: h, claim: 'build', object: o, time, ...n, ...(sys ? { meta: { system: sys } } : {}) }),
  ),
  fc.record({ actor: key, time, n: not, h: fc.constantFrom(...HASHES), verdict: fc.constantFrom('pass', 'fail') }).map(({ actor, time, n, h, verdict }) => st({ actor, subject: h, claim: 'review', object: verdict, time, ...n })),
)
/** Statement sets with "echoes": restatements and retractions of earlier ones at nearby times, so
 * latest-wins, equal-time ties and revocations of real grants are exercised on most runs. */
const statements = fc
  .tuple(fc.array(statement, { minLength: 1, maxLength: 20 }), fc.array(fc.record({ i: fc.nat(), dt: fc.integer({ min: -1, max: 1 }), flip: fc.boolean() }), { maxLength: 12 }))
  .map(([base, echoes]) => [
    ...base,
    ...echoes.map(({ i, dt, flip }) => {
      const { not: _n, ...s } = base[i % base.length]!
      const was = base[i % base.length]!.not
      return { ...s, time: Math.max(1, s.time + dt), ...((flip ? !was : was) ? { not: true as const } : {}) }
    }),
  ])
const policyArb = fc
  .record({
    roots: fc.subarray(KEYS, { minLength: 1, maxLength: 2 }),
    rootsMayPublish: fc.boolean(),
    authorDepth: fc.integer({ min: 0, max: 3 }),
    required: fc.boolean(),
    agree: fc.integer({ min: 1, max: 3 }),
    builderDepth: fc.integer({ min: 0, max: 2 }),
    reviews: fc.integer({ min: 0, max: 2 }),
    reviewFrom: fc.oneof(fc.constant('roots' as const), fc.subarray(KEYS, { minLength: 1 })),
    bridge: fc.option(key, { nil: undefined }),
    revocation: fc.constantFrom('from-time' as const, 'all' as const),
    skew: fc.constantFrom(0, 1, 3),
  })
  .map((p) =>
    ensurePolicy({
      version: 1,
      trust: { keys: p.roots },
      sources: { rootsMayPublish: p.rootsMayPublish, authorDepth: p.authorDepth },
      builds: { required: p.required, agree: p.agree, builderDepth: p.builderDepth },
      reviews: { required: p.reviews, from: p.reviewFrom },
      bridges: p.bridge ? [{ key: p.bridge, ecosystems: ['npm'] }] : [],
      revocation: p.revocation,
      clockSkewMs: p.skew,
    }),
  )

describe('policy engine vs the reference model', () => {
  it('agrees on verdict, source and builds for random trust graphs and statement sets', () => {
    fc.assert(
      fc.property(statements, policyArb, fc.constantFrom(V, NPM), (statements, policy, subject) => {
        const facts = statements.map((s, i) => ({ id: `sha256-${i}`, statement: s }))
        const got = evaluate(new FactIndex(facts), policy, subject, { now: NOW })
        const want = model(statements, policy, subject)
        expect({ verdict: got.verdict, source: got.source, builds: got.builds.map((b) => `${b.system}|${b.output}|${[...b.builders].sort().join(',')}`).sort() }).toEqual(want)
      }),
      { numRuns: 1000 },
    )
  })
})
