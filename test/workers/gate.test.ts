import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { forgetAdmitted } from '../../src/store/admission.ts'
import { ingest, type GateConfig } from '../../src/store/ingest.ts'
import { insertStatements } from '../../src/store/statements.ts'
import { dayOf, usageOf } from '../../src/store/usage.ts'
import { signStatement, verifyStatement, type Json, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'
import { countingD1 } from '../../bench/lib/d1-counting.ts'

const BASE = 'http://relay.test'
const relayEnv = env as unknown as RelayEnv
type Key = Awaited<ReturnType<typeof testKey>>

/** The Worker's own fetch handler over the test bindings with some settings replaced. */
async function call(vars: Record<string, string>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...relayEnv, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}
const postTo = (vars: Record<string, string>, body: unknown) =>
  call(vars, '/v1/statements', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

let serial = 0
async function batch(key: Key, n: number, fields: Partial<Statement> = {}): Promise<Statement[]> {
  const time = Date.now()
  return Promise.all(Array.from({ length: n }, () => makeStatement(key, { subject: `pkg:generic/gate${serial++}@1.0.0`, time, ...fields })))
}
const storedBy = async (actor: string) => (await env.DB.prepare('SELECT count(*) AS n FROM statements WHERE actor = ?1').bind(actor).first<number>('n')) ?? 0
const admit = (by: Key, to: string, not = false) => signStatement({ v: 1, actor: by.did, subject: to, claim: 'admit', time: Date.now(), ...(not ? { not: true } : {}) }, by.secretKey)

type Summary = { accepted: number; duplicate: number; rejected: number; results: { status: string; error?: { code: string } }[]; error?: { code: string; message: string }; limit?: string }
const codes = (s: Summary) => s.results.map((r) => r.error?.code ?? r.status)

describe('admission: trusted', () => {
  it('10,000 statements from one unadmitted key, in 10 batches of 1,000: every batch 403 not_admitted, none stored', async () => {
    const [op, stranger] = await Promise.all([testKey(101), testKey(102)])
    const vars = { ADMISSION: 'trusted', OPERATOR_KEYS: op.did }
    for (let i = 0; i < 10; i++) {
      const res = await postTo(vars, await batch(stranger, 1000))
      expect(res.status).toBe(403)
      const body = (await res.json()) as Summary
      expect(body.error!.code).toBe('not_admitted')
      expect(body.accepted).toBe(0)
      expect(new Set(codes(body))).toEqual(new Set(['not_admitted']))
    }
    expect(await storedBy(stranger.did)).toBe(0)
    // The operator's own key is admitted in the same mode.
    expect((await postTo(vars, await batch(op, 3))).status).toBe(200)
    expect(await storedBy(op.did)).toBe(3)
  }, 60_000)

  it('an admit grant by an operator key admits a new key at once; a grant by a stranger does not; revocation refuses again', async () => {
    const [op, newcomer, stranger, friend] = await Promise.all([testKey(103), testKey(104), testKey(105), testKey(106)])
    const vars = { ADMISSION: 'trusted', OPERATOR_KEYS: op.did }
    expect((await postTo(vars, await batch(newcomer, 1))).status).toBe(403)
    // A stranger's grant is itself refused (the stranger may not write), and admits no one.
    expect((await postTo(vars, await admit(stranger, friend.did))).status).toBe(403)
    expect((await postTo(vars, await admit(op, newcomer.did))).status).toBe(200)
    // Stored through this isolate: its cached admitted set was dropped, so the next write sees the grant.
    const ok = await postTo(vars, await batch(newcomer, 2))
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as Summary).accepted).toBe(2)
    // Depth 2: the newcomer may admit a friend, who may write.
    expect((await postTo(vars, await admit(newcomer, friend.did))).status).toBe(200)
    expect((await postTo(vars, await batch(friend, 1))).status).toBe(200)
    // The operator revokes the newcomer, who is refused from then on. As with author grants, what
    // the newcomer granted before its revocation stands (POLICY.md "Admission").
    await new Promise((r) => setTimeout(r, 2))
    expect((await postTo(vars, await admit(op, newcomer.did, true))).status).toBe(200)
    expect((await postTo(vars, await batch(newcomer, 1))).status).toBe(403)
    expect((await postTo(vars, await batch(friend, 1))).status).toBe(200)
  })

  it('a mixed batch gets per-item results: admitted items stored, others not_admitted (200)', async () => {
    const [op, stranger] = await Promise.all([testKey(107), testKey(108)])
    const res = await postTo({ ADMISSION: 'trusted', OPERATOR_KEYS: op.did }, [...(await batch(op, 1)), ...(await batch(stranger, 1)), { not: 'a statement' }])
    expect(res.status).toBe(200)
    expect(codes((await res.json()) as Summary)).toEqual(['accepted', 'not_admitted', 'not_admitted'])
  })
})

describe('admission: closed', () => {
  const gate = (op: Key): GateConfig => ({ admission: 'closed', operatorKeys: [op.did], admitDepth: 2, quotaStatementsPerDay: 10_000, peerStatementsPerDay: 5 })
  it('only operator keys from clients, even with an admit grant; everything a configured peer brings, within its own budget', async () => {
    const [op, other] = await Promise.all([testKey(109), testKey(110)])
    const vars = { ADMISSION: 'closed', OPERATOR_KEYS: op.did }
    expect((await postTo(vars, await admit(op, other.did))).status).toBe(200)
    expect((await postTo(vars, await batch(other, 1))).status).toBe(403)
    expect((await postTo(vars, await batch(op, 1))).status).toBe(200)
    const peer = 'https://peer.example.org'
    const r = await ingest(env.DB, (await batch(other, 7)) as unknown as Json[], { now: Date.now(), origin: { kind: 'peer', peer }, gate: gate(op) })
    expect(r.results.map((x) => (x.status === 'rejected' ? x.error.code : x.status))).toEqual([...Array(5).fill('accepted'), 'quota_exceeded', 'quota_exceeded'])
    // Charged to the peer, not to the actor who signed them.
    const usage = await usageOf(env.DB, [`peer:${peer}`, other.did], dayOf(Date.now()))
    expect(usage.get(`peer:${peer}`)?.statements).toBe(5)
    expect(usage.has(other.did)).toBe(false)
  })

  it('trusted mode applies to what peers bring too: unadmitted actors are refused, not stored', async () => {
    const [op, stranger] = await Promise.all([testKey(111), testKey(112)])
    const r = await ingest(env.DB, [...(await batch(op, 1)), ...(await batch(stranger, 2))] as unknown as Json[], {
      now: Date.now(),
      origin: { kind: 'peer', peer: 'https://peer.example.org' },
      gate: { ...gate(op), admission: 'trusted', peerStatementsPerDay: 100 },
    })
    expect(r.results.map((x) => (x.status === 'rejected' ? x.error.code : x.status))).toEqual(['accepted', 'not_admitted', 'not_admitted'])
    expect(await storedBy(stranger.did)).toBe(0)
  })
})

describe('daily statement quota per actor (open mode)', () => {
  it('exactly the quota is accepted; the batch that crosses it gets per-item quota_exceeded; later batches 429 with Retry-After', async () => {
    const key = await testKey(113)
    const vars = { QUOTA_STATEMENTS_PER_DAY: '2500' }
    const statuses: number[] = []
    const first = await batch(key, 1000)
    for (let i = 0; i < 10; i++) {
      const items = i === 0 ? first : await batch(key, 1000)
      const res = await postTo(vars, items)
      statuses.push(res.status)
      const body = (await res.json()) as Summary
      if (i === 2) {
        expect(body.accepted).toBe(500)
        expect(codes(body).slice(498, 502)).toEqual(['accepted', 'accepted', 'quota_exceeded', 'quota_exceeded'])
      }
      if (i >= 3) {
        expect(body.error!.code).toBe('quota_exceeded')
        expect(body.limit).toBe('statementsPerDay')
        const retry = Number(res.headers.get('retry-after'))
        expect(retry).toBeGreaterThan(0)
        expect(retry).toBeLessThanOrEqual(86_400)
        expect(Math.abs(retry - (86_400 - Math.floor((Date.now() % 86_400_000) / 1000)))).toBeLessThan(5)
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429])
    expect(await storedBy(key.did)).toBe(2500)
    // Duplicates cost nothing: what is held already is still answered as a duplicate.
    const again = await postTo(vars, first.slice(0, 10))
    expect(again.status).toBe(200)
    expect(((await again.json()) as Summary).duplicate).toBe(10)
    // Another actor has its own budget.
    expect((await postTo(vars, await batch(await testKey(114), 5))).status).toBe(200)
  }, 60_000)
})

describe('daily blob bytes per actor', () => {
  async function digestOf(bytes: Uint8Array) {
    const h = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
    return { hex: [...h].map((b) => b.toString(16).padStart(2, '0')).join(''), sri: `sha256-${btoa(String.fromCharCode(...h))}` }
  }
  it('charges the actor of the statement that admitted the blob; over quota is 429 and nothing is stored', async () => {
    const key = await testKey(115)
    const vars = { QUOTA_BLOB_BYTES_PER_DAY: '100' }
    const a = crypto.getRandomValues(new Uint8Array(60))
    const b = crypto.getRandomValues(new Uint8Array(60))
    const [da, db] = await Promise.all([digestOf(a), digestOf(b)])
    for (const d of [da, db]) expect((await postTo(vars, await makeStatement(key, { subject: `pkg:generic/blob-${d.hex.slice(0, 8)}@1`, object: d.sri, time: Date.now() }))).status).toBe(200)
    const put = (hex: string, body: Uint8Array, auth?: string) =>
      call(vars, `/v1/blobs/sha256:${hex}`, { method: 'PUT', body, headers: { 'content-length': String(body.length), ...(auth ? { authorization: auth } : {}) } })
    expect((await put(da.hex, a)).status).toBe(201)
    const over = await put(db.hex, b)
    expect(over.status).toBe(429)
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await over.json()).toMatchObject({ error: { code: 'quota_exceeded' }, limit: 'blobBytesPerDay' })
    expect(await env.BLOBS.head(`blobs/sha256/${db.hex}`)).toBeNull()
    expect(await env.BLOBS.head(`blobs/sha256/${da.hex}`)).not.toBeNull()
    expect((await usageOf(env.DB, [key.did], dayOf(Date.now()))).get(key.did)?.bytes).toBe(60)
    // The operator's token is not charged to anyone.
    expect((await put(db.hex, b, 'Bearer test-admin-token')).status).toBe(201)
  })
})

describe('rate limits (a real Workers rate-limit binding with a limit of 5 a minute in place of the configured ones)', () => {
  const rateTest = (env as unknown as { RATE_TEST: RateLimit }).RATE_TEST
  async function hit(ip: string | undefined, binding: 'RATE_REQUESTS' | 'RATE_PEERS' = 'RATE_REQUESTS') {
    const ctx = createExecutionContext()
    const headers: Record<string, string> = ip ? { 'cf-connecting-ip': ip } : {}
    const res = await worker.fetch(new Request(`${BASE}/v1/no-such-route`, { headers }), { ...relayEnv, [binding]: rateTest } as RelayEnv, ctx)
    await waitOnExecutionContext(ctx)
    return res
  }

  it('per client IP: past the limit, 429 rate_limited with Retry-After: 60; another address and requests without CF-Connecting-IP are not limited', async () => {
    const statuses = await Promise.all(Array.from({ length: 8 }, () => hit('203.0.113.9')))
    expect(statuses.map((r) => r.status).sort()).toEqual([404, 404, 404, 404, 404, 429, 429, 429])
    const limited = await hit('203.0.113.9')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' }, limit: 'requestsPerMinute' })
    expect((await hit('198.51.100.7')).status).toBe(404)
    for (let i = 0; i < 8; i++) expect((await hit(undefined)).status).toBe(404)
  })

  it('the configured 600 a minute is in force on every route through SELF.fetch', async () => {
    // Spot check the real binding from wrangler.toml: 50 requests from one address all pass.
    const res = await Promise.all(Array.from({ length: 50 }, () => SELF.fetch(`${BASE}/.well-known/vouch`, { headers: { 'cf-connecting-ip': '192.0.2.77' } })))
    expect(res.every((r) => r.status === 200)).toBe(true)
  })
})

describe('cost: D1 rows written per accepted statement', () => {
  const counting = (db: D1Database) => {
    const c = countingD1(db)
    return { db: c.db, written: () => c.n.written }
  }

  it('batches of 100 statements from 10 actors: the gate adds at most 0.1 rows per statement', async () => {
    const keys = await Promise.all(Array.from({ length: 10 }, (_, i) => testKey(120 + i)))
    const make = async () => (await Promise.all(keys.map((k) => batch(k, 10)))).flat()
    const gate: GateConfig = { admission: 'open', operatorKeys: [], admitDepth: 2, quotaStatementsPerDay: 10_000, peerStatementsPerDay: 10_000 }
    const before = counting(env.DB)
    const after = counting(env.DB)
    const rounds = 5
    for (let i = 0; i < rounds; i++) {
      // Before: what ingest wrote without the gate (the insert alone).
      const verified = await Promise.all((await make()).map((s) => verifyStatement(s, { now: Date.now() })))
      expect((await insertStatements(before.db, verified)).size).toBe(100)
      const r = await ingest(after.db, (await make()) as unknown as Json[], { now: Date.now(), origin: { kind: 'client' }, gate })
      expect(r.accepted).toBe(100)
    }
    const perBefore = before.written() / (rounds * 100)
    const perAfter = after.written() / (rounds * 100)
    console.log(`D1 rows written per accepted statement: before ${perBefore.toFixed(3)}, after ${perAfter.toFixed(3)}`)
    expect(perAfter - perBefore).toBeLessThanOrEqual(0.1)
    expect(perAfter).toBeGreaterThan(perBefore)
  })
})

forgetAdmitted()
