import { env, SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { querySource } from '../../src/client/index.ts'
import { runTrust, storeSource } from '../../src/explorer/trust.ts'
import { ensurePolicy, evaluate, FactIndex, gatherForVerdict, type GatherOptions, type Policy } from '../../src/policy/index.ts'
import { formatSri, sha256, signStatement, utf8, type Statement, type UnsignedStatement } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

/**
 * One gatherer, two sources, one data set: statements are posted to the relay through SELF.fetch,
 * then gathered once through the client (its verified query over HTTP, fetch = SELF.fetch) and once
 * through the store (D1, as the explorer reads it). Both must give the same statements, verdict
 * and explanation, also when answers are cut short and the gatherer re-reads per trusted key.
 */

const BASE = 'http://relay.test'
const NOW = Date.now()
const T = NOW - 3_600_000 // every statement an hour old or less, so the client's clock check keeps them all

type Key = Awaited<ReturnType<typeof testKey>>
const sign = (key: Key, f: Omit<UnsignedStatement, 'v' | 'actor'>) => signStatement({ v: 1, actor: key.did, ...f }, key.secretKey)
const post = async (items: Statement[]) => {
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
  const { results } = (await res.json()) as { results: { status: string }[] }
  for (const r of results) expect(['accepted', 'duplicate']).toContain(r.status)
}
const hashOf = async (s: string) => formatSri(await sha256(utf8(s)))
const relayFetch = ((input: RequestInfo | URL, init?: RequestInit) => SELF.fetch(input, init)) as typeof fetch

let serial = 0
const uniq = (p: string) => `${p}${Date.now().toString(36)}${serial++}`

/** Gathers with both sources under the same options and evaluates each; the caller compares. */
async function both(subject: string, policy: Policy, o: GatherOptions = {}) {
  const run = async (source: Parameters<typeof gatherForVerdict>[0]) => {
    const g = await gatherForVerdict(source, subject, policy, { now: NOW, ...o })
    const verdict = evaluate(new FactIndex(g.facts), policy, subject, { now: NOW, proofs: g.proofs })
    // The gatherer's own verdict, when it gives one, is the verdict over exactly its facts.
    if (g.verdict) expect(g.verdict).toEqual(verdict)
    return { verdict, ids: g.facts.map((f) => f.id), complete: g.complete, incomplete: g.incomplete, queries: g.queries }
  }
  const client = querySource([BASE], { fetch: relayFetch })
  const viaClient = await run(client.read)
  expect(client.problems()).toEqual([])
  const viaStore = await run(storeSource(env.DB))
  return { viaClient, viaStore }
}

describe('one gatherer over the client and the store', () => {
  it('gives the same statements, verdict and explanation from both sources, spam re-read per trusted key included', { timeout: 30_000 }, async () => {
    const [root, author, builder, reviewer, stranger] = (await Promise.all([1, 2, 3, 4, 5].map(testKey))) as [Key, Key, Key, Key, Key]
    const pkg = `pkg:generic/${uniq('same')}`
    const v = `${pkg}@1.0.0`
    const [src, bad, out] = (await Promise.all(['src', 'bad', 'out'].map((x) => hashOf(`${pkg}:${x}`)))) as [string, string, string]
    // Strangers' spam first: with small answers it fills the first page of every broad read.
    const spam = await Promise.all(
      Array.from({ length: 4 }, (_, i) => [
        sign(stranger, { subject: v, claim: 'source', object: bad, time: T + i }),
        sign(stranger, { subject: stranger.did, claim: 'author', object: pkg, time: T + i }),
        sign(stranger, { subject: src, claim: 'build', object: bad, time: T + i, meta: { system: `x${i}` } }),
      ]).flat(),
    )
    await post(spam)
    await post(
      await Promise.all([
        sign(root, { subject: author.did, claim: 'author', object: pkg, time: T + 100 }),
        sign(author, { subject: v, claim: 'source', object: src, time: T + 200 }),
        sign(root, { subject: builder.did, claim: 'trusted-builder', time: T + 300 }),
        sign(builder, { subject: src, claim: 'build', object: out, time: T + 400, meta: { system: 'x86_64-linux' } }),
        sign(reviewer, { subject: src, claim: 'review', object: 'pass', time: T + 500 }),
      ]),
    )
    const policy = ensurePolicy({ version: 1, trust: { keys: [root.did] }, builds: { required: true }, reviews: { required: 1, from: [reviewer.did] } })

    const wide = await both(v, policy)
    expect(wide.viaClient).toEqual(wide.viaStore)
    expect(wide.viaStore.verdict).toMatchObject({ verdict: 'trusted', source: src, builds: [{ system: 'x86_64-linux', output: out, builders: [builder.did] }] })
    expect(wide.viaStore.complete).toBe(true)

    // Three statements an answer: every broad read is cut short by the spam, and the gatherer
    // re-reads per trusted key, through either source, to the same verdict.
    const narrow = await both(v, policy, { perQuery: 3 })
    expect(narrow.viaClient).toEqual(narrow.viaStore)
    expect(narrow.viaStore.verdict.verdict).toBe('trusted')
    expect(narrow.viaStore.verdict.source).toBe(src)
    expect(narrow.viaStore.complete).toBe(true)
    expect(narrow.viaStore.queries).toBeGreaterThan(wide.viaStore.queries)

    // The explorer's old rule (one read per list, no re-read per key) would have missed the
    // author's claim behind the spam and said untrusted under the same bound.
    const store = storeSource(env.DB)
    const once = await Promise.all([store({ subject: v }, 3), store({ claim: 'author', object: pkg }, 3), store({ subject: src }, 3), store({ actor: root.did, claim: 'trusted-builder' }, 3)])
    expect(once.every((a, i) => a.truncated === (i < 3))).toBe(true)
    const old = evaluate(new FactIndex(once.flatMap((a) => a.statements)), policy, v, { now: NOW })
    expect(old.verdict).toBe('untrusted')

    // A bound too tight to re-read is reported the same way by both.
    const cut = await both(v, policy, { perQuery: 3, maxQueries: 3 })
    expect(cut.viaClient).toEqual(cut.viaStore)
    expect(cut.viaStore.complete).toBe(false)
    expect(cut.viaStore.incomplete.join()).toContain('maxQueries')

    // The trust view is this gatherer over the store: the same verdict as the client's.
    const page = await runTrust(env.DB, { policyText: JSON.stringify(policy), subject: v, checkAliases: false }, NOW)
    expect(page.ok && page.verdict).toEqual(wide.viaClient.verdict)
    expect(page.ok && page.statements).toBe(wide.viaClient.ids.length)
  })

  it('property: for any small data set and bound, both sources give the same verdict and explanation', async () => {
    const keys = await Promise.all([11, 12, 13, 14].map(testKey))
    const kinds = ['author', 'source', 'trusted-builder', 'build'] as const
    const item = fc.record({ kind: fc.constantFrom(...kinds), actor: fc.oneof(fc.constant(0), fc.nat(3)), subject: fc.nat(3), choice: fc.oneof(fc.constant(0), fc.nat(1)), not: fc.nat(3).map((n) => n === 0), dt: fc.nat(1000) })
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 2, maxLength: 16 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }), fc.boolean(), async (items, perQuery, depth, required) => {
        const pkg = `pkg:generic/${uniq('prop')}`
        const v = `${pkg}@1.0.0`
        const hashes = await Promise.all(['a', 'b', 'o1', 'o2'].map((x) => hashOf(`${pkg}:${x}`)))
        const statements = await Promise.all(
          items.map(({ kind, actor, subject, choice, not, dt }) => {
            const time = T + dt
            const by = keys[actor]!
            const neg = not ? { not: true as const } : {}
            if (kind === 'author') return sign(by, { subject: keys[subject]!.did, claim: 'author', object: pkg, time, ...neg })
            if (kind === 'trusted-builder') return sign(by, { subject: keys[subject]!.did, claim: 'trusted-builder', time, ...neg })
            if (kind === 'source') return sign(by, { subject: v, claim: 'source', object: hashes[choice]!, time, ...neg })
            return sign(by, { subject: hashes[0]!, claim: 'build', object: hashes[2 + choice]!, time, ...neg })
          }),
        )
        if (statements.length) await post(statements)
        const policy = ensurePolicy({ version: 1, trust: { keys: [keys[0]!.did] }, sources: { authorDepth: depth }, builds: { required, builderDepth: depth } })
        const r = await both(v, policy, { perQuery })
        expect(r.viaClient).toEqual(r.viaStore)
      }),
      { numRuns: 15 },
    )
  }, 180_000)
})
