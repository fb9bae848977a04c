import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statementId, type Statement } from '../../src/verify/index.ts'
import { ADMIN_TOKEN, startNetwork } from '../../scripts/network-harness.ts'
import { makeStatement, testKey } from '../helpers.ts'

type Net = Awaited<ReturnType<typeof startNetwork>>
const post = async (url: string, body: unknown) => {
  const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  const json = (await res.json()) as { accepted: number; results: { id: string }[] }
  expect(res.status).toBe(200)
  return json
}
const info = async (url: string) => (await (await fetch(`${url}/.well-known/vouch`)).json()) as { gossip: { pushReceived: number; pushReceivedNew: number } }
/** Every statement a relay holds, by walking its feed. */
async function feedAll(url: string): Promise<Statement[]> {
  const out: Statement[] = []
  let after = ''
  for (;;) {
    const page = (await (await fetch(`${url}/v1/feed?limit=1000${after ? `&after=${after}` : ''}`)).json()) as { statements: Statement[]; cursor: string; more: boolean }
    out.push(...page.statements)
    after = page.cursor
    if (!page.more) return out
  }
}
async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}
const has = async (url: string, id: string) => (await fetch(`${url}/v1/statements/${encodeURIComponent(id)}`)).status === 200

let serial = 0
async function fresh(n: number, keyNo = 31): Promise<Statement[]> {
  const key = await testKey(keyNo)
  return Promise.all(Array.from({ length: n }, () => makeStatement(key, { subject: `pkg:generic/gossip${serial++}@1`, time: Date.now() })))
}

describe('a 6-relay ring', () => {
  let net: Net
  beforeAll(async () => {
    // A generous peer timeout: on a loaded machine a push that times out is retried, and a retry
    // is a second delivery of the same statement, which is not what this test counts.
    net = await startNetwork({ relays: 6, topology: 'ring', peerTimeoutMs: 20_000 })
  }, 120_000)
  afterAll(() => net?.stop())

  // A fixed case of what only the random gossip model caught before: on a ring long enough for
  // two push fronts to meet, a statement crosses each link at most once in all.
  it('a statement reaches all six by push with at most one delivery per link', async () => {
    const before = await Promise.all(net.relays.map((r) => info(r.url)))
    const [s] = await fresh(1, 33)
    const { results } = await post(net.relays[0]!.url, s)
    const id = results[0]!.id
    await waitFor(async () => (await Promise.all(net.relays.map((r) => has(r.url, id)))).every(Boolean))
    await new Promise((r) => setTimeout(r, 500)) // let any redundant pushes land before counting
    const after = await Promise.all(net.relays.map((r) => info(r.url)))
    const deliveries = after.reduce((n, a, i) => n + a.gossip.pushReceived - before[i]!.gossip.pushReceived, 0)
    expect(net.edges.length).toBe(6)
    expect(deliveries).toBeGreaterThanOrEqual(5) // five relays had to receive it
    // The two fronts meet once, at relay 3; the forwarding jitter (src/gossip/push.ts) makes the
    // relay that receives second learn the first already holds it, so normally each link carries
    // it once. That is timing, not a lock: on a heavily loaded machine the meeting link was seen
    // to carry it both ways (7), once. More than one extra delivery would be a real regression.
    expect(deliveries).toBeLessThanOrEqual(net.edges.length + 1)
  }, 30_000)
})

describe('a 3-relay ring', () => {
  let net: Net
  beforeAll(async () => {
    net = await startNetwork({ relays: 3, topology: 'ring', peerTimeoutMs: 2000 })
  }, 120_000)
  afterAll(() => net?.stop())

  it('a statement posted to one relay reaches all by push, crossing at most each edge once', async () => {
    const before = await Promise.all(net.relays.map((r) => info(r.url)))
    const [s] = await fresh(1)
    const { results } = await post(net.relays[0]!.url, s)
    const id = results[0]!.id
    await waitFor(async () => (await Promise.all(net.relays.map((r) => has(r.url, id)))).every(Boolean))
    await new Promise((r) => setTimeout(r, 300)) // let any redundant pushes land before counting
    const after = await Promise.all(net.relays.map((r) => info(r.url)))
    const deliveries = after.reduce((n, a, i) => n + a.gossip.pushReceived - before[i]!.gossip.pushReceived, 0)
    expect(deliveries).toBeGreaterThanOrEqual(2) // two relays had to receive it
    expect(deliveries).toBeLessThanOrEqual(net.edges.length)
  }, 20_000) // the first push also asks each peer for its caps; cold relays on a loaded machine are slow

  it('blob pull-through: a relay missing a blob fetches it from a peer, verifies it, and serves it', async () => {
    const data = randomBytes(300_000)
    const sri = `sha256-${createHash('sha256').update(data).digest('base64')}`
    const hexName = `sha256:${createHash('sha256').update(data).digest('hex')}`
    await post(net.relays[0]!.url, await makeStatement(await testKey(31), { subject: 'pkg:generic/pulled@1', object: sri, time: Date.now() }))
    const up = await fetch(`${net.relays[1]!.url}/v1/blobs/${hexName}`, { method: 'PUT', body: data, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(up.status).toBe(201)
    const res = await fetch(`${net.relays[0]!.url}/v1/blobs/${hexName}`)
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true)
  })

  it('an oversized streamed POST gets 413 and the relay keeps answering (no stall behind the dev proxy)', async () => {
    const url = net.relays[0]!.url
    const chunk = new Uint8Array(256 * 1024).fill(0x20)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 5 * 1024 * 1024) return c.close()
        sent += chunk.length
        c.enqueue(chunk)
      },
    })
    const res = await fetch(`${url}/v1/statements`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('body_too_large')
    // A stalled relay fails this fetch by its 10 s abort; a fixed wall-clock bound below that only
    // flaked on a loaded 2-core machine (5.4 s seen) without catching anything more.
    const info = await fetch(`${url}/.well-known/vouch`, { signal: AbortSignal.timeout(10_000) })
    expect(info.status).toBe(200)
  }, 30_000)

  it('a relay that was down catches up by pull: 0 lost, none twice', async () => {
    const down = net.relays[2]!
    await down.stop()
    const batchA = await fresh(40)
    const batchB = await fresh(40, 32)
    await post(net.relays[0]!.url, batchA)
    await post(net.relays[1]!.url, batchB)
    await down.start()
    const report = await net.pull(2)
    expect(report.reports.every((r) => !r.error)).toBe(true)
    const held = await feedAll(down.url)
    const ids = held.map((s) => s.sig)
    expect(new Set(ids).size).toBe(ids.length) // none twice
    for (const s of [...batchA, ...batchB]) expect(ids).toContain(s.sig) // none lost
    // Catch-up moves about the missing bytes, not everything twice (one peer's ids cost ~50 B each).
    const missingBytes = [...batchA, ...batchB].reduce((n, s) => n + JSON.stringify(s).length, 0)
    const moved = report.reports.reduce((n, r) => n + r.bytes, 0)
    expect(moved).toBeLessThan(1.5 * missingBytes)
    // A second pull finds nothing new and moves no statements.
    const again = await net.pull(2)
    expect(again.reports.reduce((n, r) => n + r.stored, 0)).toBe(0)
  }, 60_000)
})

describe('misbehaving peers', () => {
  let net: Net
  let server: Server
  let base = ''
  let tampered: Statement
  let good: Statement
  let liarIds: string[] = []
  beforeAll(async () => {
    const [a, b] = await fresh(2, 33)
    good = a!
    tampered = { ...b!, subject: 'pkg:generic/evil@6.6.6' } // validly signed once, then changed
    liarIds = await Promise.all([tampered, good].map(statementId))
    server = createServer((req, res) => {
      const path = req.url ?? ''
      if (path.startsWith('/garbage/')) return res.end('{"statements": [ not json')
      if (path.startsWith('/hang/')) return // never answers
      if (path.startsWith('/redirect/')) return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end()
      if (path.startsWith('/huge/')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        const chunk = Buffer.alloc(1 << 20, 0x20)
        let sent = 0
        const pump = () => { while (sent < 64 && res.write(chunk)) sent++; if (sent < 64) res.once('drain', pump); else res.end() }
        return pump()
      }
      if (path.startsWith('/liar/v1/blobs/')) {
        const wrong = Buffer.from('these are not the bytes you are looking for')
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wrong.length })
        return res.end(wrong)
      }
      if (path.startsWith('/liar/v1/feed')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ ids: liarIds, cursor: '2', more: false }))
      }
      if (path.startsWith('/liar/v1/statements/lookup')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ statements: [tampered, good], cursor: null }))
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    net = await startNetwork({
      relays: 1,
      topology: 'ring',
      peerTimeoutMs: 1000,
      extraPeers: { 0: ['garbage', 'hang', 'redirect', 'huge', 'liar'].map((p) => `${base}/${p}`) },
    })
  }, 120_000)
  afterAll(async () => {
    await net?.stop()
    server?.closeAllConnections()
    server?.close()
  })

  it('garbage, a hang, a redirect to a private address and an oversized answer fail alone; a tampered statement is dropped', async () => {
    const relay = net.relays[0]!
    const t0 = Date.now()
    const { reports } = await net.pull(0)
    // The hang costs one 1 s timeout in parallel with the rest; unbounded it would hold the pull for the
    // test's whole 60 s. 15 s leaves room for a loaded machine (5.4 s seen against an earlier 5 s bound).
    expect(Date.now() - t0).toBeLessThan(15_000)
    const by = (p: string) => reports.find((r) => r.peer === `${base}/${p}`)!
    expect(by('garbage').error).toMatch(/offset|JSON/i)
    expect(by('hang').error).toMatch(/within 1000 ms/)
    expect(by('redirect').error).toMatch(/redirect/)
    expect(by('huge').error).toMatch(/more than|bytes/)
    expect(by('liar')).toMatchObject({ stored: 1, invalid: 1 })
    const held = await feedAll(relay.url)
    expect(held).toContainEqual(good)
    expect(held.find((s) => s.subject === tampered.subject)).toBeUndefined()
    // The relay still serves clients while its peers misbehave.
    expect((await fetch(`${relay.url}/.well-known/vouch`)).status).toBe(200)
    // Failing peers back off: the next round skips them instead of waiting on them again.
    // A blob named by a stored statement but served wrong by every source: 502, never the bytes.
    const blobHash = createHash('sha256').update('the real bytes').digest()
    const sri = `sha256-${blobHash.toString('base64')}`
    await post(relay.url, await makeStatement(await testKey(33), { subject: 'pkg:generic/lied-about@1', object: sri, time: Date.now() }))
    const lied = await fetch(`${relay.url}/v1/blobs/sha256:${blobHash.toString('hex')}`)
    expect(lied.status).toBe(502)
    const body = (await lied.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('upstream_mismatch')
    expect(body.error.message).toContain(`${base}/liar`)
    const second = await net.pull(0)
    expect(second.reports.find((r) => r.peer === `${base}/hang`)!.skipped).toBe('backoff')
  }, 60_000)
})
