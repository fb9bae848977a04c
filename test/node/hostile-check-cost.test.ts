import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeDidKey, keyPairFromSeed, sign, type VerifiedStatement } from '../../src/client/index.ts'
import { bodyOf, listen } from './loopback.ts'
import { runVouch } from './run-vouch.ts'

/**
 * What one hostile relay can make the real `vouch check` cost beyond its own answers
 * (docs/SECURITY.md): the questions it makes the command ask honest relays, and the time it makes
 * every later question wait after it stalled once. The honest relay counts what it is asked.
 */

const A = 'sha512-H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYOD1MChgxlK/CNVgJSql50IQVG82n7u86MEs/HlXsmUv6adQ=='
const PACKAGES = 40
const servers: Server[] = []
let work = ''
let honestUrl = ''
let hostileUrl = ''
let held: VerifiedStatement[] = []
let minted: VerifiedStatement[] = []
/** The hashes the honest relay was asked about in bulk rounds for builds and reviews, and its per-package questions. */
let hashTerms = 0
let hashRequests = 0
const hostileAsked: string[] = []

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))

async function honestly(req: IncomingMessage, res: ServerResponse, statements: VerifiedStatement[], path: string, count: boolean): Promise<unknown> {
  const u = new URL(path, 'http://x')
  if (u.pathname === '/.well-known/vouch') return json(res, 200, { protocol: 1, relay: 'x', log: null })
  if (u.pathname === '/v1/statements/bulk') {
    const ask = JSON.parse(await bodyOf(req)) as { subjects?: string[]; objects?: string[]; claims?: string[] }
    if (count && ask.claims?.includes('build')) (hashTerms += ask.subjects?.length ?? 0), hashRequests++
    const hit = statements.filter((s) => (ask.subjects?.includes(s.statement.subject) || (s.statement.object !== undefined && ask.objects?.includes(s.statement.object))) && (!ask.claims || ask.claims.includes(s.statement.claim)))
    return json(res, 200, { statements: hit.map((s) => s.statement), cursor: null })
  }
  if (u.pathname === '/v1/statements') {
    const f = Object.fromEntries(u.searchParams)
    const hit = statements.filter((s) => (['subject', 'claim', 'object', 'actor'] as const).every((k) => f[k] === undefined || s.statement[k] === f[k]))
    return json(res, 200, { statements: hit.map((s) => s.statement), cursor: null })
  }
  return json(res, 404, { error: { code: 'not_found', message: 'no such route' } })
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-hostile-cost-'))
  const bridge = await keyPairFromSeed(new Uint8Array(32).fill(0x61))
  const evil = await keyPairFromSeed(new Uint8Array(32).fill(0x62))
  const t = Date.now() - 60_000
  held = await Promise.all(Array.from({ length: PACKAGES }, (_, i) => sign({ v: 1, actor: encodeDidKey(bridge.publicKey), subject: `pkg:npm/p${i}@1.0.0`, claim: 'published', object: A, time: t }, bridge)))
  // 1,000 valid claims about one locked version, each naming a hash no one else names.
  minted = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => {
      const h = Buffer.alloc(32)
      h.writeUInt32BE(i + 1)
      return sign({ v: 1, actor: encodeDidKey(evil.publicKey), subject: 'pkg:npm/p0@1.0.0', claim: 'published', object: `sha256-${h.toString('base64')}`, time: t + i }, evil)
    }),
  )
  honestUrl = await listen(servers, (req, res) => void honestly(req, res, held, req.url ?? '/', true))
  hostileUrl = await listen(servers, async (req, res) => {
    const m = /^\/([a-z-]+)(\/.*)$/.exec(req.url ?? '')
    const [mode, path] = m ? [m[1]!, m[2]!] : ['', req.url ?? '/']
    hostileAsked.push(`${mode} ${path.split('?')[0]}`)
    if (mode === 'inventor' && path === '/v1/statements/bulk') {
      const ask = JSON.parse(await bodyOf(req)) as { subjects?: string[] }
      return json(res, 200, { statements: ask.subjects?.includes('pkg:npm/p0@1.0.0') ? minted.map((s) => s.statement) : [], cursor: null })
    }
    // Every bulk answer says there is more (so each package is asked again on its own), then every single question stalls.
    if (mode === 'staller' && path === '/v1/statements/bulk') return json(res, 200, { statements: [], cursor: 'more' })
    if (mode === 'staller' && path.startsWith('/v1/statements')) return // never answers
    return honestly(req, res, [], path, false)
  })
  const packages = Object.fromEntries(Array.from({ length: PACKAGES }, (_, i) => [`node_modules/p${i}`, { version: '1.0.0', integrity: A }]))
  writeFileSync(join(work, 'package-lock.json'), JSON.stringify({ name: 'x', lockfileVersion: 3, packages: { '': { name: 'x' }, ...packages } }))
  mkdirSync(join(work, '.vouch'))
  writeFileSync(join(work, '.vouch/policy.json'), JSON.stringify({ version: 1, trust: { keys: [] }, bridges: [{ key: encodeDidKey(bridge.publicKey), ecosystems: ['npm'] }] }))
}, 60_000)

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

const check = (relays: string[], timeout = 3) =>
  runVouch(['check', 'package-lock.json', '--json', '--timeout', String(timeout)], { source: true, cwd: work, env: { HOME: work, VOUCH_HOME: join(work, 'home'), VOUCH_RELAYS: relays.join(',') } })

describe('what one hostile relay can make `vouch check` cost', { timeout: 120_000 }, () => {
  it('a relay inventing 1,000 hashes for one version: the honest relay is asked about a handful, and the inventor is named as cut', async () => {
    hashTerms = hashRequests = 0
    const t0 = performance.now()
    const r = await check([honestUrl, `${hostileUrl}/inventor`])
    const ms = performance.now() - t0
    console.log(`inventor: ${ms.toFixed(0)} ms, honest relay asked about ${hashTerms} hashes in ${hashRequests} bulk requests`)
    expect([r.code, r.json?.summary?.verified], r.stderr).toEqual([0, PACKAGES])
    // Before: 1,001 hashes (the honest one and the 1,000 invented), two bulk requests of 1,000.
    expect(hashTerms).toBeLessThanOrEqual(1 + 4)
    expect(hashRequests).toBe(1)
    expect(r.stderr).toContain(`warning: ${hostileUrl}/inventor's version claims named 996 more hashes than 4 a version`)
  })

  it('a relay that stalls each per-package question: the command waits for it once, and names it once', async () => {
    hostileAsked.length = 0
    const t0 = performance.now()
    const r = await check([honestUrl, `${hostileUrl}/staller`], 2)
    const ms = performance.now() - t0
    const single = hostileAsked.filter((x) => x === 'staller /v1/statements').length
    console.log(`staller: ${ms.toFixed(0)} ms, ${single} per-package questions reached it`)
    expect([r.code, r.json?.summary?.verified], r.stderr).toEqual([0, PACKAGES])
    expect(r.stderr).not.toMatch(/\n\s+at /)
    // Before: every wave of per-package questions (16 packages at a time) waited its 2 s timeout: 3 waves, ~6.5 s.
    expect(ms).toBeLessThan(5_500)
    // Named once, with what it was then not asked.
    const lines = r.stderr.split('\n').filter((l) => l.includes(`${hostileUrl}/staller`))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/did not answer in time; not asked again in this command \(\d+ later questions? skipped\)/)
  })
})
