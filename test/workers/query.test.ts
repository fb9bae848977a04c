import { SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hex, LIMITS, parseSri, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

const BASE = 'http://relay.test'
const get = (path: string) => SELF.fetch(`${BASE}${path}`)
const postJson = async (value: unknown) => {
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(value), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
  return (await res.json()) as { results: { id: string; status: string }[] }
}
type Page = { statements: Statement[]; cursor: string | null; more?: boolean }
const getPage = async (path: string) => {
  const res = await get(path)
  expect(res.status, path).toBe(200)
  return (await res.json()) as Page
}

/** Walks every page of a query and returns everything, checking no page exceeds the limit. */
async function readAll(query: string, limit: number): Promise<Statement[]> {
  const out: Statement[] = []
  let cursor: string | null = ''
  for (let guard = 0; cursor !== null; guard++) {
    if (guard > 10_000) throw new Error('pagination does not terminate')
    const page = await getPage(`/v1/statements?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    expect(page.statements.length).toBeLessThanOrEqual(limit)
    out.push(...page.statements)
    cursor = page.cursor
  }
  return out
}

let ns = 0

describe('GET /v1/statements (query)', () => {
  it('pagination returns every matching statement exactly once, in arrival order, for any page size', async () => {
    const keys = await Promise.all([1, 2, 3].map(testKey))
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 2 }), subject: fc.integer({ min: 0, max: 3 }), claim: fc.constantFrom('source', 'review', 'author') }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        async (specs, limit, pick) => {
          const run = ns++
          const posted: Statement[] = []
          for (const [i, sp] of specs.entries()) {
            posted.push(await makeStatement(keys[sp.key]!, { subject: `pkg:generic/q${run}-${sp.subject}@1`, claim: sp.claim, time: Date.now() + i }))
          }
          // Post in a few batches, so arrival order spans requests.
          for (let i = 0; i < posted.length; i += 7) await postJson(posted.slice(i, i + 7))
          const subject = `pkg:generic/q${run}-${pick}@1`
          const expected = posted.filter((s) => s.subject === subject)
          expect(await readAll(`subject=${encodeURIComponent(subject)}`, limit)).toEqual(expected)
          const both = posted.filter((s) => s.subject === subject && s.claim === 'review')
          expect(await readAll(`subject=${encodeURIComponent(subject)}&claim=review`, limit)).toEqual(both)
        },
      ),
      { numRuns: 15 },
    )
  })

  it('filters by actor and by object, and an object hash may be written in any URL form', async () => {
    const [a, b] = await Promise.all([testKey(11), testKey(12)])
    const hash = `sha256-${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`
    const s1 = await makeStatement(a, { subject: 'pkg:generic/obj@1', object: hash, time: Date.now() })
    const s2 = await makeStatement(b, { subject: 'pkg:generic/obj@1', object: hash, time: Date.now() })
    await postJson([s1, s2])
    expect((await getPage(`/v1/statements?actor=${a.did}&object=${encodeURIComponent(hash)}`)).statements).toEqual([s1])
    const d = parseSri(hash)!
    for (const form of [encodeURIComponent(hash), `sha256:${hex.encode(d.bytes)}`, hash.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]) {
      expect((await getPage(`/v1/statements?object=${form}`)).statements, form).toEqual([s1, s2])
    }
  })

  it('refuses unknown parameters, a query with no filter, and bad limits or cursors', async () => {
    const cases: [string, string][] = [
      ['/v1/statements?subjct=x', 'unknown_parameter'],
      ['/v1/statements', 'no_filter'],
      ['/v1/statements?subject=a&subject=b', 'repeated_parameter'],
      ['/v1/statements?subject=a&limit=0', 'bad_limit'],
      [`/v1/statements?subject=a&limit=${LIMITS.pageMax + 1}`, 'bad_limit'],
      ['/v1/statements?subject=a&cursor=-1', 'bad_cursor'],
      ['/v1/statements?object=sha256-nothex', 'bad_hash'],
      ['/v1/statements?actor=did:web:example.org', 'bad_actor'],
      ['/v1/feed?after=abc', 'bad_cursor'],
      ['/v1/feed?since=1', 'unknown_parameter'],
    ]
    for (const [path, code] of cases) {
      const res = await get(path)
      expect(res.status, path).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe(code)
    }
    expect((await get(`/v1/statements?subject=a&limit=${LIMITS.pageMax}`)).status).toBe(200)
  })
})

describe('GET /v1/feed', () => {
  it('serves everything in arrival order; a cursor resumes exactly after the last item seen', async () => {
    const key = await testKey(21)
    const start = await getPage('/v1/feed?limit=1000')
    let cursor = start.cursor!
    // drain whatever other tests stored
    for (let p = start; p.more; p = await getPage(`/v1/feed?after=${cursor}&limit=1000`)) cursor = p.cursor!
    const drained = await getPage(`/v1/feed?after=${cursor}`)
    expect(drained.statements).toEqual([])
    expect(drained.cursor).toBe(cursor)
    expect(drained.more).toBe(false)

    // Statements with decreasing times: arrival order, not statement time, orders the feed.
    const batch1 = await Promise.all([3, 2, 1].map((i) => makeStatement(key, { subject: `pkg:generic/feed${i}@1`, time: Date.now() - i * 1000 })))
    await postJson(batch1)
    const mid = await getPage(`/v1/feed?after=${cursor}&limit=2`)
    expect(mid.statements).toEqual(batch1.slice(0, 2))
    expect(mid.more).toBe(true)
    const earlier = await makeStatement(key, { subject: 'pkg:generic/feed-old@1', time: 1 })
    await postJson([earlier])
    const rest = await getPage(`/v1/feed?after=${mid.cursor}&limit=10`)
    expect(rest.statements).toEqual([batch1[2], earlier])
    expect(rest.more).toBe(false)
  })
})

describe('relay info', () => {
  it('/.well-known/vouch states the protocol version and the limits in force', async () => {
    const res = await get('/.well-known/vouch')
    const info = (await res.json()) as { protocol: number; limits: typeof LIMITS; software: { name: string } }
    expect(info.protocol).toBe(1)
    expect(info.limits.batchItems).toBe(LIMITS.batchItems)
    expect(info.limits.bodyBytes).toBe(LIMITS.bodyBytes)
    expect(info.limits.futureSkewMs).toBe(300_000)
  })

  it('/openapi.json documents every route the app serves', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    const { app } = await import('../../src/index.ts')
    const routes = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)\{[^}]*\}/, '{$1}').replace(/(.)\/$/, '$1')}`)
    expect(routes.length).toBeGreaterThanOrEqual(6)
    for (const r of routes) {
      const [method, path] = r.split(' ') as [string, string]
      expect(doc.paths[path]?.[method], r).toBeDefined()
    }
  })

  it('the landing page is HTML with a CSP that forbids scripts', async () => {
    const res = await get('/')
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await res.text()).toContain('/v1/feed')
  })
})

describe('catch-up endpoints', () => {
  it('feed?view=ids lists ids in arrival order with the same cursors, and lookup returns exactly the bodies asked for', async () => {
    const key = await testKey(22)
    const start = await getPage('/v1/feed?limit=1000')
    let cursor = start.cursor!
    for (let p = start; p.more; p = await getPage(`/v1/feed?after=${cursor}&limit=1000`)) cursor = p.cursor!
    const made = await Promise.all([1, 2, 3].map((i) => makeStatement(key, { subject: `pkg:generic/ids${i}@1`, time: Date.now() })))
    const { results } = await postJson(made)
    const ids = results.map((r) => r.id)
    const idsPage = (await (await get(`/v1/feed?view=ids&after=${cursor}&limit=2`)).json()) as { ids: string[]; cursor: string; more: boolean }
    expect(idsPage.ids).toEqual(ids.slice(0, 2))
    expect(idsPage.more).toBe(true)
    expect(idsPage.cursor).toBe((await getPage(`/v1/feed?after=${cursor}&limit=2`)).cursor)
    const lookup = async (body: unknown) => SELF.fetch(`${BASE}/v1/statements/lookup`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    const unknown = `sha256:${'11'.repeat(32)}`
    const res = await lookup({ ids: [ids[2], unknown, ids[0]] })
    expect(res.status).toBe(200)
    expect(((await res.json()) as Page).statements).toEqual([made[0], made[2]])
    for (const bad of [{ ids: 'x' }, { ids: [1] }, { ids: ['sha256-nope'] }, { ids: [], extra: 1 }, []]) {
      expect((await lookup(bad)).status, JSON.stringify(bad)).toBe(400)
    }
    expect((await lookup({ ids: Array.from({ length: LIMITS.pageMax + 1 }, () => unknown) })).status).toBe(413)
    expect((await get('/v1/feed?view=bodies')).status).toBe(400)
  })
})
