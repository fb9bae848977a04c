import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { corpus, corpusKeys } from '../../bench/lib/corpus.ts'
import { captureQueries, explainAll, type PlanVerdict } from '../../bench/lib/query-plans.ts'
import { countStatements, insertStatements } from '../../src/store/statements.ts'
import type { Statement, VerifiedStatement } from '../../src/verify/index.ts'

/**
 * The plans SQLite picks for every read of the API and the explorer (the store's own SQL, captured
 * as it is sent), on a small npm-like database after ANALYZE, so the planner has the statistics a
 * long-lived database would: none may scan `statements`. `npm run bench -- scale` checks the same
 * at 1M rows (docs/SCALE.md).
 */

let verdicts: PlanVerdict[]

beforeAll(async () => {
  const keys = corpusKeys(500)
  const rows: VerifiedStatement[] = []
  for (const r of corpus(4000, keys, 5)) {
    const statement = JSON.parse(r.body) as Statement
    rows.push({ id: r.id, statement, canonical: r.body } as VerifiedStatement)
  }
  for (let i = 0; i < rows.length; i += 1000) await insertStatements(env.DB, rows.slice(i, i + 1000))
  await env.DB.exec('ANALYZE')
  const published = rows.find((r) => r.statement.claim === 'published')!.statement
  const sample = { purl: published.subject, hash: published.object!, actor: published.actor, id: rows[10]!.id, claim: 'review' }
  const queries = await captureQueries(env.DB, sample)
  verdicts = await explainAll(queries, async (sql, params) => (await env.DB.prepare(sql).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail))
})

describe('query plans (small database after ANALYZE)', () => {
  it('captures the reads of every store and explorer call', () => {
    const callers = new Set(verdicts.map((v) => v.caller))
    for (const c of ['search names by prefix', 'search near names', 'search names containing', 'search name with version', 'query subject', 'query object', 'query actor', 'feed page', 'statement by id', 'count (status page)', 'explorer package page', 'explorer actor page']) {
      expect(callers, c).toContain(c)
    }
  })

  it('no read scans statements', () => {
    const scans = verdicts.filter((v) => v.kind === 'scan').map((v) => `${v.caller}: ${v.sql} → ${v.plan.join('; ')}`)
    expect(scans).toEqual([])
  })

  it('lookups by subject, object, actor and id use their index', () => {
    const planOf = (caller: string) => verdicts.find((v) => v.caller === caller)!.plan.join('; ')
    expect(planOf('query subject')).toMatch(/USING INDEX statements_subject/)
    expect(planOf('query object')).toMatch(/USING INDEX statements_object/)
    expect(planOf('query actor')).toMatch(/USING INDEX statements_actor/)
    expect(planOf('statement by id')).toMatch(/USING INDEX sqlite_autoindex_statements_1/)
    expect(planOf('bulk by subjects')).toMatch(/USING INDEX statements_subject/)
    expect(planOf('bulk by subjects+claims')).toMatch(/USING INDEX statements_subject/)
    expect(planOf('bulk by objects+claims')).toMatch(/USING INDEX statements_object/)
    expect(planOf('bulk by subjects and objects')).toMatch(/USING INDEX statements_subject.*USING INDEX statements_object|USING INDEX statements_object.*USING INDEX statements_subject/)
    expect(planOf('search names by prefix')).toMatch(/SEARCH names USING PRIMARY KEY \(name>\? AND name<\?\)/)
    expect(planOf('search names containing')).toMatch(/SEARCH name_parts USING PRIMARY KEY \(part>\? AND part<\?\)/)
    expect(planOf('search names containing')).toMatch(/SEARCH n USING PRIMARY KEY \(name=\?\)/)
    // A search word's reads (prefix, substring, alias claims) go in one batch; the alias claims by the object index.
    expect(verdicts.filter((v) => v.caller === 'search word (names, aliases)').map((v) => v.plan.join('; ')).join('\n')).toMatch(/SEARCH statements USING INDEX statements_object \(object=\?/)
  })

  it('the status count reads the last seq, and it equals count(*) (rows are never deleted)', async () => {
    const all = await env.DB.prepare('SELECT count(*) AS n FROM statements').first<number>('n')
    expect(all).toBeGreaterThan(3000)
    expect(await countStatements(env.DB)).toBe(all)
  })

  it('no query walks arrival order unbounded: a claim alone reads a bounded seq range (docs/SCALE.md)', () => {
    expect(verdicts.filter((v) => v.kind === 'walk').map((v) => v.caller)).toEqual([])
    expect(verdicts.find((v) => v.caller === 'query claim')?.kind).toBe('bounded')
  })
})
