import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, freePort, startNetwork } from '../../scripts/network-harness.ts'
import { base64, encodeBundle, encodeDidKey, formatCheckpoint, keyPairFromSeed, leafHash, naiveRoot, signNote, utf8, verifyStatement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'
import { naiveTile } from './naive-log.ts'

/**
 * A real relay catching up (PROTOCOL §6.10) from hostile peers, loopback servers whose log is
 * validly signed by the key they publish and whose 512 entries are valid statements: one serves a
 * bundle of 257 entries, one a bundle past the size cap, one a checkpoint far larger than the log
 * it serves. Nothing of any bundle may be stored; a bundle that contradicts the signed tree is a
 * log fault kept as evidence, the others ordinary failures.
 */

type Net = Awaited<ReturnType<typeof startNetwork>>
const MODES = ['m257', 'big', 'lie'] as const
let net: Net
let server: Server
let base = ''

beforeAll(async () => {
  const author = await testKey(91)
  const entries: Uint8Array[] = []
  for (let i = 0; i < 512; i++) {
    const s = await makeStatement(author, { subject: `pkg:generic/hostile-catchup-${i}@1`, time: Date.now() - 60_000 })
    entries.push(utf8((await verifyStatement(s, { now: Date.now() })).canonical))
  }
  const peerKey = await keyPairFromSeed(new Uint8Array(32).fill(92))
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = createServer(async (req, res) => {
    const m = /^\/(m257|big|lie)(\/.*)$/.exec(new URL(req.url!, 'http://x').pathname)
    if (!m) return res.writeHead(404).end()
    const [, mode, path] = m as unknown as [string, (typeof MODES)[number], string]
    const origin = `127.0.0.1:${port}/${mode}/vouch-log`
    const send = (status: number, body: string | Uint8Array, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body)
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ protocol: 1, key: encodeDidKey(peerKey.publicKey), log: null }))
    if (path === '/v1/log/checkpoint') {
      const size = mode === 'lie' ? 2 ** 40 : 512
      const root = mode === 'lie' ? new Uint8Array(32).fill(9) : naiveRoot(entries.map(leafHash))
      return send(200, await signNote(formatCheckpoint({ origin, size, root }), origin, peerKey.publicKey, peerKey.secretKey), 'text/plain')
    }
    if (path === '/v1/log/tile/entries/000') {
      const bundle = mode === 'm257' ? encodeBundle(entries.slice(0, 257)) : mode === 'big' ? new Uint8Array(256 * 4098 + 1) : encodeBundle(entries.slice(0, 256))
      return send(200, bundle, 'application/octet-stream')
    }
    if (path.startsWith('/v1/log/tile/') && mode !== 'lie') {
      const t = naiveTile(entries, path.slice('/v1/log/'.length))
      if (t) return send(200, t, 'application/octet-stream')
    }
    // No feed either: whatever the relay stores could only have come from a bundle.
    return send(404, '{"error":{"code":"not_found","message":"no"}}')
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  net = await startNetwork({ relays: 1, topology: 'line', relayVars: { 0: { PEERS: MODES.map((m) => `${base}/${m}`).join(' ') } } })
}, 180_000)

afterAll(async () => {
  await net?.stop()
  server?.closeAllConnections()
  server?.close()
})

describe('catch-up from hostile peer logs', () => {
  it('257 entries, an oversize bundle, a lying size: nothing stored; the contradiction is a log fault, the rest failures', async () => {
    const { reports } = await net.pull(0)
    const by = Object.fromEntries(reports.map((r) => [r.peer.slice(base.length + 1), r]))
    expect(Object.keys(by).sort()).toEqual([...MODES].sort())
    for (const r of reports) expect(r.stored, r.peer).toBe(0)
    expect(by.m257!.error).toMatch(/bundle 0 holds 257 entries, not 256/)
    expect(by.big!.error).toMatch(/more than \d+ bytes|answered with \d+ bytes/)
    expect(by.lie!.error).toMatch(/HTTP 404 below its checkpoint's size 1099511627776/)
    const feed = (await (await fetch(`${net.relays[0]!.url}/v1/feed?view=ids&limit=10`)).json()) as { ids: string[] }
    expect(feed.ids).toEqual([])
    const admin = (await (await fetch(`${net.relays[0]!.url}/v1/admin/peers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      peers: { url: string; cursor: string; logFault?: { message: string; bundle: number } }[]
    }
    const state = (m: string) => admin.peers.find((p) => p.url === `${base}/${m}`)!
    expect(state('m257').logFault).toMatchObject({ bundle: 0, message: expect.stringMatching(/257 entries/) })
    expect(state('big').logFault).toBeUndefined()
    expect(state('lie').logFault).toBeUndefined()
    for (const m of MODES) expect(state(m).cursor, m).toMatch(/^0?$/)
  }, 60_000)
})
