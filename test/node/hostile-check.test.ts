import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeDidKey, keyPairFromSeed, sign, type VerifiedStatement } from '../../src/client/index.ts'
import { runVouch } from './run-vouch.ts'
import { bodyOf, listen } from './loopback.ts'

/**
 * The real `vouch check` (from its sources) against an honest relay and one hostile relay that
 * misbehaves as its URL's first path segment says. The verdict must be the honest relay's, the
 * hostile relay named with why, within the timeout, without a stack trace.
 */

const A = 'sha512-H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYOD1MChgxlK/CNVgJSql50IQVG82n7u86MEs/HlXsmUv6adQ=='
const servers: Server[] = []
let work = ''
let honestUrl = ''
let hostileUrl = ''
let held: VerifiedStatement[] = []
let minted: VerifiedStatement[] = []
const asked: string[] = []

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))

/** The relay API over `statements`, answered honestly (no log). */
async function honestly(req: IncomingMessage, res: ServerResponse, statements: VerifiedStatement[], path: string): Promise<unknown> {
  const u = new URL(path, 'http://x')
  if (u.pathname === '/.well-known/vouch') return json(res, 200, { protocol: 1, relay: 'x', log: null })
  if (u.pathname === '/v1/statements/bulk') {
    const ask = JSON.parse(await bodyOf(req)) as { subjects?: string[]; objects?: string[]; claims?: string[] }
    const hit = statements.filter((s) => (ask.subjects?.includes(s.statement.subject) || (s.statement.object !== undefined && ask.objects?.includes(s.statement.object))) && (!ask.claims || ask.claims.includes(s.statement.claim)))
    return json(res, 200, { statements: hit.map((s) => s.statement), cursor: null, truncated: false })
  }
  if (u.pathname === '/v1/statements') {
    const f = Object.fromEntries(u.searchParams)
    const hit = statements.filter((s) => (['subject', 'claim', 'object', 'actor'] as const).every((k) => f[k] === undefined || s.statement[k] === f[k]))
    return json(res, 200, { statements: hit.map((s) => s.statement), cursor: null })
  }
  return json(res, 404, { error: { code: 'not_found', message: 'no such route' } })
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-hostile-check-'))
  const bridge = await keyPairFromSeed(new Uint8Array(32).fill(0x51))
  const evil = await keyPairFromSeed(new Uint8Array(32).fill(0x52))
  const t = Date.now() - 60_000
  held = [await sign({ v: 1, actor: encodeDidKey(bridge.publicKey), subject: 'pkg:npm/good@1.0.0', claim: 'published', object: A, time: t }, bridge)]
  minted = await Promise.all(Array.from({ length: 1000 }, (_, i) => sign({ v: 1, actor: encodeDidKey(evil.publicKey), subject: 'pkg:npm/good@1.0.0', claim: 'published', object: `sha256-${Buffer.alloc(32, i % 256).toString('base64')}`, time: t + i }, evil)))
  honestUrl = await listen(servers, (req, res) => void honestly(req, res, held, req.url ?? '/'))
  hostileUrl = await listen(servers, async (req, res) => {
    const m = /^\/([a-z-]+)(\/.*)$/.exec(req.url ?? '')
    const [mode, path] = m ? [m[1]!, m[2]!] : ['', req.url ?? '/']
    asked.push(`${mode} ${path}`)
    if (mode === 'endless' && path === '/v1/statements/bulk') {
      const ask = JSON.parse(await bodyOf(req)) as { cursor?: string }
      return json(res, 200, { statements: minted.map((s) => s.statement), cursor: String(Number(ask.cursor ?? 0) + 1), truncated: true })
    }
    if (mode === 'trickle') {
      res.writeHead(200, { 'content-type': 'application/json' })
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 1000)
      return res.on('close', () => clearInterval(timer))
    }
    if (mode === 'flood') {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const push = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', push)
      }
      return push()
    }
    if (mode === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"statements": [}')
    return honestly(req, res, held, path)
  })
  writeFileSync(join(work, 'package-lock.json'), JSON.stringify({ name: 'x', lockfileVersion: 3, packages: { '': { name: 'x' }, 'node_modules/good': { version: '1.0.0', integrity: A } } }))
  mkdirSync(join(work, '.vouch'))
  writeFileSync(join(work, '.vouch/policy.json'), JSON.stringify({ version: 1, trust: { keys: [] }, bridges: [{ key: encodeDidKey(bridge.publicKey), ecosystems: ['npm'] }] }))
}, 60_000)

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

const check = (relays: string[]) =>
  runVouch(['check', 'package-lock.json', '--json', '--timeout', '3'], { source: true, cwd: work, env: { HOME: work, VOUCH_HOME: join(work, 'home'), VOUCH_RELAYS: relays.join(',') } })

describe('vouch check with one hostile relay among honest ones', { timeout: 120_000 }, () => {
  it('the honest relay alone: verified', async () => {
    const r = await check([honestUrl])
    expect(r.stderr).toBe('')
    expect([r.code, r.json?.summary?.verified]).toEqual([0, 1])
  })

  for (const mode of ['endless', 'trickle', 'flood', 'garbage']) {
    it(`a relay that answers with ${mode}: the same verdict, the relay named, in bounded time, no stack trace`, async () => {
      const t0 = performance.now()
      const r = await check([honestUrl, `${hostileUrl}/${mode}`])
      const ms = performance.now() - t0
      console.log(mode, `${ms.toFixed(0)} ms`, r.stderr.trim().slice(0, 200))
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect([r.code, r.json?.summary?.verified]).toEqual([0, 1])
      expect(JSON.stringify(r.json)).toContain(`${hostileUrl}/${mode}`)
      expect(r.stderr).toMatch(new RegExp(`^warning: ${hostileUrl}/${mode}\\S* (sent|did not finish)`, 'm'))
      expect(ms).toBeLessThan(10_000)
      // Each request has the 3 s timeout; a relay that timed out in the first round (versions) is
      // not asked the second (the hashes they name), so the command waits for it once.
      if (mode === 'trickle') expect(asked.filter((x) => x === 'trickle /v1/statements/bulk')).toHaveLength(2) // versions and author grants, at once
    })
  }
})
