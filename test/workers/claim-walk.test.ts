import { env } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ingest } from '../../src/store/ingest.ts'
import { countStatements, queryStatements } from '../../src/store/statements.ts'
import type { Json } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/** Open admission and a quota no run reaches: this test is about reading. */
const gate = { admission: 'open', operatorKeys: [], admitDepth: 2, quotaStatementsPerDay: 1_000_000, peerStatementsPerDay: 1_000_000 } as const

describe('a query by claim alone walks a bounded range of arrival order', () => {
  it('pages end early with a cursor at the walk bound, and following cursors returns exactly the matches', async () => {
    const key = await testKey(61)
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 5 }), async (rare, walk, limit) => {
        const claim = `rare-${run++}`
        const start = await countStatements(env.DB)
        const items = await Promise.all(rare.map((r, i) => makeStatement(key, { subject: `pkg:generic/walk${run}-${i}@1`, claim: r ? claim : 'source', time: 1_777_895_712_055 + i })))
        await ingest(env.DB, items as unknown as Json[], { now: 1_777_895_712_055 + 1000, origin: { kind: 'client' }, gate })
        const want = items.filter((_, i) => rare[i]).map((s) => s.subject)
        const got: string[] = []
        let after = start
        for (let guard = 0; ; guard++) {
          expect(guard).toBeLessThan(1000)
          const page = await queryStatements(env.DB, { claim }, after, limit, walk)
          expect(page.rows.length).toBeLessThanOrEqual(limit)
          for (const r of page.rows) got.push((JSON.parse(r.body) as { subject: string }).subject)
          if (page.next === undefined) break
          expect(page.next).toBeGreaterThan(after)
          // The walk never reads further than `walk` seqs past the cursor.
          if (page.rows.length) expect(page.rows.at(-1)!.seq).toBeLessThanOrEqual(after + walk)
          after = page.next
        }
        expect(got).toEqual(want)
      }),
      { numRuns: 25 },
    )
  })
})
