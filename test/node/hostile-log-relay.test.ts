import { createServer, type Server, type ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStatement, keySigner, LogChecker, query, sign } from '../../src/client/index.ts'
import { base64, formatCheckpoint, formatVerifierKey, keyPairFromSeed, leafHash, naiveRoot, noteKeyHash, signNote, utf8, type KeyPair } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'
import { naiveTile } from './naive-log.ts'

/**
 * One hostile relay's log among an honest one's, against the client's log checks (PROTOCOL
 * §6.10): a huge or endless well-known document or checkpoint, a bad log key, a checkpoint padded
 * with signature lines naming the log key (each one an Ed25519 check before), tiles of 10 MB.
 * Both relays are loopback servers serving a log of their own making; only the hostile one
 * misbehaves, in the way its URL's first path segment names.
 */

const subject = `pkg:generic/hostile-log-${process.pid}@1.0.0`
const servers: Server[] = []
let published: { id: string; statement: unknown; canonical: string }[]

class Log {
  entries: Uint8Array[] = []
  constructor(
    readonly origin: string,
    readonly key: KeyPair,
  ) {}
  get verifierKey() {
    return formatVerifierKey(this.origin, this.key.publicKey)
  }
  checkpoint() {
    return signNote(formatCheckpoint({ origin: this.origin, size: this.entries.length, root: naiveRoot(this.entries.map(leafHash)) }), this.origin, this.key.publicKey, this.key.secretKey)
  }
}

const endless = (res: ServerResponse, type: string) => {
  res.writeHead(200, { 'content-type': type })
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const push = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', push)
  }
  push()
}

/** A relay serving `log` with the published statements at the end of it; `mode` says what it does wrong. */
async function relay(seed: number, mode: string): Promise<{ url: string; log: Log }> {
  const log = new Log(`log-${seed}.test/vouch-log`, await keyPairFromSeed(new Uint8Array(32).fill(seed)))
  for (let i = 0; i < 5; i++) log.entries.push(utf8(`{"filler":${i}}`))
  const leaves = published.map((p) => (log.entries.push(utf8(p.canonical)), log.entries.length - 1))
  const s = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, body: string | Uint8Array, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body)
    if (path === '/.well-known/vouch') {
      if (mode === 'huge-well-known') return send(200, JSON.stringify({ protocol: 1, pad: 'x'.repeat(10 << 20) }))
      if (mode === 'endless-well-known') return endless(res, 'application/json')
      const verifierKey = mode === 'bad-log-key' ? log.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+') : log.verifierKey
      return send(200, JSON.stringify({ protocol: 1, log: { origin: log.origin, verifierKey, prefix: '/v1/log' } }))
    }
    if (path === '/v1/log/checkpoint') {
      if (mode === 'endless-checkpoint') return endless(res, 'text/plain')
      const note = await log.checkpoint()
      if (mode === 'padded-checkpoint') {
        // The log's valid line, then 450 more naming its key whose signatures fail (within the 64 KiB a client reads).
        const hash = noteKeyHash(log.origin, log.key.publicKey)
        const bogus = (i: number) => `— ${log.origin} ${base64.encode(new Uint8Array([...hash, ...new Uint8Array(64).fill(i % 256)]))}\n`
        return send(200, note + Array.from({ length: 450 }, (_, i) => bogus(i)).join(''), 'text/plain')
      }
      return send(200, note, 'text/plain')
    }
    if (path.startsWith('/v1/log/tile/')) {
      if (mode === 'huge-tiles') return send(200, new Uint8Array(10 << 20), 'application/octet-stream')
      const t = naiveTile(log.entries, path.slice('/v1/log/'.length))
      return t ? send(200, t, 'application/octet-stream') : send(404, '{"error":{"code":"no_tile","message":"no"}}')
    }
    if (path === '/v1/statements') return send(200, JSON.stringify({ statements: published.map((p) => p.statement), leaves, cursor: null }))
    send(404, '{"error":{"code":"not_found","message":"no"}}')
  })
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}`, log }
}

beforeAll(async () => {
  const signer = keySigner(await testKey(81))
  published = await Promise.all([0, 1, 2].map((i) => sign(createStatement({ actor: signer.did, subject, claim: 'source', object: `sha256-${Buffer.alloc(32, i).toString('base64')}`, time: Date.now() - 1000 + i }), signer)))
})

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close()
})

describe('a hostile relay log beside an honest one', { timeout: 60_000 }, () => {
  const cases: [string, string][] = [
    ['huge-well-known', 'too_large'],
    ['endless-well-known', 'too_large'],
    ['bad-log-key', 'bad_log_info'],
    ['endless-checkpoint', 'too_large'],
    ['padded-checkpoint', 'bad_checkpoint'],
    ['huge-tiles', 'too_large'],
  ]
  for (const [mode, code] of cases) {
    it(`${mode}: the relay is named (${code}), the honest relay's statements stand, in bounded time and memory`, async () => {
      const honest = await relay(90, 'honest')
      const evil = await relay(91, mode)
      const before = process.memoryUsage().rss
      const t0 = performance.now()
      const r = await query([honest.url, evil.url], { subject }, { log: new LogChecker({ retryMs: 10 }), timeoutMs: 5_000 })
      const ms = performance.now() - t0
      expect(r.statements.map((s) => s.id).sort()).toEqual(published.map((p) => p.id).sort())
      expect(r.statements.every((s) => s.relays.join() === honest.url)).toBe(true)
      const report = r.relays.find((x) => x.relay === evil.url)!
      expect(report.problem?.code, JSON.stringify(report.problem)).toBe(code)
      expect(r.relays.find((x) => x.relay === honest.url)!.problem).toBeUndefined()
      expect(ms).toBeLessThan(5_000)
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024)
    })
  }
})
