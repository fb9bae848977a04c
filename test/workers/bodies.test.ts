import { env, SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import { integrate, logSize } from '../../src/log/index.ts'
import { loadAdmitGrants } from '../../src/store/admission.ts'
import { bindBodies, BUNDLES_PER_PAGE, bundleKey, forgetBundles } from '../../src/store/bodies.ts'
import { getStatement, insertStatements, queryStatements } from '../../src/store/statements.ts'
import { statementsWithPrefix } from '../../src/store/versions.ts'
import { decodeBundle, encodeBundle, formatSri, sha256, signStatement, utf8, verifyStatement, type Statement, type UnsignedStatement, type VerifiedStatement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Statement bodies leave D1 once the log integrates them (src/store/bodies.ts, docs/SCALE.md):
 * every read path answers the same bytes before and after, a tampered bundle is never served, a
 * crash between the R2 write and the D1 delete loses nothing, and a page whose rows span more
 * bundles than one request reads ends early with a cursor that reaches the rest.
 */

/** A signed statement without an object (grants, reviews of a key). */
async function withoutObject(key: Awaited<ReturnType<typeof testKey>>, fields: Partial<UnsignedStatement>): Promise<Statement> {
  return signStatement({ v: 1, actor: key.did, subject: 'pkg:generic/x@1', claim: 'review', time: 1_777_000_000_000, ...fields } as UnsignedStatement, key.secretKey)
}

const relayEnv = env as unknown as RelayEnv
const emptyKv = { get: async () => null, getWithMetadata: async () => ({ value: null, metadata: null }), put: async () => {} } as unknown as KVNamespace
let serial = 0

/** Unsigned rows with real ids (readers check bodies against ids, never signatures): padding for the log. */
async function filler(n: number, actor = 'did:key:filler'): Promise<VerifiedStatement[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const i = serial++
      const statement = { actor, subject: `pkg:generic/filler-${i}@1`, claim: 'filler', time: i }
      const canonical = JSON.stringify({ ...statement, n: i })
      return { id: formatSri(await sha256(utf8(canonical))), canonical, statement } as unknown as VerifiedStatement
    }),
  )
}

/** Fills the log to the next 256-leaf boundary and integrates everything complete. */
async function integrateAll(): Promise<void> {
  const size = await logSize(env.DB)
  if (size % 256) await insertStatements(env.DB, await filler(256 - (size % 256)))
  await integrate(relayEnv, 10_000)
}

const pending = async () => (await env.DB.prepare('SELECT count(*) AS n FROM pending_bodies').first<number>('n'))!
const get = async (path: string, init?: RequestInit) => {
  const res = await SELF.fetch(`http://relay.test${path}`, init)
  return { status: res.status, text: await res.text() }
}

describe('statement bodies in R2', () => {
  it('every read path answers byte-identical statements before and after integration (random batches)', async () => {
    const keys = await Promise.all([testKey(71), testKey(72), testKey(73)])
    const claims = ['source', 'review', 'admit']
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ k: fc.nat(2), c: fc.nat(2), pkg: fc.nat(3), v: fc.nat(5), pad: fc.nat(300) }), { minLength: 1, maxLength: 40 }),
        async (spec) => {
          const run = serial++
          const items: Statement[] = []
          for (const [i, s] of spec.entries()) {
            const claim = claims[s.c]!
            const subject = claim === 'admit' ? keys[(s.k + 1) % 3]!.did : `pkg:npm/bodies-${run}-${s.pkg}@1.0.${s.v}`
            const fields = { subject, claim, time: 1_777_000_000_000 + i }
            items.push(claim === 'admit' ? await withoutObject(keys[s.k]!, fields) : await makeStatement(keys[s.k]!, fields))
            // Padding between statements spreads a batch over several bundles.
            if (s.pad > 250) await insertStatements(env.DB, await filler(s.pad))
          }
          const verified = await Promise.all(items.map((s) => verifyStatement(s, { now: Date.now() })))
          const start = await logSize(env.DB)
          await insertStatements(env.DB, verified)
          // Up to a bundle boundary now, so integration adds no rows between the two snapshots.
          const size = await logSize(env.DB)
          if (size % 256) await insertStatements(env.DB, await filler(256 - (size % 256)))
          const ids = [...new Set(verified.map((v) => v.id))]
          const subjects = [...new Set(items.map((s) => s.subject))]
          const prefix = `pkg:npm/bodies-${run}-`

          const snapshot = async () => {
            const out: Record<string, unknown> = {}
            let after = start
            const feed: string[] = []
            for (;;) {
              const r = await get(`/v1/feed?after=${after}&limit=100`)
              const page = JSON.parse(r.text) as { statements: unknown[]; cursor: string; more: boolean }
              feed.push(r.text)
              if (!page.more) break
              after = Number(page.cursor)
            }
            out.feed = feed
            for (const s of subjects) out[`subject ${s}`] = await get(`/v1/statements?subject=${encodeURIComponent(s)}`)
            for (const k of keys) out[`actor ${k.did}`] = await get(`/v1/statements?actor=${encodeURIComponent(k.did)}&cursor=${start}`)
            out.claim = await get(`/v1/statements?claim=review&cursor=${start}`)
            const json = { 'content-type': 'application/json' }
            out.bulk = await get('/v1/statements/bulk', { method: 'POST', headers: json, body: JSON.stringify({ subjects }) })
            out.lookup = await get('/v1/statements/lookup', { method: 'POST', headers: json, body: JSON.stringify({ ids }) })
            // By id with the KV cache bypassed, so the body comes from D1 or the bundle each time.
            out.byId = await Promise.all(ids.map((id) => getStatement(env.DB, emptyKv, id, () => {})))
            out.versions = (await statementsWithPrefix(env.DB, prefix, 1000)).rows
            out.admission = await loadAdmitGrants(env.DB, keys.map((k) => k.did), 1)
            return out
          }
          const before = await snapshot()
          expect((before.byId as unknown[]).every((b) => typeof b === 'string')).toBe(true)
          for (const [k, v] of Object.entries(before)) if (v && typeof v === 'object' && 'status' in v) expect((v as { status: number }).status, k).toBe(200)
          await integrateAll()
          const moved = await env.DB.prepare("SELECT count(*) AS n FROM statements WHERE id IN (SELECT value FROM json_each(?1)) AND body = '' AND id NOT IN (SELECT id FROM pending_bodies)").bind(JSON.stringify(ids)).first<number>('n')
          expect(moved).toBe(ids.length)
          forgetBundles(env.BLOBS)
          expect(await snapshot()).toEqual(before)
        },
      ),
      { numRuns: 6 },
    )
    expect(await pending()).toBe(0)
  }, 120_000)

  it('never serves a body from a tampered bundle: 500 body_unavailable, and served again once R2 is repaired', async () => {
    await integrateAll()
    const key = await testKey(74)
    const s = await makeStatement(key, { subject: 'pkg:npm/tamper-me@1.0.0', claim: 'review', time: 1_777_000_000_000 })
    const v = await verifyStatement(s, { now: Date.now() })
    await insertStatements(env.DB, [v])
    const seq = await logSize(env.DB)
    await integrateAll()
    const n = Math.floor((seq - 1) / 256)
    const good = new Uint8Array(await (await env.BLOBS.get(bundleKey(n)))!.arrayBuffer())
    const entries = decodeBundle(good)
    const at = (seq - 1) % 256
    expect(new TextDecoder().decode(entries[at])).toBe(v.canonical)
    // Same length, one claim changed: a well-formed bundle whose entry no longer hashes to its id.
    entries[at] = utf8(v.canonical.replace('"review"', '"reviex"'))
    await env.BLOBS.put(bundleKey(n), encodeBundle(entries))
    for (const path of [`/v1/statements/${encodeURIComponent(v.id)}`, '/v1/statements?subject=pkg%3Anpm%2Ftamper-me%401.0.0']) {
      const r = await get(path)
      expect(r.status, path).toBe(500)
      expect(JSON.parse(r.text).error.code).toBe('body_unavailable')
      expect(r.text).not.toContain('reviex')
    }
    await env.BLOBS.put(bundleKey(n), good)
    const r = await get('/v1/statements?subject=pkg%3Anpm%2Ftamper-me%401.0.0')
    expect(r.status).toBe(200)
    expect(r.text).toMatch(new RegExp(`^\\{"statements":\\[${v.canonical.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\],"leaves":\\[\\d+\\],"cursor":null\\}$`))
  })

  it('a crash after the R2 writes and before D1 drops the bodies loses nothing', async () => {
    await integrateAll()
    const key = await testKey(75)
    const items = await Promise.all(Array.from({ length: 5 }, (_, i) => makeStatement(key, { subject: `pkg:npm/crash@1.0.${i}`, time: 1_777_000_000_000 + i })))
    const verified = await Promise.all(items.map((s) => verifyStatement(s, { now: Date.now() })))
    await insertStatements(env.DB, verified)
    await insertStatements(env.DB, await filler(256 - ((await logSize(env.DB)) % 256)))
    // The page as served, leaf indexes included (taken from the rows: leaf = seq - 1).
    const seqs = await Promise.all(verified.map((v) => env.DB.prepare('SELECT seq FROM statements WHERE id = ?1').bind(v.id).first<number>('seq')))
    const expected = `{"statements":[${verified.map((v) => v.canonical).join(',')}],"leaves":[${seqs.map((s) => s! - 1).join(',')}],"cursor":null}`
    expect((await get('/v1/statements?subject=pkg%3Anpm%2Fcrash%401.0.0')).text).toContain(verified[0]!.canonical)
    // D1's only batch in integration is the one that deletes the pending bodies: it "crashes".
    const crashing = new Proxy(env.DB, {
      get(t, p) {
        if (p === 'batch') return async () => { throw new Error('simulated crash before the D1 update') }
        const v = Reflect.get(t, p, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
    await expect(integrate({ ...relayEnv, DB: crashing }, 10_000)).rejects.toThrow('simulated crash')
    const seq = await env.DB.prepare('SELECT seq FROM statements WHERE id = ?1').bind(verified[0]!.id).first<number>('seq')
    expect(await env.BLOBS.head(bundleKey(Math.floor((seq! - 1) / 256)))).not.toBeNull()
    expect(await pending()).toBeGreaterThanOrEqual(5)
    const query = async () => (await get(`/v1/statements?actor=${encodeURIComponent(key.did)}`)).text
    expect(await query()).toBe(expected)
    // The next run redoes identical R2 writes, then drops the bodies; reads are unchanged.
    await integrate(relayEnv, 10_000)
    expect(await pending()).toBe(0)
    forgetBundles(env.BLOBS)
    expect(await query()).toBe(expected)
    // And the other order of a crash (bodies dropped, integrated mark lost): rerunning reads them from R2.
    await env.BLOBS.delete('log/integrated')
    await integrate(relayEnv, 10_000)
    expect(await query()).toBe(expected)
  })

  it(`a page whose rows span more than ${BUNDLES_PER_PAGE} bundles ends early with a cursor, and the cursors reach every row`, async () => {
    await integrateAll()
    const sparse = (await testKey(77)).did
    const want: string[] = []
    const bundles = BUNDLES_PER_PAGE + 4
    for (let b = 0; b < bundles; b++) {
      const rows = await filler(256)
      for (let j = 0; j < 4; j++) {
        const i = serial++
        const statement = { actor: sparse, subject: `pkg:generic/sparse@${i}`, claim: 'sparse', time: i }
        const canonical = JSON.stringify({ ...statement, n: i })
        rows[j * 64] = { id: formatSri(await sha256(utf8(canonical))), canonical, statement } as unknown as VerifiedStatement
        want.push(canonical)
      }
      await insertStatements(env.DB, rows)
    }
    await integrate(relayEnv, 10_000)
    forgetBundles(env.BLOBS)
    const got: string[] = []
    const sizes: number[] = []
    let cursor = ''
    for (let guard = 0; guard < 10; guard++) {
      const r = await get(`/v1/statements?actor=${encodeURIComponent(sparse)}&limit=1000${cursor}`)
      expect(r.status, r.text).toBe(200)
      const page = JSON.parse(r.text) as { statements: unknown[]; cursor: string | null }
      got.push(...page.statements.map((s) => JSON.stringify(s)))
      sizes.push(page.statements.length)
      if (page.cursor === null) break
      cursor = `&cursor=${page.cursor}`
    }
    expect(sizes).toEqual([BUNDLES_PER_PAGE * 4, 16])
    expect(got).toEqual(want)

    // R2 reads per page: one per distinct bundle at most, none when the isolate holds them.
    let reads = 0
    const counting = new Proxy(env.BLOBS, {
      get(t, p) {
        if (p === 'get') return (...a: Parameters<R2Bucket['get']>) => (reads++, t.get(...a))
        const v = Reflect.get(t, p, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
    bindBodies(env.DB, counting)
    try {
      const first = await queryStatements(env.DB, { actor: sparse }, 0, 1000)
      expect(first.rows.length).toBe(BUNDLES_PER_PAGE * 4)
      expect(reads).toBeLessThanOrEqual(BUNDLES_PER_PAGE)
      const warm = reads
      await queryStatements(env.DB, { actor: sparse }, 0, 1000)
      expect(reads).toBe(warm)
      console.log(`R2 reads for a ${BUNDLES_PER_PAGE}-bundle page: ${warm} cold (after the Cache API), 0 warm`)
    } finally {
      bindBodies(env.DB, env.BLOBS)
    }
  })

  it('measures D1 rows written per statement: +1 at ingest (pending body), +1 at integration (its delete)', async () => {
    await integrateAll()
    const key = await testKey(76)
    const subjects = await Promise.all([1, 2, 3, 4].map((n) => testKey(100 + n)))
    const items = await Promise.all(Array.from({ length: 256 }, (_, i) => withoutObject(key, { subject: subjects[i % 4]!.did, time: 1_777_000_000_000 + i })))
    const verified = await Promise.all(items.map((s) => verifyStatement(s, { now: Date.now() })))
    let written = 0
    const counting = new Proxy(env.DB, {
      get(t, p) {
        if (p === 'batch') return async (s: D1PreparedStatement[]) => {
          const r = await t.batch(s)
          written += r.reduce((a, x) => a + (x.meta.rows_written ?? 0), 0)
          return r
        }
        const v = Reflect.get(t, p, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
    await insertStatements(counting, verified)
    const ingest = written / 256
    written = 0
    await integrate({ ...relayEnv, DB: counting }, 10_000)
    const drop = written / 256
    written = 0
    await insertStatements(counting, verified)
    console.log(`D1 rows written per statement: ingest ${ingest.toFixed(2)} (of which the pending body 1), integration's delete ${drop.toFixed(2)}, a duplicate ${(written / 256).toFixed(2)}`)
    // Statement row, id/subject/actor indexes (no object, no package subject), the pending body.
    expect(ingest).toBe(5)
    expect(drop).toBe(1)
    expect(written).toBe(0)
  })
})
