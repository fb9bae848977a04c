import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { corpus, corpusKeys } from '../../bench/lib/corpus.ts'
import { explainAll, type CapturedQuery, type PlanVerdict } from '../../bench/lib/query-plans.ts'
import { type RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { integrate } from '../../src/log/integrate.ts'
import { BodyFault, bundleKey, bundlesKnown, bindBodies, forgetBundles, noteBundles } from '../../src/store/bodies.ts'
import { loadAdmitGrants } from '../../src/store/admission.ts'
import { aliasClaimsOnShards } from '../../src/store/names.ts'
import { countBySubjectClaim } from '../../src/store/sharded.ts'
import { sequenceStatements } from '../../src/store/sharded-ingest.ts'
import { bindShards, forgetReshardingCheck, prefixShard, shardKey, shardOf, shardsOf, watermark } from '../../src/store/shards.ts'
import {
  countStatements,
  feedIds,
  getStatementRow,
  insertStatements,
  isNamed,
  admittingActor,
  queryByTerms,
  queryStatements,
  SEQUENCE_SQL,
  subjectsWithPrefix,
} from '../../src/store/statements.ts'
import { statementsWithPrefix } from '../../src/store/versions.ts'
import { decodeBundle, encodeBundle, formatSri, sha256, utf8, type Statement, type VerifiedStatement } from '../../src/verify/index.ts'

/**
 * The index sharded across four D1 databases (project `workers-sharded`, INDEX_SHARDS = 4;
 * docs/SCALE.md "Built: step 2"): routing, merged order, exact cursors across shards, the
 * watermark and the repair of a half-done ingest, relay-wide dedupe, and the refusals.
 */

const relayEnv = env as unknown as RelayEnv
const shards = shardsOf(env.DB)!
const emptyKv = { get: async () => null, getWithMetadata: async () => ({ value: null, metadata: null }), put: async () => {} } as unknown as KVNamespace
let serial = 0
let run = 0

interface Fields {
  actor: string
  subject: string
  claim: string
  object?: string
}

/** Unsigned rows with real ids (readers check bodies against ids, never signatures). */
async function rows(list: readonly Fields[]): Promise<VerifiedStatement[]> {
  return Promise.all(
    list.map(async (f) => {
      const i = serial++
      const statement = { ...f, time: 1_777_000_000_000 + i }
      const canonical = JSON.stringify({ ...statement, n: i })
      return { id: formatSri(await sha256(utf8(canonical))), canonical, statement } as unknown as VerifiedStatement
    }),
  )
}

const subjectOf = (r: { body: string }) => (JSON.parse(r.body) as Fields).subject
const countIn = async (db: D1Database, sql: string, ...params: unknown[]) => (await db.prepare(sql).bind(...params).first<number>('n')) ?? 0

/** Every page of a query from `after`, checking the cursor always advances. */
async function allPages(read: (after: number) => Promise<{ rows: { seq: number; id: string }[]; next: number | undefined }>, after: number): Promise<string[]> {
  const got: string[] = []
  for (let guard = 0; ; guard++) {
    expect(guard).toBeLessThan(500)
    const page = await read(after)
    got.push(...page.rows.map((r) => r.id))
    if (page.next === undefined) return got
    expect(page.next).toBeGreaterThan(after)
    after = page.next
  }
}

async function call(vars: Record<string, string>, path: string): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`http://relay.test${path}`), { ...relayEnv, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  // A request binds the shards its INDEX_SHARDS names to this same DB object: put the test's back.
  bindShards(env.DB, shards)
  return res
}

describe('the shard key', () => {
  it('is the package: a fixed vector, and every version, qualifier and subpath of a package agree', async () => {
    // sha256("pkg:npm/left-pad") starts 0x6597_b2ba = 1704402874: mod 4 = 2, mod 64 = 58.
    expect(await shardOf('pkg:npm/left-pad@1.3.0', 4)).toBe(2)
    expect(await shardOf('pkg:npm/left-pad@1.3.0', 64)).toBe(58)
    expect(await shardOf('sha256-abc', 4)).toBe(2)
    expect(await shardOf('anything', 1)).toBe(0)
    expect(shardKey('pkg:npm/@scope/x@1.0.0?arch=x/y#sub/path')).toBe('pkg:npm/@scope/x')
    expect(shardKey('pkg:npm/@scope/x')).toBe('pkg:npm/@scope/x')
    expect(shardKey('did:key:z6Mk@x')).toBe('did:key:z6Mk@x')
    // A prefix that fixes the package asks one shard; one that does not (a scope, no version) asks all.
    expect(await prefixShard('pkg:npm/left-pad@', 4)).toBe(2)
    expect(await prefixShard('pkg:npm/@sc', 4)).toBeUndefined()
    expect(await prefixShard('pkg:npm/left', 4)).toBeUndefined()
  })

  it('is stable, in range, and the same for all versions of a package (property)', async () => {
    const name = fc.stringMatching(/^(@[a-z]{1,8}\/)?[a-z][a-z0-9._-]{0,20}$/)
    const version = fc.stringMatching(/^[0-9a-z][0-9a-z.+-]{0,12}$/)
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('npm', 'pypi', 'cargo'), name, fc.array(version, { minLength: 1, maxLength: 5 }), fc.constantFrom(2, 4, 8, 16, 32, 64), async (type, n, versions, k) => {
        const pkg = `pkg:${type}/${n}`
        const want = await shardOf(pkg, k)
        expect(want).toBeGreaterThanOrEqual(0)
        expect(want).toBeLessThan(k)
        for (const v of versions) {
          expect(await shardOf(`${pkg}@${v}`, k)).toBe(want)
          expect(await prefixShard(`${pkg}@${v.slice(0, 1)}`, k)).toBe(want)
        }
        expect(await shardOf(`${pkg}@${versions[0]}`, k)).toBe(await shardOf(`${pkg}@${versions[0]}`, k))
        expect(await prefixShard(`${pkg}@`, k)).toBe(want)
      }),
      { numRuns: 200 },
    )
  })
})

describe('the sharded index (INDEX_SHARDS = 4)', () => {
  it('puts each row in its package shard only, with the relay-wide seq; DB keeps only the sequence', async () => {
    const r = run++
    const items = await rows(Array.from({ length: 40 }, (_, i) => ({ actor: `did:key:route${r}`, subject: `pkg:npm/route${r}-${i % 10}@${i}`, claim: 'source', object: i % 3 ? `sha256-route${r}` : undefined })))
    const fresh = await insertStatements(env.DB, items)
    expect(fresh.size).toBe(40)
    expect(await countIn(env.DB, 'SELECT count(*) AS n FROM statements')).toBe(0)
    for (const v of items) {
      const seq = await countIn(env.DB, 'SELECT seq AS n FROM sequence WHERE id = ?1', v.id)
      const want = await shardOf(v.statement.subject, 4)
      expect(await countIn(env.DB, 'SELECT shard AS n FROM sequence WHERE id = ?1', v.id)).toBe(want)
      for (let i = 0; i < 4; i++) {
        expect(await countIn(shards[i]!, 'SELECT count(*) AS n FROM statements WHERE id = ?1 AND seq = ?2', v.id, seq)).toBe(i === want ? 1 : 0)
      }
    }
    // All four shards are used by 10 packages (a fixed set: this is not left to chance).
    const used = new Set(await Promise.all(items.map((v) => shardOf(v.statement.subject, 4))))
    expect(used.size).toBeGreaterThan(1)
    expect(await countIn(env.DB, 'SELECT count(*) AS n FROM unindexed')).toBe(0)
  })

  it('stores a statement once relay-wide, and a duplicate batch writes no row anywhere', async () => {
    const r = run++
    const [a, b] = await rows([
      { actor: `did:key:dup${r}`, subject: `pkg:npm/dup${r}@1`, claim: 'source' },
      { actor: `did:key:dup${r}`, subject: `sha256-dup${r}`, claim: 'review' },
    ])
    expect((await insertStatements(env.DB, [a!, a!, b!])).size).toBe(2)
    let written = 0
    const counting = (db: D1Database) =>
      new Proxy(db, {
        get(t, p) {
          if (p === 'batch')
            return async (s: D1PreparedStatement[]) => {
              const res = await t.batch(s)
              written += res.reduce((n, x) => n + (x.meta.rows_written ?? 0), 0)
              return res
            }
          const v = Reflect.get(t, p, t)
          return typeof v === 'function' ? v.bind(t) : v
        },
      })
    const db = counting(env.DB)
    bindShards(db, shards.map(counting))
    expect((await insertStatements(db, [b!, a!])).size).toBe(0)
    expect(written).toBe(0)
    for (const v of [a!, b!]) {
      expect(await countIn(env.DB, 'SELECT count(*) AS n FROM sequence WHERE id = ?1', v.id)).toBe(1)
      const all = await Promise.all(shards.map((s) => countIn(s, 'SELECT count(*) AS n FROM statements WHERE id = ?1', v.id)))
      expect(all.reduce((x, y) => x + y)).toBe(1)
    }
  })

  it('measures D1 rows written per statement at ingest (DB and shards)', async () => {
    const r = run++
    const items = await rows(Array.from({ length: 256 }, (_, i) => ({ actor: `did:key:cost${r}`, subject: `did:key:subject${r}-${i % 4}`, claim: 'review' })))
    const byDb = { db: 0, shards: 0 }
    const counting = (db: D1Database, k: 'db' | 'shards') =>
      new Proxy(db, {
        get(t, p) {
          if (p === 'batch')
            return async (s: D1PreparedStatement[]) => {
              const res = await t.batch(s)
              byDb[k] += res.reduce((n, x) => n + (x.meta.rows_written ?? 0), 0)
              return res
            }
          if (p === 'prepare')
            return (sql: string) => {
              const st = t.prepare(sql)
              // The batch's one `unindexed` delete runs alone (not in a batch): count it too.
              if (!sql.startsWith('DELETE FROM unindexed')) return st
              return { bind: (...a: unknown[]) => ({ run: async () => ((res) => ((byDb[k] += res.meta.rows_written ?? 0), res))(await st.bind(...a).run()) }) }
            }
          const v = Reflect.get(t, p, t)
          return typeof v === 'function' ? v.bind(t) : v
        },
      })
    const db = counting(env.DB, 'db')
    bindShards(db, shards.map((s) => counting(s, 'shards')))
    await insertStatements(db, items)
    const perDb = byDb.db / 256
    const perShard = byDb.shards / 256
    console.log(`D1 rows written per statement at INDEX_SHARDS = 4: DB ${perDb.toFixed(3)} (sequence row and id index, pending body, the batch's unindexed row), shards ${perShard.toFixed(3)} (row, subject and actor indexes), total ${(perDb + perShard).toFixed(3)}; K = 1 writes 5 (test/workers/bodies.test.ts)`)
    // Sequence row + its unique id index + the pending body; the unindexed row's insert, update and delete once a batch.
    expect(byDb.db).toBe(3 * 256 + 3)
    // A statement with no object: the row, its subject and actor index entries.
    expect(byDb.shards).toBe(3 * 256)
  })

  it('merges shards in arrival order, and cursors page exactly through every match (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ p: fc.nat(5), v: fc.nat(3), o: fc.option(fc.nat(3), { nil: undefined }), a: fc.nat(2), c: fc.nat(2) }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        async (spec, limit) => {
          const r = run++
          const fields = spec.map((s) => ({ actor: `did:key:m${r}a${s.a}`, subject: `pkg:npm/m${r}p${s.p}@${s.v}.0`, claim: `c${s.c}`, object: s.o === undefined ? undefined : `sha256-m${r}o${s.o}` }))
          const start = await countStatements(env.DB)
          // Two batches, so that seqs interleave across shards and batches.
          const items = await rows(fields)
          const half = Math.ceil(items.length / 2)
          await insertStatements(env.DB, items.slice(0, half))
          await insertStatements(env.DB, items.slice(half))
          const ids = items.map((v) => v.id)
          const where = (f: (x: Fields) => boolean) => ids.filter((_, i) => f(fields[i]!))
          const first = fields[0]!
          for (const filter of [{ subject: first.subject }, { actor: first.actor }, { claim: first.claim }, { actor: first.actor, claim: first.claim }, ...(first.object ? [{ object: first.object }] : [])]) {
            const got = await allPages((after) => queryStatements(env.DB, filter, after, limit, 5), start)
            expect(got, JSON.stringify(filter)).toEqual(where((x) => Object.entries(filter).every(([k, v]) => x[k as keyof Fields] === v)))
          }
          const subjects = [...new Set(fields.slice(0, 3).map((f) => f.subject))]
          const objects = [`sha256-m${r}o0`, `sha256-m${r}o1`]
          const got = await allPages((after) => queryByTerms(env.DB, subjects, objects, undefined, after, limit), start)
          expect(got).toEqual(where((x) => subjects.includes(x.subject) || objects.includes(x.object ?? '')))
          // A package's versions and rows: one shard, by subject then seq.
          const pkg = `pkg:npm/m${r}p${spec[0]!.p}@`
          const versions = await subjectsWithPrefix(env.DB, pkg, 100)
          const mine = fields.filter((f) => f.subject.startsWith(pkg))
          expect(versions.subjects.map((s) => [s.subject, s.count])).toEqual([...new Set(mine.map((f) => f.subject))].sort().map((s) => [s, mine.filter((f) => f.subject === s).length]))
          const prefixRows = await statementsWithPrefix(env.DB, pkg, 100)
          expect(prefixRows.rows.map(subjectOf)).toEqual(mine.map((f) => f.subject).sort())
          // Across packages (no version in the prefix): every shard, merged by subject.
          const all = await subjectsWithPrefix(env.DB, `pkg:npm/m${r}p`, 100)
          expect(all.subjects.map((s) => s.subject)).toEqual([...new Set(fields.map((f) => f.subject))].sort())
          expect(await isNamed(env.DB, first.subject)).toBe(true)
          expect(await admittingActor(env.DB, first.subject)).toBe(first.actor)
        },
      ),
      { numRuns: 8 },
    )
  }, 30_000)

  it('an ingest that stopped after DB and before its shards hides its rows, and everything after, until integration repairs it', async () => {
    const r = run++
    const actor = `did:key:crash${r}`
    const [a, b] = [await rows([0, 1, 2, 3, 4].map((i) => ({ actor, subject: `pkg:npm/crash${r}-${i}@1`, claim: 'review' }))), await rows([5, 6, 7].map((i) => ({ actor, subject: `pkg:npm/crash${r}-${i}@1`, claim: 'review' })))]
    const start = await countStatements(env.DB)
    // The crash: DB's batch commits (seqs, pending bodies, the open `unindexed` row), the shard writes never run.
    const half = await sequenceStatements(env.DB, 4, a, SEQUENCE_SQL, Date.now())
    expect(half.ids.size).toBe(5)
    await insertStatements(env.DB, b)
    expect(await watermark(env.DB)).toBe(start)
    // Neither batch is visible by term (b is above the watermark): no reader can page past a.
    const page = await queryStatements(env.DB, { actor }, start, 100)
    expect(page).toEqual({ rows: [], next: undefined })
    expect((await queryByTerms(env.DB, [`pkg:npm/crash${r}-6@1`], [], undefined, start, 100)).rows).toEqual([])
    // By id and in the feed (DB's own serial order) they are there already.
    expect((await getStatementRow(env.DB, emptyKv, a[0]!.id, () => {}))?.seq).toBe(start + 1)
    expect((await feedIds(env.DB, start, 100)).ids.map((x) => x.id)).toEqual([...a, ...b].map((v) => v.id))
    // A fresh `unindexed` row may be a live ingest: integration leaves it for 30 s.
    await integrate(relayEnv, 0)
    expect(await watermark(env.DB)).toBe(start)
    await env.DB.prepare('UPDATE unindexed SET at = at - 31000').run()
    await integrate(relayEnv, 0)
    expect(await countIn(env.DB, 'SELECT count(*) AS n FROM unindexed')).toBe(0)
    expect(await watermark(env.DB)).toBe(await countStatements(env.DB))
    const got = await allPages((after) => queryStatements(env.DB, { actor }, after, 3), start)
    expect(got).toEqual([...a, ...b].map((v) => v.id))
  })

  it('integrates the log from DB\'s sequence; shard rows then take their bodies from the bundles, and a repair reads them there too', async () => {
    const r = run++
    const actor = `did:key:log${r}`
    const start = await countStatements(env.DB)
    const mine = await rows(Array.from({ length: 6 }, (_, i) => ({ actor, subject: `pkg:npm/log${r}-${i}@1`, claim: 'review' })))
    await insertStatements(env.DB, mine.slice(0, 3))
    // The other half stops after DB's batch; integration moves its bodies to R2 before the repair is due.
    await sequenceStatements(env.DB, 4, mine.slice(3), SEQUENCE_SQL, Date.now())
    const pad = (256 - ((start + 6) % 256)) % 256
    await insertStatements(env.DB, await rows(Array.from({ length: pad }, (_, i) => ({ actor: `did:key:pad${r}`, subject: `sha256-pad${r}-${i}`, claim: 'filler' }))))
    const done = await integrate(relayEnv, 10_000)
    expect(done.after * 256).toBe(await countStatements(env.DB))
    expect(await countIn(env.DB, 'SELECT count(*) AS n FROM pending_bodies WHERE id IN (SELECT value FROM json_each(?1))', JSON.stringify(mine.map((v) => v.id)))).toBe(0)
    await env.DB.prepare('UPDATE unindexed SET at = at - 31000').run()
    await integrate(relayEnv, 10_000)
    const page = await queryStatements(env.DB, { actor }, start, 100)
    expect(page.rows.map((x) => x.body)).toEqual(mine.map((v) => v.canonical))
    // The feed (no term) reads DB's sequence, bodies from the bundles.
    const feed = await queryStatements(env.DB, {}, start, 6)
    expect(feed.rows.map((x) => x.id)).toEqual(mine.map((v) => v.id))
    expect(feed.rows.map((x) => x.body)).toEqual(mine.map((v) => v.canonical))
  })

  it('a page of integrated rows asks DB for the watermark only; a fresh isolate asks pending_bodies and gets the same bodies; a tampered bundle is still refused', async () => {
    const r = run++
    const actor = `did:key:known${r}`
    const start = await countStatements(env.DB)
    const mine = await rows(Array.from({ length: 5 }, (_, i) => ({ actor, subject: `pkg:npm/known${r}-${i}@1`, claim: 'review' })))
    await insertStatements(env.DB, mine)
    const pad = (256 - ((start + 5) % 256)) % 256
    await insertStatements(env.DB, await rows(Array.from({ length: pad }, (_, i) => ({ actor: `did:key:pad${r}`, subject: `sha256-known${r}-${i}`, claim: 'filler' }))))
    // Each row in its own tile's bundle: `mine` spans the last one or two tiles integrated here.
    const done = await integrate(relayEnv, 10_000)
    expect(done.after * 256).toBe(start + 5 + pad)
    // Two more, after the integrated tiles: their bundle is not written, their bodies are pending.
    const later = await rows([0, 1].map((i) => ({ actor, subject: `pkg:npm/known${r}-later${i}@1`, claim: 'review' })))
    await insertStatements(env.DB, later)

    // The store on a DB that records every statement it is asked, bound to the same shards and bucket.
    const asked: string[] = []
    const db = new Proxy(env.DB, {
      get(t, p) {
        if (p === 'prepare') return (sql: string) => (asked.push(sql), t.prepare(sql))
        const v = Reflect.get(t, p, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
    bindShards(db, shards)
    bindBodies(db, env.BLOBS)
    const pendingAsks = () => asked.filter((q) => q.includes('pending_bodies')).length
    const page = async (limit: number) => {
      asked.length = 0
      return (await queryStatements(db, { actor }, start, limit)).rows
    }

    // integrate() ran in this isolate: the page of integrated rows is W, then the shards; no third trip.
    expect((await page(5)).map((x) => x.body)).toEqual(mine.map((v) => v.canonical))
    expect(asked.length).toBe(1)
    expect(pendingAsks()).toBe(0)
    // A page reaching the pending rows asks for them (only them), and gets their bodies from DB.
    expect((await page(100)).map((x) => x.body)).toEqual([...mine, ...later].map((v) => v.canonical))
    expect(pendingAsks()).toBe(1)

    // A fresh isolate knows no bundle: it asks DB as before, gets the same bodies (from the
    // bundles, hash-checked), and that check is the proof that lets the next page skip the ask.
    forgetBundles(env.BLOBS)
    expect(bundlesKnown(db)).toBe(0)
    expect((await page(5)).map((x) => x.body)).toEqual(mine.map((v) => v.canonical))
    expect(pendingAsks()).toBe(1)
    expect(bundlesKnown(db)).toBe(done.after)
    expect((await page(5)).map((x) => x.body)).toEqual(mine.map((v) => v.canonical))
    expect(pendingAsks()).toBe(0)

    // A tampered bundle (well-formed, one body changed) is refused although DB is not asked, and
    // although the page's other rows are in bundles this isolate knows.
    const seq = start + 1
    const n = Math.floor((seq - 1) / 256)
    const good = new Uint8Array(await (await env.BLOBS.get(bundleKey(n)))!.arrayBuffer())
    const entries = decodeBundle(good)
    entries[(seq - 1) % 256] = utf8(mine[0]!.canonical.replace('"review"', '"reviex"'))
    await env.BLOBS.put(bundleKey(n), encodeBundle(entries))
    // Its good copy is held in this isolate and the Cache API: both go, as for a new isolate in another colo.
    forgetBundles(env.BLOBS)
    await caches.default.delete(`https://log-bundles.vouch.invalid/${bundleKey(n)}`)
    noteBundles(env.BLOBS, done.after)
    try {
      await expect(page(5)).rejects.toBeInstanceOf(BodyFault)
      expect(pendingAsks()).toBe(0)
    } finally {
      await env.BLOBS.put(bundleKey(n), good)
      forgetBundles(env.BLOBS)
      await caches.default.delete(`https://log-bundles.vouch.invalid/${bundleKey(n)}`)
    }
    expect((await page(5)).map((x) => x.body)).toEqual(mine.map((v) => v.canonical))
  })

  it('reads admission grants across shards', async () => {
    const r = run++
    const root = `did:key:root${r}`
    const grants = await rows([1, 2, 3].map((i) => ({ actor: root, subject: `did:key:grantee${r}-${i}`, claim: 'admit' })))
    await insertStatements(env.DB, grants)
    const facts = await loadAdmitGrants(env.DB, [root], 1)
    expect(facts.map((f) => f.id)).toEqual(grants.map((g) => g.id))
  })
})

describe('configuration', () => {
  it('refuses INDEX_SHARDS that is not 1 or a power of two up to 64, and a missing shard binding, with bad_config naming it', async () => {
    for (const [value, variable] of [
      ['3', 'INDEX_SHARDS'],
      ['0', 'INDEX_SHARDS'],
      ['128', 'INDEX_SHARDS'],
      ['-4', 'INDEX_SHARDS'],
      ['four', 'INDEX_SHARDS'],
      ['4.0', 'INDEX_SHARDS'],
      [' 4', 'INDEX_SHARDS'],
      ['8', 'INDEX_4'],
    ] as const) {
      const res = await call({ INDEX_SHARDS: value }, '/v1/feed')
      expect(res.status, value).toBe(500)
      const body = (await res.json()) as { error: { code: string; message: string }; variable: string }
      expect(body.error.code).toBe('bad_config')
      expect(body.variable, value).toBe(variable)
    }
    expect((await call({ INDEX_SHARDS: '2' }, '/v1/feed')).status).toBe(200)
  })

  it("refuses K > 1 on a relay whose statements are in DB's own table (resharding is not built)", async () => {
    await env.DB.prepare("INSERT INTO statements (id, actor, subject, claim, time, body) VALUES ('sha256-old', 'did:key:old', 'x', 'y', 0, '')").run()
    forgetReshardingCheck(env.DB)
    const res = await call({}, '/v1/feed')
    expect(res.status).toBe(500)
    const body = (await res.json()) as { error: { code: string; message: string }; variable: string }
    expect(body.error.code).toBe('bad_config')
    expect(body.variable).toBe('INDEX_SHARDS')
    expect(body.error.message).toMatch(/statements are in one database; resharding is not built/)
    await env.DB.prepare("DELETE FROM statements WHERE id = 'sha256-old'").run()
    forgetReshardingCheck(env.DB)
    expect((await call({}, '/v1/feed')).status).toBe(200)
  })
})

describe('shard query plans (a small npm-like corpus after ANALYZE)', () => {
  let verdicts: (PlanVerdict & { shard: number })[]

  beforeAll(async () => {
    const keys = corpusKeys(300)
    const items: VerifiedStatement[] = []
    for (const r of corpus(2000, keys, 9)) items.push({ id: r.id, statement: JSON.parse(r.body) as Statement, canonical: r.body } as VerifiedStatement)
    for (let i = 0; i < items.length; i += 1000) await insertStatements(env.DB, items.slice(i, i + 1000))
    await Promise.all(shards.map((s) => s.exec('ANALYZE')))
    const published = items.find((r) => r.statement.claim === 'published')!.statement
    const pkg = published.subject.slice(0, published.subject.lastIndexOf('@'))
    // Every statement sent to a shard, as sent (SQL and bindings), while the store's term reads run.
    const captured: (CapturedQuery & { shard: number })[] = []
    let caller = ''
    const recording = shards.map(
      (shard, i) =>
        new Proxy(shard, {
          get(t, p) {
            if (p === 'prepare')
              return (sql: string) =>
                new Proxy(t.prepare(sql), {
                  get(st, q) {
                    if (q === 'bind') return (...params: unknown[]) => (captured.push({ caller, sql, params, shard: i }), st.bind(...params))
                    const v = Reflect.get(st, q, st)
                    return typeof v === 'function' ? v.bind(st) : v
                  },
                })
            const v = Reflect.get(t, p, t)
            return typeof v === 'function' ? v.bind(t) : v
          },
        }),
    )
    bindShards(env.DB, recording)
    const reads: [string, () => Promise<unknown>][] = [
      ['query subject', () => queryStatements(env.DB, { subject: published.subject }, 0, 100)],
      ['query subject+claim', () => queryStatements(env.DB, { subject: published.subject, claim: 'published' }, 0, 100)],
      ['query object', () => queryStatements(env.DB, { object: published.object! }, 0, 100)],
      ['query actor', () => queryStatements(env.DB, { actor: published.actor }, 0, 100)],
      ['query claim (bounded walk)', () => queryStatements(env.DB, { claim: 'review' }, 0, 100)],
      ['bulk by subjects+claims', () => queryByTerms(env.DB, [published.subject], [], ['published'], 0, 100)],
      ['bulk by subjects and objects', () => queryByTerms(env.DB, [published.subject], [published.object!], undefined, 0, 100)],
      ['versions of a package', () => subjectsWithPrefix(env.DB, `${pkg}@`, 100)],
      ['subjects by a prefix of packages', () => subjectsWithPrefix(env.DB, 'pkg:npm/a', 100)],
      ['version rows of a package', () => statementsWithPrefix(env.DB, `${pkg}@`, 100)],
      ['admission grants', () => loadAdmitGrants(env.DB, [published.actor], 1)],
      ['alias claims', () => aliasClaimsOnShards(env.DB, [published.actor], 20)!],
      ['evidence count', () => countBySubjectClaim(env.DB, shards, published.subject, 'log-equivocation')],
      ['blob admission', () => admittingActor(env.DB, published.object!)],
    ]
    try {
      for (const [name, read] of reads) (caller = name), await read()
    } finally {
      bindShards(env.DB, shards)
    }
    verdicts = []
    for (let i = 0; i < shards.length; i++) {
      const mine = captured.filter((q) => q.shard === i)
      const explained = await explainAll(mine, async (sql, params) => (await shards[i]!.prepare(sql).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail))
      verdicts.push(...explained.map((v) => ({ ...v, shard: i })))
    }
    expect(new Set(verdicts.map((v) => v.caller)).size).toBe(reads.length - 1)
  }, 60_000)

  it('no shard query scans, and only the claim walk reads a seq range', () => {
    const bad = verdicts.filter((v) => v.kind === 'scan' || v.kind === 'walk').map((v) => `${v.caller}: ${v.sql} -> ${v.plan.join('; ')}`)
    expect(bad).toEqual([])
    // `seq <= W` must not tempt the planner off the term's index onto a range of the primary key.
    const onRowid = verdicts.filter((v) => v.caller !== 'query claim (bounded walk)' && v.plan.some((d) => /statements USING INTEGER PRIMARY KEY/.test(d)))
    expect(onRowid.map((v) => `${v.caller}: ${v.plan.join('; ')}`)).toEqual([])
    const planOf = (caller: string) => verdicts.filter((v) => v.caller === caller).map((v) => v.plan.join('; ')).join('\n')
    expect(planOf('query subject')).toMatch(/USING (COVERING )?INDEX statements_subject \(subject=\? AND seq>\?\)/)
    expect(planOf('query object')).toMatch(/USING (COVERING )?INDEX statements_object/)
    expect(planOf('query actor')).toMatch(/USING (COVERING )?INDEX statements_actor/)
    expect(planOf('versions of a package')).toMatch(/USING (COVERING )?INDEX statements_subject \(subject>\? AND subject<\?\)/)
    expect(planOf('bulk by subjects and objects')).toMatch(/INDEX statements_subject.*INDEX statements_object|INDEX statements_object.*INDEX statements_subject/s)
    expect(planOf('alias claims')).toMatch(/USING (COVERING )?INDEX statements_object/)
    // A subject or a package prefix asks one shard; an object, actor or claim asks all four.
    const shardsAsked = (caller: string) => new Set(verdicts.filter((v) => v.caller === caller).map((v) => v.shard)).size
    expect(shardsAsked('query subject')).toBe(1)
    expect(shardsAsked('versions of a package')).toBe(1)
    expect(shardsAsked('query object')).toBe(4)
  })
})
