import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { decodeBase64url, encodeDidKey, keyPairFromSeed, signRequest, utf8, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

type Net = Awaited<ReturnType<typeof startNetwork>>
type Info = { key: string | null; gossip: { peerRequests: number; badSignatures: number; pushReceived: number; pushRequests: number } }
const info = async (url: string) => (await (await fetch(`${url}/.well-known/vouch`)).json()) as Info
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/statements`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })
const has = async (url: string, id: string) => (await fetch(`${url}/v1/statements/${encodeURIComponent(id)}`)).status === 200
async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}
let serial = 0
const fresh = async (): Promise<Statement> => makeStatement(await testKey(41), { subject: `pkg:generic/peer-auth${serial++}@1`, time: Date.now() })
const relayIdentity = async (seed: string) => {
  const kp = await keyPairFromSeed(decodeBase64url(seed)!)
  return { did: encodeDidKey(kp.publicKey), secretKey: kp.secretKey }
}

describe('relays authenticate each other (RFC 9421)', () => {
  let net: Net
  // Two relays that list each other.
  beforeAll(async () => {
    net = await startNetwork({ relays: 2, topology: 'line', peerTimeoutMs: 2000 })
  }, 120_000)
  afterAll(() => net?.stop())

  it('each relay publishes its key in /.well-known/vouch', async () => {
    for (const r of net.relays) expect((await info(r.url)).key).toBe((await relayIdentity(r.relayKey)).did)
  })

  it('a push is signed by the sender and recognised as a configured peer by the receiver', async () => {
    const before = await info(net.relays[1]!.url)
    const res = await post(net.relays[0]!.url, JSON.stringify(await fresh()))
    expect(res.status).toBe(200)
    const { results } = (await res.json()) as { results: { id: string }[] }
    await waitFor(() => has(net.relays[1]!.url, results[0]!.id))
    const after = await info(net.relays[1]!.url)
    expect(after.gossip.pushReceived).toBeGreaterThan(before.gossip.pushReceived)
    expect(after.gossip.peerRequests).toBeGreaterThan(before.gossip.peerRequests)
  })

  it('a signed GET from the peer is recognised too; a stranger\'s valid signature is served as anonymous', async () => {
    const before = await info(net.relays[0]!.url)
    const feedUrl = `${net.relays[0]!.url}/v1/feed?limit=1`
    const g = await fetch(feedUrl, { headers: await signRequest({ method: 'GET', url: feedUrl }, await relayIdentity(net.relays[1]!.relayKey)) })
    expect(g.status).toBe(200)
    const mid = await info(net.relays[0]!.url)
    expect(mid.gossip.peerRequests).toBe(before.gossip.peerRequests + 1)
    const body = JSON.stringify(await fresh())
    const url = `${net.relays[0]!.url}/v1/statements`
    expect((await post(net.relays[0]!.url, body, await signRequest({ method: 'POST', url, body: utf8(body) }, await testKey(42)))).status).toBe(200)
    expect((await info(net.relays[0]!.url)).gossip.peerRequests).toBe(mid.gossip.peerRequests)
    // A stranger's signature is not even checked: a broken one is served as anonymous too.
    const broken = await signRequest({ method: 'POST', url, body: utf8(body) }, await testKey(42))
    broken.signature = broken.signature!.replace(/^vouch=:(.)/, (_, c: string) => `vouch=:${c === 'A' ? 'B' : 'A'}`)
    expect((await post(net.relays[0]!.url, body, broken)).status).toBe(200)
    const after = await info(net.relays[0]!.url)
    expect(after.gossip.peerRequests).toBe(mid.gossip.peerRequests)
    expect(after.gossip.badSignatures).toBe(mid.gossip.badSignatures)
  })

  it('a tampered body or a stale signature is refused with 401 bad_request_signature and nothing is stored', async () => {
    const s = await fresh()
    const body = JSON.stringify(s)
    const url = `${net.relays[1]!.url}/v1/statements`
    const peer = await relayIdentity(net.relays[0]!.relayKey)
    const before = await info(net.relays[1]!.url)
    const signed = await signRequest({ method: 'POST', url, body: utf8(body) }, peer)
    const other = JSON.stringify(await fresh())
    const tampered = await post(net.relays[1]!.url, other, signed)
    expect(tampered.status).toBe(401)
    expect(((await tampered.json()) as { error: { code: string } }).error.code).toBe('bad_request_signature')
    const stale = await signRequest({ method: 'POST', url, body: utf8(body) }, peer, Math.floor(Date.now() / 1000) - 3600)
    expect((await post(net.relays[1]!.url, body, stale)).status).toBe(401)
    expect((await info(net.relays[1]!.url)).gossip.badSignatures).toBe(before.gossip.badSignatures + 2)
    const feed = (await (await fetch(`${net.relays[1]!.url}/v1/statements?subject=${encodeURIComponent(JSON.parse(other).subject)}`)).json()) as { statements: unknown[] }
    expect(feed.statements).toEqual([])
  })
})

describe('a closed relay pulls from a public relay and pushes nothing to it', () => {
  let pub: Net
  let priv: Net
  beforeAll(async () => {
    pub = await startNetwork({ relays: 1, topology: 'line', peerTimeoutMs: 2000 })
    const operator = (await testKey(41)).did
    priv = await startNetwork({ relays: 1, topology: 'line', peerTimeoutMs: 2000, relayVars: { 0: { PULL_PEERS: pub.relays[0]!.url, ADMISSION: 'closed', OPERATOR_KEYS: operator } } })
  }, 120_000)
  afterAll(async () => {
    await priv?.stop()
    await pub?.stop()
  })

  it('pulls what the public relay holds (any actor); only the operator writes to it directly; what is posted stays inside', async () => {
    const idOf = async (res: Response) => ((await res.json()) as { results: { id: string }[] }).results[0]!.id
    const stranger = await makeStatement(await testKey(43), { subject: `pkg:generic/peer-auth${serial++}@1`, time: Date.now() })
    const refused = await post(priv.relays[0]!.url, JSON.stringify(stranger))
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('not_admitted')
    const outsideId = await idOf(await post(pub.relays[0]!.url, JSON.stringify(stranger)))
    const insideId = await idOf(await post(priv.relays[0]!.url, JSON.stringify(await fresh())))
    const pulled = await priv.pull(0)
    expect(pulled.reports.map((r) => r.peer)).toEqual([pub.relays[0]!.url])
    // The stranger's statement, refused when posted directly, arrives from the configured peer.
    expect(await has(priv.relays[0]!.url, outsideId)).toBe(true)
    await new Promise((r) => setTimeout(r, 500))
    expect(await has(pub.relays[0]!.url, insideId)).toBe(false)
    expect((await info(priv.relays[0]!.url)).gossip.pushRequests).toBe(0)
  })
})
