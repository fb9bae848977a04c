import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, startNetwork } from '../../scripts/network-harness.ts'
import type { Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * The ingest gate through real local relays (wrangler's runtime, D1 on disk): admission and daily
 * quotas as a client meets them, and a pull that meets its peer budget without losing anything.
 */
type Net = Awaited<ReturnType<typeof startNetwork>>
type Summary = { accepted: number; duplicate: number; rejected: number; error?: { code: string } }

let serial = 0
async function batch(keyNo: number, n: number): Promise<Statement[]> {
  const key = await testKey(keyNo)
  const time = Date.now()
  return Promise.all(Array.from({ length: n }, () => makeStatement(key, { subject: `pkg:generic/node-gate${serial++}@1.0.0`, time })))
}
const post = (url: string, items: unknown) => fetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
const count = async (url: string, keyNo: number) => {
  const did = (await testKey(keyNo)).did
  let n = 0
  let cursor: string | null = ''
  while (cursor !== null) {
    const page = (await (await fetch(`${url}/v1/statements?actor=${encodeURIComponent(did)}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { statements: unknown[]; cursor: string | null }
    n += page.statements.length
    cursor = page.cursor
  }
  return n
}

describe('the ingest gate on a real local relay', () => {
  let trusted: Net | undefined
  let open: Net | undefined
  let puller: Net | undefined
  beforeAll(async () => {
    const op = await testKey(201)
    ;[trusted, open] = await Promise.all([
      startNetwork({ relays: 1, topology: 'ring', vars: { ADMISSION: 'trusted', OPERATOR_KEYS: op.did } }),
      startNetwork({ relays: 1, topology: 'ring', vars: { QUOTA_STATEMENTS_PER_DAY: '2500' } }),
    ])
    // Pulls from the open relay (which does not list it, so pushes nothing to it), with a small budget for that peer.
    puller = await startNetwork({ relays: 1, topology: 'ring', vars: { PEER_STATEMENTS_PER_DAY: '1500' } })
    const added = await fetch(`${puller.relays[0]!.url}/v1/admin/peers`, {
      method: 'PUT',
      body: JSON.stringify({ peers: [open.relays[0]!.url] }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(added.status).toBe(200)
  }, 180_000)
  afterAll(async () => {
    await Promise.all([trusted?.stop(), open?.stop(), puller?.stop()])
  })

  it('trusted: 10,000 statements from one unadmitted key (10 batches of 1,000) are all refused, 403 not_admitted; none stored', async () => {
    const url = trusted!.relays[0]!.url
    for (let i = 0; i < 10; i++) {
      const res = await post(url, await batch(202, 1000))
      expect(res.status).toBe(403)
      const body = (await res.json()) as Summary
      expect(body.error?.code).toBe('not_admitted')
      expect(body.rejected).toBe(1000)
    }
    expect(await count(url, 202)).toBe(0)
    expect((await post(url, await batch(201, 2))).status).toBe(200)
    const info = (await (await fetch(`${url}/.well-known/vouch`)).json()) as { admission: { mode: string } }
    expect(info.admission.mode).toBe('trusted')
  }, 120_000)

  it('open: exactly the quota (2,500) is accepted; every later batch is 429 quota_exceeded with Retry-After', async () => {
    const url = open!.relays[0]!.url
    const statuses: number[] = []
    let accepted = 0
    for (let i = 0; i < 5; i++) {
      const res = await post(url, await batch(203, 1000))
      statuses.push(res.status)
      const body = (await res.json()) as Summary
      accepted += body.accepted
      if (res.status === 429) {
        expect(body.error?.code).toBe('quota_exceeded')
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(accepted).toBe(2500)
    expect(await count(url, 203)).toBe(2500)
  }, 120_000)

  it('a pull that meets its peer budget stores exactly the budget and keeps its cursor before what it refused', async () => {
    const source = open!.relays[0]!.url
    const url = puller!.relays[0]!.url
    // 2,500 from the test above plus 1,000 more from another actor: 3,500 to pull, 1,500 allowed.
    expect((await post(source, await batch(204, 1000))).status).toBe(200)
    const first = (await puller!.pull(0)).reports[0] as unknown as { stored: number; deferred: number; pages: number }
    expect(first.stored).toBe(1500)
    expect(first.deferred).toBeGreaterThan(0)
    const peers = async () =>
      ((await (await fetch(`${url}/v1/admin/peers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { peers: { url: string; cursor: string }[] }).peers.find((p) => p.url === source)!
    const cursor = (await peers()).cursor
    // The deferred page is read again next round: nothing more fits today, and the cursor stays put.
    const second = (await puller!.pull(0)).reports[0] as unknown as { stored: number; deferred: number }
    expect(second.stored).toBe(0)
    expect(second.deferred).toBeGreaterThan(0)
    expect((await peers()).cursor).toBe(cursor)
    const feed = (await (await fetch(`${url}/v1/feed?view=ids&limit=1000`)).json()) as { ids: string[]; more: boolean }
    expect(feed.ids.length).toBe(1000)
  }, 120_000)
})
