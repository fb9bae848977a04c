import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { DEFAULT_CAPS, parseCaps } from '../../src/gossip/caps.ts'
import type { Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Two relays peered with each other: relay 0 on the default (Paid) budget, relay 1 on the Free
 * plan's 10 ms, so it advertises batchItems = pageMax = 20. Relay 0 must push to it and pull from
 * it in batches and pages of at most 20; relay 1 counts every request over its caps (`overCap`),
 * and would refuse an oversized push with 413.
 */
type Gossip = { pushReceived: number; pushReceivedRequests: number; overCap: number }
const info = async (url: string) => (await (await fetch(`${url}/.well-known/vouch`)).json()) as { limits: { batchItems: number; pageMax: number; cpuBudgetMs: number }; gossip: Gossip }
const post = async (url: string, body: unknown) => {
  const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as { accepted: number }
}
async function waitFor(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}
async function fresh(n: number, tag: string): Promise<Statement[]> {
  const key = await testKey(61)
  return Promise.all(Array.from({ length: n }, (_, i) => makeStatement(key, { subject: `pkg:generic/caps-${tag}-${i}@1`, time: Date.now() - 1000 })))
}

describe('peers honour the receiver’s advertised caps', () => {
  let net: Awaited<ReturnType<typeof startNetwork>>
  beforeAll(async () => {
    net = await startNetwork({ relays: 2, topology: 'line', peerTimeoutMs: 3000, relayVars: { 1: { CPU_BUDGET_MS: '10' } } })
  }, 120_000)
  afterAll(() => net?.stop())

  it('the small relay advertises its caps; the default one the protocol maxima', async () => {
    expect((await info(net.relays[1]!.url)).limits).toMatchObject({ batchItems: 20, pageMax: 20, cpuBudgetMs: 10 })
    expect((await info(net.relays[0]!.url)).limits).toMatchObject({ batchItems: 1000, pageMax: 1000, cpuBudgetMs: 30_000 })
  })

  it('a push of 50 statements reaches the small relay in batches of at most 20', async () => {
    const [big, small] = [net.relays[0]!.url, net.relays[1]!.url]
    const before = (await info(small)).gossip
    expect((await post(big, await fresh(50, 'push'))).accepted).toBe(50)
    await waitFor(async () => (await info(small)).gossip.pushReceived - before.pushReceived >= 50)
    const after = (await info(small)).gossip
    expect(after.pushReceived - before.pushReceived).toBe(50)
    expect(after.pushReceivedRequests - before.pushReceivedRequests).toBeGreaterThanOrEqual(3) // 20 + 20 + 10
    expect(after.overCap - before.overCap).toBe(0)
  })

  it('a pull from the small relay asks for pages of at most 20', async () => {
    const [big, small] = [net.relays[0]!, net.relays[1]!]
    await big.stop() // so the statements reach it only by pull
    const statements = await fresh(45, 'pull')
    for (let i = 0; i < statements.length; i += 20) await post(small.url, statements.slice(i, i + 20))
    await big.start()
    const before = (await info(small.url)).gossip
    const { reports } = await net.pull(0)
    const report = reports.find((r) => r.peer === small.url)!
    expect(report.error).toBeUndefined()
    expect(report.stored).toBe(45)
    expect(report.pages).toBeGreaterThanOrEqual(3)
    expect((await info(small.url)).gossip.overCap - before.overCap).toBe(0)
  })
})

describe('parseCaps: a peer\'s /.well-known/vouch is hostile input', () => {
  const caps = (v: unknown) => parseCaps(new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v)))
  it('takes whole numbers from 1 up, bounded by the protocol maxima; anything else means the maxima', () => {
    expect(caps({ limits: { batchItems: 20, pageMax: 50 } })).toEqual({ batchItems: 20, pageMax: 50 })
    expect(caps({ limits: { batchItems: 5000, pageMax: 1 } })).toEqual({ batchItems: 1000, pageMax: 1 })
    for (const bad of [0, -1, 2.5, '20', null, [20], 1e300]) expect(caps({ limits: { batchItems: bad, pageMax: bad } }), String(bad)).toEqual(DEFAULT_CAPS)
    expect(caps({ protocol: 1 })).toEqual(DEFAULT_CAPS)
    expect(caps({ limits: [1, 2] })).toEqual(DEFAULT_CAPS)
    expect(caps({ limits: { batchItems: 20 }, gossip: { ratio: 0.5 } })).toEqual({ batchItems: 20, pageMax: 1000 })
  })
  it('refuses what is not one JSON object', () => {
    for (const bad of ['[]', 'null', '{"limits":{}} x', '\ufeff{}', '{'.repeat(100), '']) expect(() => caps(bad), bad).toThrow()
  })
})
