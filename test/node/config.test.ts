import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Settings through a real relay (wrangler's local runtime): an upstream cache from configuration
 * feeds pull-through, and a bad setting stops the relay answering anything but bad_config.
 */
describe('relay settings, end to end', () => {
  let net: Awaited<ReturnType<typeof startNetwork>> | undefined
  let broken: Awaited<ReturnType<typeof startNetwork>> | undefined
  let server: Server
  let base = ''
  const data = randomBytes(70_000)
  const hex = createHash('sha256').update(data).digest('hex')
  const requests: { path: string; pullThrough: string | undefined }[] = []

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ path: req.url ?? '', pullThrough: req.headers['x-vouch-pull-through'] as string | undefined })
      if (req.url === `/cache/v1/blobs/sha256:${hex}`) return void res.writeHead(200, { 'content-length': String(data.length) }).end(data)
      res.writeHead(404).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    ;[net, broken] = await Promise.all([
      startNetwork({ relays: 1, topology: 'ring', peerTimeoutMs: 2000, vars: { UPSTREAM_CACHES: `${base}/cache/`, BLOB_MAX_BYTES: '100000' } }),
      startNetwork({ relays: 1, topology: 'ring', vars: { MAX_FUTURE_SKEW_MS: 'five minutes' } }),
    ])
  }, 120_000)
  afterAll(async () => {
    await Promise.all([net?.stop(), broken?.stop()])
    server?.closeAllConnections()
    server?.close()
  })

  it('a blob missing here is pulled through from UPSTREAM_CACHES, and the limit in force is reported', async () => {
    const url = net!.relays[0]!.url
    const sri = `sha256-${createHash('sha256').update(data).digest('base64')}`
    const posted = await fetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(await makeStatement(await testKey(51), { subject: 'pkg:generic/cached@1', object: sri, time: Date.now() })), headers: { 'content-type': 'application/json' } })
    expect(posted.status).toBe(200)
    const res = await fetch(`${url}/v1/blobs/sha256:${hex}`)
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true)
    expect(requests).toContainEqual({ path: `/cache/v1/blobs/sha256:${hex}`, pullThrough: '1' })
    const info = (await (await fetch(`${url}/.well-known/vouch`)).json()) as { limits: { blobBytes: number; futureSkewMs: number } }
    expect(info.limits).toMatchObject({ blobBytes: 100_000, futureSkewMs: 300_000 })
  })

  it('a relay with a non-numeric MAX_FUTURE_SKEW_MS refuses every request with bad_config', async () => {
    const url = broken!.relays[0]!.url
    for (const path of ['/.well-known/vouch', '/v1/feed', '/']) {
      const res = await fetch(`${url}${path}`)
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'bad_config' }, variable: 'MAX_FUTURE_SKEW_MS' })
      expect(text).not.toContain('five minutes')
    }
  })
})
