import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bulkQuery, encodeDidKey, keyPairFromSeed, sign, type VerifiedStatement } from '../../src/client/index.ts'
import { bodyOf, listen } from './loopback.ts'

/**
 * One hostile relay listed beside an honest one, against the client's bulk reading (PROTOCOL
 * §6.4b), which `vouch check` runs for every lockfile. Both are plain loopback HTTP servers; the
 * hostile one switches behaviour by the path prefix of its base URL, so every case is one relay.
 * Each case asks: does the answer still come from the honest relay, is the hostile one named with
 * why, and how long and how much did it cost.
 */

const SUBJECTS = Array.from({ length: 20 }, (_, i) => `pkg:npm/pkg${i}@1.0.0`)
const A = 'sha512-H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYOD1MChgxlK/CNVgJSql50IQVG82n7u86MEs/HlXsmUv6adQ=='
const servers: Server[] = []
let honest: VerifiedStatement[]
let minted: VerifiedStatement[]
let foreign: VerifiedStatement[]
let honestUrl: string
let hostileUrl: string
const hostileRequests: string[] = []

const page = (statements: unknown[], cursor: string | null) => JSON.stringify({ statements, cursor, truncated: cursor !== null })

beforeAll(async () => {
  const bridge = await keyPairFromSeed(new Uint8Array(32).fill(0x31))
  const evil = await keyPairFromSeed(new Uint8Array(32).fill(0x32))
  const t = Date.now() - 60_000
  honest = await Promise.all(SUBJECTS.map((subject) => sign({ v: 1, actor: encodeDidKey(bridge.publicKey), subject, claim: 'published', object: A, time: t }, bridge)))
  // Validly signed statements about the asked subjects, by a key of the attacker's: a relay can
  // mint as many as it likes, offline, once, and serve them to every client.
  minted = await Promise.all(Array.from({ length: 1000 }, (_, i) => sign({ v: 1, actor: encodeDidKey(evil.publicKey), subject: SUBJECTS[i % SUBJECTS.length]!, claim: 'published', object: A, time: t + i }, evil)))
  foreign = await Promise.all(Array.from({ length: 5 }, (_, i) => sign({ v: 1, actor: encodeDidKey(evil.publicKey), subject: `pkg:npm/other${i}@1.0.0`, claim: 'published', object: A, time: t }, evil)))

  honestUrl = await listen(servers, async (req, res) => {
    if (req.url !== '/v1/statements/bulk') return res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}')
    const ask = JSON.parse(await bodyOf(req)) as { subjects: string[] }
    res.writeHead(200, { 'content-type': 'application/json' }).end(page(honest.filter((s) => ask.subjects.includes(s.statement.subject)).map((s) => s.statement), null))
  })

  hostileUrl = await listen(servers, async (req, res) => {
    const m = /^\/([a-z-]+)(\/.*)$/.exec(req.url ?? '')
    const [mode, path] = m ? [m[1]!, m[2]!] : ['', req.url ?? '']
    hostileRequests.push(`${mode} ${path}`)
    if (path !== '/v1/statements/bulk') return res.writeHead(404).end()
    const ask = JSON.parse(await bodyOf(req)) as { cursor?: string }
    const n = Number(ask.cursor ?? 0)
    const ok = () => res.writeHead(200, { 'content-type': 'application/json' })
    switch (mode) {
      case 'endless': // a full page of valid statements and a fresh cursor, forever
        return ok().end(page(minted.map((s) => s.statement), String(n + 1)))
      case 'fresh': // 100 different valid statements a page, and a fresh cursor
        return ok().end(page(minted.slice((n % 10) * 100, (n % 10) * 100 + 100).map((s) => s.statement), String(n + 1)))
      case 'foreign': // statements about subjects nobody asked for
        return ok().end(page(foreign.map((s) => s.statement), null))
      case 'too-many': // more statements in one page than any page may hold (small ones: an envelope only)
        return ok().end(page(Array.from({ length: 100_000 }, () => 0), null))
      case 'huge': { // a body past the cap, declared
        const chunk = Buffer.alloc(1 << 20, 0x20)
        ok()
        for (let i = 0; i < 10; i++) res.write(chunk)
        return res.end()
      }
      case 'never-ends': { // a body that never ends, undeclared, as fast as the client reads
        ok()
        const chunk = Buffer.alloc(64 * 1024, 0x20)
        const push = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', push)
        }
        res.write('{"statements":[')
        return push()
      }
      case 'trickle': { // one byte a second
        ok()
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 1000)
        res.on('close', () => clearInterval(timer))
        return
      }
      default:
        return res.writeHead(404).end()
    }
  })
}, 60_000)

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close()
})

async function askBoth(mode: string, o: { timeoutMs?: number; perTerm?: number } = {}) {
  const t0 = performance.now()
  const r = await bulkQuery([honestUrl, `${hostileUrl}/${mode}`], SUBJECTS, { claims: ['published'], timeoutMs: o.timeoutMs ?? 5_000, perTerm: o.perTerm })
  const ms = performance.now() - t0
  const report = r.relays.find((x) => x.relay.includes(`/${mode}`))!
  const fromHonest = r.statements.filter((s) => s.relays.includes(honestUrl)).map((s) => s.id)
  return { r, ms, report, fromHonest }
}

describe('bulk reading with one hostile relay among honest ones', { timeout: 120_000 }, () => {
  it('statements about subjects nobody asked for are dropped and named; the honest answer stands', async () => {
    const { report, fromHonest } = await askBoth('foreign')
    expect(fromHonest.sort()).toEqual(honest.map((s) => s.id).sort())
    expect(report.dropped).toHaveLength(5)
    expect(report.dropped[0]!.message).toMatch(/not about a subject/)
  })

  for (const [mode, code] of [['too-many', 'bad_answer'], ['huge', 'too_large'], ['never-ends', 'too_large']] as const) {
    it(`a ${mode} answer is refused at its cap and the relay named; the honest answer stands`, async () => {
      const before = process.memoryUsage().rss
      const { report, fromHonest, ms } = await askBoth(mode)
      expect(fromHonest.sort()).toEqual(honest.map((s) => s.id).sort())
      expect(report.ok).toBe(false)
      expect(report.problem?.code, JSON.stringify(report.problem)).toBe(code)
      expect(ms).toBeLessThan(5_000)
      // The cap is a page's bytes (~4 MiB); nothing close to what the relay would send.
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024)
    })
  }

  it('a relay trickling one byte a second is cut at the timeout, named, and the honest answer stands', async () => {
    const { report, fromHonest, ms } = await askBoth('trickle', { timeoutMs: 1_500 })
    expect(fromHonest.sort()).toEqual(honest.map((s) => s.id).sort())
    expect(report.problem?.code).toBe('timeout')
    expect(ms).toBeLessThan(4_000)
  })

  it('a relay that pages forever with valid minted statements is stopped early, named as truncated, and costs a bounded number of checks', async () => {
    hostileRequests.length = 0
    const { r, report, fromHonest, ms } = await askBoth('endless')
    expect(fromHonest.sort()).toEqual(honest.map((s) => s.id).sort())
    const pages = hostileRequests.filter((x) => x.startsWith('endless')).length
    console.log(`endless pager: ${pages} pages, ${ms.toFixed(0)} ms, ${r.statements.length} statements kept`)
    expect(report.truncated).toBe(true)
    expect(pages).toBeLessThanOrEqual(2)
  })

  it('fresh statements on every page stop at the per-term budget (here 20 × 20 = 400 statements: 4 pages of 100)', async () => {
    hostileRequests.length = 0
    const { report, fromHonest } = await askBoth('fresh', { perTerm: 20 })
    expect(fromHonest.sort()).toEqual(honest.map((s) => s.id).sort())
    expect(hostileRequests.filter((x) => x.startsWith('fresh')).length).toBe(4)
    expect([report.truncated, report.received]).toEqual([true, 400])
  })
})
