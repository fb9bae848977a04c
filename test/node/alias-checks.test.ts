import { connect, createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import type { Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Alias checks on a real local relay (wrangler's dev engine, as `npm start` runs it) against a real
 * plain-TCP listener on loopback that counts every connection made to it. Alias claims name that
 * listener by every loopback spelling, over http and https, on its port: neither viewing the actor
 * page nor POSTing a check may open a single connection, and the page's texts must not say which
 * addresses were refused. The harness even runs the relay with ALLOW_PRIVATE_PEERS=true: that
 * setting is for peers, never for addresses someone else published.
 */

type Net = Awaited<ReturnType<typeof startNetwork>>

describe('alias checks on a local relay never reach loopback', () => {
  let net: Net
  let base = ''
  let server: Server
  let port = 0
  let connections = 0

  beforeAll(async () => {
    server = createServer((socket) => {
      connections++
      socket.destroy()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
    net = await startNetwork({ relays: 1, topology: 'ring' })
    base = net.relays[0]!.url
  }, 120_000)

  afterAll(async () => {
    await net?.stop()
    await new Promise((resolve) => server?.close(resolve))
  })

  it('the listener counts connections (so a 0 below means none was made)', async () => {
    await new Promise<void>((resolve, reject) => connect(port, '127.0.0.1').once('close', () => resolve()).once('error', reject))
    expect(connections).toBe(1)
    connections = 0
  })

  it('a page view and a POSTed check of http:// and loopback aliases open no connection, and fail with one text', async () => {
    const key = await testKey(230)
    const aliases = [
      `http://127.0.0.1:${port}`,
      `https://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `https://localhost:${port}`,
      `https://[::ffff:127.0.0.1]:${port}`,
      `https://[::ffff:7f00:1]:${port}`,
      `https://127.1:${port}`,
      `https://2130706433:${port}`,
      `https://app.localhost:${port}`,
    ]
    const items: Statement[] = await Promise.all(aliases.map((object) => makeStatement(key, { subject: key.did, claim: 'alias', object, time: Date.now() })))
    const stored = await fetch(`${base}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
    expect(stored.status).toBe(200)

    const before = await fetch(`${base}/actor/${key.did}?check=1`)
    expect(before.status).toBe(200)
    expect((await before.text()).match(/data-alias-status="unchecked"/g)).toHaveLength(aliases.length)

    const posted = await fetch(`${base}/actor/${key.did}`, { method: 'POST', redirect: 'manual', headers: { origin: base, 'cf-connecting-ip': '192.0.2.7' } })
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toBe(`/actor/${key.did}#aliases`)

    const after = await (await fetch(`${base}/actor/${key.did}`)).text()
    expect(after.match(/data-alias-status="failed"/g)).toHaveLength(aliases.length)
    // Each detail is the same sentence, naming only the URL it would have fetched; spellings a URL
    // parser rewrites (127.1, [::ffff:127.0.0.1]) are refused earlier as not being an origin.
    const details = [...after.matchAll(/<span class="u muted">([^<]*)<\/span>/g)].map((m) => m[1]!)
    expect(details).toHaveLength(aliases.length)
    const fetchText = (alias: string) => `could not fetch ${alias}/.well-known/vouch.json`
    const notOrigin = (alias: string) => `&quot;${alias}&quot; is not an origin such as https://example.org (lower-case, no path, query or port 443)`
    const canonical = (alias: string) => new URL(alias).origin === alias
    expect(details.sort()).toEqual(aliases.map((a) => (canonical(a) ? fetchText(a) : notOrigin(a))).sort())
    expect(aliases.filter(canonical).length).toBeGreaterThanOrEqual(6)
    expect(connections).toBe(0)
  }, 60_000)
})
