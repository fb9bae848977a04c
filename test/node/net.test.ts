import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fetchCapped, open, OutboundError, readBody, type OutboundCode } from '../../src/net/index.ts'

/** The outbound door against a real loopback server: each failure has its own code. */
let server: Server
let base: string
let closedPort: string

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/'
    if (path === '/ok') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('hello')
    if (path === '/echo') return void req.pipe(res.writeHead(200))
    if (path === '/redirect') return void res.writeHead(302, { location: '/ok' }).end()
    if (path === '/declared') return void res.writeHead(200, { 'content-length': '1000' }).end('x'.repeat(1000))
    if (path === '/chunked') {
      res.writeHead(200)
      for (let i = 0; i < 20; i++) res.write('y'.repeat(100))
      return void res.end()
    }
    if (path === '/slow-body') {
      res.writeHead(200)
      return void res.write('partial') // never ends
    }
    if (path === '/hang') return // never answers
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const other = createServer()
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
  closedPort = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
  await new Promise((r) => other.close(r))
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const local = { allowPrivate: true, timeoutMs: 2000, maxBytes: 500 }

async function code(p: Promise<unknown>): Promise<OutboundCode | 'ok'> {
  try {
    await p
    return 'ok'
  } catch (e) {
    if (!(e instanceof OutboundError)) throw e
    expect(e.publicMessage).toBe(`could not fetch ${e.url}`)
    return e.code
  }
}

describe('the outbound door', () => {
  it('reads an answer and sends a body', async () => {
    const r = await fetchCapped(`${base}/ok`, local)
    expect(r.status).toBe(200)
    expect(new TextDecoder().decode(r.bytes)).toBe('hello')
    const echo = await fetchCapped(`${base}/echo`, { ...local, method: 'POST', body: 'ping' })
    expect(new TextDecoder().decode(echo.bytes)).toBe('ping')
    expect((await fetchCapped(`${base}/nothing`, local)).status).toBe(404)
  })

  it('gives every failure its own code', async () => {
    expect(await code(fetchCapped(`${base}/redirect`, local))).toBe('redirect')
    expect(await code(fetchCapped(`${base}/declared`, local))).toBe('too_large')
    expect(await code(fetchCapped(`${base}/chunked`, local))).toBe('too_large')
    expect(await code(fetchCapped(`${base}/chunked`, { ...local, maxBytes: 2000 }))).toBe('ok')
    expect(await code(fetchCapped(`${base}/hang`, { ...local, timeoutMs: 200 }))).toBe('timeout')
    expect(await code(fetchCapped(`${base}/slow-body`, { ...local, timeoutMs: 300 }))).toBe('timeout')
    expect(await code(fetchCapped(`${closedPort}/`, local))).toBe('network')
    expect(await code(fetchCapped(`${base}/ok`, { ...local, allowPrivate: false }))).toBe('private_address')
    expect(await code(fetchCapped(`${base}/ok`, { ...local, allowPrivate: false, untrusted: true }))).toBe('bad_url')
  })

  it('stops at the caller signal, and at the answer deadline only before the headers', async () => {
    const ctl = new AbortController()
    setTimeout(() => ctl.abort(new Error('user gave up')), 100)
    expect(await code(fetchCapped(`${base}/hang`, { ...local, signal: ctl.signal }))).toBe('aborted')
    expect(await code(open(`${base}/hang`, { allowPrivate: true, answerTimeoutMs: 150 }))).toBe('timeout')
    const opened = await open(`${base}/chunked`, { allowPrivate: true, answerTimeoutMs: 150 })
    await new Promise((r) => setTimeout(r, 300)) // past the answer deadline: the body still reads
    expect((await readBody(opened, `${base}/chunked`, 5000)).length).toBe(2000)
  })

  it('refuses an answer without a declared length when one is required', async () => {
    expect(await code(open(`${base}/chunked`, { allowPrivate: true, maxBytes: 5000, requireLength: true }))).toBe('too_large')
    const { res } = await open(`${base}/ok`, { allowPrivate: true, maxBytes: 5000, requireLength: true })
    expect(await res.text()).toBe('hello')
  })

  it('uses an injected fetch, still without following redirects', async () => {
    const seen: RequestInit[] = []
    const fake = async (_url: string, init: RequestInit) => (seen.push(init), new Response('fake', { status: 200 }))
    const r = await fetchCapped('https://example.org/x', { allowPrivate: false, maxBytes: 10, fetch: fake })
    expect(new TextDecoder().decode(r.bytes)).toBe('fake')
    expect(seen[0]!.redirect).toBe('manual')
    const moved = async () => new Response(null, { status: 301, headers: { location: 'http://127.0.0.1/' } })
    expect(await code(fetchCapped('https://example.org/x', { allowPrivate: false, maxBytes: 10, fetch: moved }))).toBe('redirect')
  })
})
