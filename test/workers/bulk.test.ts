import { env, SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Statement } from '../../src/verify/index.ts'
import { HASH_A, makeStatement, testKey } from '../helpers.ts'

const BASE = 'http://relay.test'
const post = (path: string, body: unknown) => SELF.fetch(`${BASE}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } })
type Page = { statements: Statement[]; cursor: string | null; truncated: boolean }
const bulk = async (body: unknown) => {
  const res = await post('/v1/statements/bulk', body)
  expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(200)
  return (await res.json()) as Page
}

/** Follows cursors with the same question until the relay says it is done. */
async function readAll(subjects: string[], claims: string[] | undefined, limit: number, objects?: string[]): Promise<Statement[]> {
  const out: Statement[] = []
  let cursor: string | null = null
  for (let guard = 0; ; guard++) {
    if (guard > 1000) throw new Error('pagination does not terminate')
    const page = await bulk({ ...(subjects.length && { subjects }), ...(objects?.length && { objects }), ...(claims && { claims }), limit, ...(cursor && { cursor }) })
    expect(page.statements.length).toBeLessThanOrEqual(limit)
    expect(page.truncated).toBe(page.cursor !== null)
    out.push(...page.statements)
    if (page.cursor === null) return out
    cursor = page.cursor
  }
}

let ns = 0

describe('POST /v1/statements/bulk', () => {
  it('returns every statement about the asked subjects or objects (and claims) exactly once, in arrival order, for any page size', async () => {
    const keys = await Promise.all([1, 2].map(testKey))
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 1 }), subject: fc.integer({ min: 0, max: 5 }), object: fc.integer({ min: -1, max: 3 }), claim: fc.constantFrom('source', 'review', 'published', 'author') }), { minLength: 1, maxLength: 30 }),
        fc.subarray([0, 1, 2, 3, 4, 5]),
        fc.subarray([0, 1, 2, 3]),
        fc.option(fc.subarray(['source', 'review', 'published', 'author'], { minLength: 1 }), { nil: undefined }),
        fc.integer({ min: 1, max: 9 }),
        async (specs, picked, pickedObjects, claims, limit) => {
          fc.pre(picked.length + pickedObjects.length > 0)
          const run = ns++
          const subj = (i: number) => `pkg:npm/b${run}-${i}@1.0.0`
          // Objects are packages (as author grants name them) or, for -1, a hash nobody asks for.
          const obj = (i: number) => (i < 0 ? HASH_A : `pkg:npm/o${run}-${i}`)
          const posted: Statement[] = []
          for (const [i, sp] of specs.entries()) {
            posted.push(await makeStatement(keys[sp.key]!, { subject: subj(sp.subject), claim: sp.claim, object: obj(sp.object), time: Date.now() + i }))
          }
          for (let i = 0; i < posted.length; i += 8) expect((await post('/v1/statements', posted.slice(i, i + 8))).status).toBe(200)
          const subjects = picked.map(subj)
          const objects = pickedObjects.map(obj)
          const expected = posted.filter((s) => (subjects.includes(s.subject) || objects.includes(s.object!)) && (!claims || claims.includes(s.claim)))
          // Posting order is arrival order; duplicates in the request change nothing; a statement
          // matching both a subject and an object comes once.
          expect(await readAll([...subjects, ...subjects], claims, limit, objects)).toEqual(expected)
        },
      ),
      { numRuns: 16 },
    )
  })

  it('answers hashes in any §2.2 form as canonical SRI, and unknown subjects with an empty last page', async () => {
    const key = await testKey(3)
    const s = await makeStatement(key, { subject: HASH_A, claim: 'review' })
    expect((await post('/v1/statements', s)).status).toBe(200)
    const hexForm = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    const page = await bulk({ subjects: [hexForm, 'pkg:npm/nothing-here@9.9.9'], claims: ['review'] })
    expect(page.statements.map((x) => x.sig)).toContain(s.sig)
    expect(page.statements.every((x) => x.subject === HASH_A)).toBe(true)
    expect(await bulk({ subjects: ['pkg:npm/nothing-here@9.9.9'] })).toEqual({ statements: [], leaves: [], cursor: null, truncated: false })
  })

  it('takes 1000 subjects and objects together and refuses 1001 with 413, storing and reading nothing', async () => {
    const subjects = (n: number) => Array.from({ length: n }, (_, i) => `pkg:npm/edge-${i}@1.0.0`)
    expect((await bulk({ subjects: subjects(1000) })).cursor).toBeNull()
    expect((await bulk({ subjects: subjects(500), objects: subjects(500).map((s) => s.replace(/@.*/, '')) })).cursor).toBeNull()
    for (const body of [{ subjects: subjects(1001) }, { subjects: subjects(600), objects: subjects(401) }, { objects: subjects(1001) }]) {
      const res = await post('/v1/statements/bulk', body)
      expect(res.status).toBe(413)
      expect(await res.json()).toMatchObject({ error: { code: 'too_many_items' } })
    }
  })

  it('refuses bad bodies with a 4xx JSON error that names the problem', async () => {
    const long = 'x'.repeat(1025)
    const cases: [unknown, number, string][] = [
      [{}, 400, 'bad_bulk'],
      [[], 400, 'bad_bulk'],
      [{ subjects: [] }, 400, 'bad_bulk'],
      [{ subjects: 'pkg:npm/a@1' }, 400, 'bad_bulk'],
      [{ subjects: [1] }, 400, 'bad_subject'],
      [{ subjects: [''] }, 400, 'bad_parameter'],
      [{ subjects: [long] }, 400, 'bad_subject'],
      [{ subjects: ['sha256-nothex'] }, 400, 'bad_hash'],
      [{ subjects: ['pkg:npm/a@1'], subject: 'x' }, 400, 'unknown_parameter'],
      [{ objects: [] }, 400, 'bad_bulk'],
      [{ subjects: [], objects: [] }, 400, 'bad_bulk'],
      [{ objects: 'pkg:npm/a' }, 400, 'bad_bulk'],
      [{ objects: [7] }, 400, 'bad_object'],
      [{ objects: [long] }, 400, 'bad_object'],
      [{ objects: ['sha256-nothex'] }, 400, 'bad_hash'],
      [{ subjects: ['pkg:npm/a@1'], claims: [] }, 400, 'bad_bulk'],
      [{ subjects: ['pkg:npm/a@1'], claims: ['x'.repeat(65)] }, 400, 'bad_parameter'],
      [{ subjects: ['pkg:npm/a@1'], limit: 0 }, 400, 'bad_limit'],
      [{ subjects: ['pkg:npm/a@1'], limit: 1001 }, 400, 'bad_limit'],
      [{ subjects: ['pkg:npm/a@1'], limit: '5' }, 400, 'bad_limit'],
      [{ subjects: ['pkg:npm/a@1'], cursor: 'abc' }, 400, 'bad_cursor'],
      [{ subjects: ['pkg:npm/a@1'], cursor: 5 }, 400, 'bad_cursor'],
      ['{"subjects": ["a",]}', 400, 'malformed_json'],
    ]
    for (const [body, status, code] of cases) {
      const res = await post('/v1/statements/bulk', body)
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(await res.json(), JSON.stringify(body).slice(0, 80)).toMatchObject({ error: { code } })
    }
    const wrongType = await SELF.fetch(`${BASE}/v1/statements/bulk`, { method: 'POST', body: '{"subjects":["a"]}', headers: { 'content-type': 'text/plain' } })
    expect(wrongType.status).toBe(415)
  })

  it('serves at most pageMax statements a page and says where to continue', async () => {
    expect(env.DB).toBeDefined()
    const key = await testKey(4)
    const subject = `pkg:npm/many-${Date.now()}@1.0.0`
    const posted = await Promise.all(Array.from({ length: 5 }, (_, i) => makeStatement(key, { subject, claim: 'review', object: HASH_A, time: Date.now() + i })))
    expect((await post('/v1/statements', posted)).status).toBe(200)
    const first = await bulk({ subjects: [subject], limit: 2 })
    expect(first.statements).toHaveLength(2)
    expect(first.truncated).toBe(true)
    expect(await readAll([subject], undefined, 2)).toHaveLength(5)
  })
})
