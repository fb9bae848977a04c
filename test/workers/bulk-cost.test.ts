import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { insertStatements, queryByTerms } from '../../src/store/statements.ts'
import { base64, sha256, utf8, type Statement, type VerifiedStatement } from '../../src/verify/index.ts'

/**
 * What one anonymous bulk query (PROTOCOL §6.4b) costs in D1 rows read when a subject has
 * thousands of statements: anyone can make that so (many keys, each within its daily quota), and
 * then every page of every lockfile check that names the subject pays for it. Measured with the
 * statistics of a relay holding many subjects (after ANALYZE). On a tiny relay whose rows are
 * nearly all one subject, SQLite's planner walks arrival order instead and a rare subject reads
 * the whole table (3,004 rows here without the 6,000 others): bounded by that small table.
 */
const CROWDED = 'pkg:npm/crowded@1.0.0'
const N = 3000
const HASH = 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='

/** The real D1, with each call's rows read added up (D1 bills by rows read). */
function metered(db: D1Database) {
  let rows = 0
  const wrap = (st: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(st, {
      get(t, p) {
        if (p === 'bind') return (...a: unknown[]) => wrap(t.bind(...a))
        if (p === 'all' || p === 'run') return async () => {
          const r = await (t[p] as () => Promise<D1Result>)()
          rows += r.meta.rows_read ?? 0
          return r
        }
        const v = Reflect.get(t, p) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
      },
    })
  const proxy = new Proxy(db, { get: (t, p) => (p === 'prepare' ? (sql: string) => wrap(t.prepare(sql)) : (Reflect.get(t, p) as unknown as { bind?: unknown }) && typeof Reflect.get(t, p) === 'function' ? (Reflect.get(t, p) as (...a: unknown[]) => unknown).bind(t) : Reflect.get(t, p)) })
  return { db: proxy, read: () => rows, reset: () => (rows = 0) }
}

beforeAll(async () => {
  const rows: VerifiedStatement[] = []
  for (let i = 0; i < N; i++) {
    const statement = { v: 1, actor: `did:key:z6Mk${String(i % 50).padStart(44, 'x')}`, subject: CROWDED, claim: i % 2 ? 'review' : 'published', object: HASH, time: 1_700_000_000_000 + i, sig: 'A'.repeat(86) } as Statement
    const canonical = JSON.stringify(statement)
    rows.push({ id: `sha256-${base64.encode((await sha256(utf8(canonical))).bytes)}`, statement, canonical } as VerifiedStatement)
  }
  // Everyone else: one statement each about 6000 other subjects, so the statistics look like a relay's.
  for (let i = 0; i < 6000; i++) {
    const statement = { v: 1, actor: `did:key:z6Mk${String(i % 50).padStart(44, 'y')}`, subject: `pkg:npm/p${i}@1.0.0`, claim: 'published', object: HASH, time: 1_700_000_000_000 + i, sig: 'A'.repeat(86) } as Statement
    const canonical = JSON.stringify(statement)
    rows.push({ id: `sha256-other${i}`, statement, canonical } as VerifiedStatement)
  }
  const rare = { v: 1, actor: 'did:key:z6Mkrare', subject: 'pkg:npm/rare@1.0.0', claim: 'review', object: HASH, time: 1_800_000_000_000, sig: 'A'.repeat(86) } as Statement
  rows.push({ id: 'sha256-rare', statement: rare, canonical: JSON.stringify(rare) } as VerifiedStatement)
  for (let i = 0; i < rows.length; i += 1000) await insertStatements(env.DB, rows.slice(i, i + 1000))
  await env.DB.exec('ANALYZE')
}, 60_000)

describe('bulk query cost in D1 rows read', () => {
  it('a page of 1 about a crowded subject (beside another) reads about the page, not every statement of the subject', async () => {
    const m = metered(env.DB)
    for (const [subjects, claims] of [[[CROWDED], undefined], [[CROWDED, 'pkg:npm/empty@1.0.0'], undefined], [[CROWDED, 'pkg:npm/empty@1.0.0'], ['review']]] as const) {
      m.reset()
      const page = await queryByTerms(m.db, subjects, [], claims, 0, 1)
      expect(page.rows).toHaveLength(1)
      console.log(`${subjects.length} subject(s), claims ${claims ?? 'any'}: ${m.read()} rows read for a page of 1`)
      expect(m.read(), `${subjects.length} subjects, claims ${claims}`).toBeLessThan(100)
    }
    // A subject whose one statement is the newest, beside an empty one: a seek, not a walk through the crowd.
    m.reset()
    expect((await queryByTerms(m.db, ['pkg:npm/rare@1.0.0', 'pkg:npm/empty@1.0.0'], [], undefined, 0, 1)).rows).toHaveLength(1)
    console.log(`rare: ${m.read()} rows read`)
    expect(m.read()).toBeLessThan(100)
    // The meter counts: a page of 1000 reads at least its 1000 rows.
    m.reset()
    expect((await queryByTerms(m.db, [CROWDED, 'pkg:npm/empty@1.0.0'], [], undefined, 0, 1000)).rows).toHaveLength(1000)
    console.log(`page of 1000: ${m.read()} rows read`)
    expect(m.read()).toBeGreaterThanOrEqual(1000)
  })
})
