import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, freePort, startNetwork } from '../../scripts/network-harness.ts'
import { decodeBundle, encodeBundle, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Catch-up from a peer's log (PROTOCOL §6.10): real relays under wrangler's engine. A fresh relay
 * copies a source's entry bundles, checked against its signed checkpoint, then the tail from feed
 * pages, and ends with the source's feed; a peer serving a bundle its checkpoint does not sign is
 * caught and nothing of that bundle is stored.
 */

type Net = Awaited<ReturnType<typeof startNetwork>>
type Report = Awaited<ReturnType<Net['pull']>>['reports'][number] & { bundles?: number }

async function feedIds(url: string): Promise<string[]> {
  const out: string[] = []
  let after = ''
  for (;;) {
    const page = (await (await fetch(`${url}/v1/feed?view=ids&limit=1000${after ? `&after=${after}` : ''}`)).json()) as { ids: string[]; cursor: string; more: boolean }
    out.push(...page.ids)
    after = page.cursor
    if (!page.more) return out
  }
}
const count = async (url: string) => (await feedIds(url)).length

let serial = 0
async function post(url: string, n: number): Promise<void> {
  const key = await testKey(41)
  const all: Statement[] = await Promise.all(Array.from({ length: n }, () => makeStatement(key, { subject: `pkg:generic/catchup${serial++}@1`, time: Date.now() - 60_000 })))
  for (let i = 0; i < all.length; i += 1000) {
    const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(all.slice(i, i + 1000)), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { accepted: number }).accepted).toBe(Math.min(1000, n - i))
  }
}

/** A peer in front of the source that swaps two statements in entry bundle 2: each still verifies, the bundle does not. */
function tamperingProxy(target: () => string, port: number): Promise<Server> {
  const server = createServer(async (req, res) => {
    const upstream = await fetch(`${target()}${req.url}`, { headers: { 'cf-connecting-ip': '198.18.0.9' } })
    let body: Uint8Array = new Uint8Array(await upstream.arrayBuffer())
    if (req.url === '/v1/log/tile/entries/002' && upstream.status === 200) {
      const entries = decodeBundle(body)
      ;[entries[10], entries[11]] = [entries[11]!, entries[10]!]
      body = encodeBundle(entries)
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' })
    res.end(body)
  })
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)))
}

describe('catch-up from a peer log', () => {
  let net: Net
  let proxy: Server
  let proxyUrl: string
  const pull = async (i: number, peer: string): Promise<Report> => (await net.pull(i)).reports.find((r) => r.peer === peer)!
  beforeAll(async () => {
    const port = await freePort()
    proxyUrl = `http://127.0.0.1:${port}`
    proxy = await tamperingProxy(() => net.relays[0]!.url, port)
    // Relay 0 is the source (no peers: it pushes nothing). Relay 1 pulls from it with a CPU budget
    // of 512 ms, so 4 bundles a round (bounded work); relay 2 pulls from the tampering proxy.
    net = await startNetwork({
      relays: 3,
      topology: 'star',
      peerTimeoutMs: 20_000,
      relayVars: { 0: { PEERS: '' }, 1: { CPU_BUDGET_MS: '512' }, 2: { PEERS: proxyUrl } },
    })
    await post(net.relays[0]!.url, 2300)
  }, 180_000)
  afterAll(async () => {
    await net?.stop()
    proxy?.close()
  })

  it('a fresh relay copies bundles in bounded rounds, resumes after a restart, and ends with the same feed', async () => {
    const [a, b] = [net.relays[0]!, net.relays[1]!]
    // 2300 leaves: 8 full bundles, then 252 in the partial tail.
    const r1 = await pull(1, a.url)
    expect(r1).toMatchObject({ bundles: 4, pages: 0, stored: 1024, invalid: 0 })
    expect(r1.error).toBeUndefined()
    await b.stop()
    await b.start()
    const r2 = await pull(1, a.url)
    expect(r2).toMatchObject({ bundles: 4, stored: 1276, invalid: 0 })
    expect(r2.pages).toBeGreaterThanOrEqual(1)
    expect(await feedIds(b.url)).toEqual(await feedIds(a.url))

    // 600 more: from leaf 2300 the bundle holding it (8) is read again, only its 4 new entries kept.
    await post(a.url, 600)
    // Integration runs after the response (within seconds): wait until the source's signed
    // checkpoint covers the new leaves, or the pull rightly reads them as a feed tail instead.
    const deadline = Date.now() + 30_000
    for (;;) {
      const note = await (await fetch(`${a.url}/v1/log/checkpoint`)).text()
      if (Number(note.split('\n')[1]) >= 2900) break
      if (Date.now() > deadline) throw new Error('the source never integrated the new leaves')
      await new Promise((r) => setTimeout(r, 200))
    }
    const r3 = await pull(1, a.url)
    expect(r3).toMatchObject({ bundles: 3, stored: 600, invalid: 0 })
    const ids = await feedIds(a.url)
    expect(ids).toHaveLength(2900)
    expect(await feedIds(b.url)).toEqual(ids)

    // Up to date: one checkpoint request, no bundle.
    const r4 = await pull(1, a.url)
    expect(r4).toMatchObject({ stored: 0, pages: 1 })
    expect(r4.bundles).toBeUndefined()
  }, 120_000)

  it('a peer serving a bundle its signed checkpoint does not cover is reported, nothing of that bundle stored', async () => {
    const r = await pull(2, proxyUrl)
    expect(r.error).toMatch(/bundle 2 does not hash to the root of its signed checkpoint/)
    expect(r.bundles).toBe(2)
    expect(r.stored).toBe(512)
    const c = net.relays[2]!.url
    expect(await count(c)).toBe(512)
    // Neither of the swapped statements (both validly signed) nor anything after them was stored.
    const source = await feedIds(net.relays[0]!.url)
    expect(await feedIds(c)).toEqual(source.slice(0, 512))
    const admin = (await (await fetch(`${c}/v1/admin/peers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      peers: { url: string; cursor: string; failures: number; logFault?: { message: string; checkpoint: string; bundle: number } }[]
    }
    const state = admin.peers.find((p) => p.url === proxyUrl)!
    expect(state).toMatchObject({ cursor: '512', failures: 1, logFault: { bundle: 2 } })
    // The evidence is the peer's own signed note.
    expect(state.logFault!.checkpoint).toMatch(/^127\.0\.0\.1:\d+\/vouch-log\n\d+\n[A-Za-z0-9+/]+=*\n\n— /)
  }, 60_000)
})
