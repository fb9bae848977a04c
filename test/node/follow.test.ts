import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unstable_startWorker } from 'wrangler'
import { freePort, startNetwork } from '../../scripts/network-harness.ts'
import { backoffMs, followNpm, parseChanges, retryAfter, type CheckpointStore, type FollowOptions, type FollowState } from '../../src/bridges/index.ts'
import { keySigner, query } from '../../src/client/index.ts'
import { base64 } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

/**
 * `vouch bridge npm --follow` against a stand-in registry on loopback (a changes feed and the
 * packuments it names) and a real local relay.
 */

const ROOT = join(import.meta.dirname, '../..')
const T0 = Date.parse('2024-01-01T00:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const sri = (n: number, v: string) => `sha512-${base64.encode(new Uint8Array(64).fill((n * 7 + v.length) % 251))}`

interface Pkg {
  name: string
  versions: string[]
  deprecated?: string[]
  unpublished?: boolean
}

/** A packument as a registry serves it, with a time for each version. */
function packument(p: Pkg, n: number): unknown {
  const time: Record<string, unknown> = { created: iso(T0 + n * 1000), modified: iso(T0 + n * 1000 + 500) }
  if (p.unpublished) return { name: p.name, time: { ...time, unpublished: { time: iso(T0 + n * 1000 + 900), versions: p.versions } } }
  const versions: Record<string, unknown> = {}
  p.versions.forEach((v, i) => {
    time[v] = iso(T0 + n * 1000 + i)
    versions[v] = { name: p.name, version: v, dist: { integrity: sri(n, v), tarball: `https://registry.example/${p.name}/-/${p.name}-${v}.tgz` }, ...(p.deprecated?.includes(v) && { deprecated: 'use something else' }) }
  })
  return { name: p.name, 'dist-tags': { latest: p.versions.at(-1) }, versions, time }
}

/** The stand-in registry: its feed rows, packages, and per-name misbehaviour. */
class Registry {
  server!: Server
  origin = ''
  rows: { seq: number; id: string; deleted?: true }[] = []
  pkgs = new Map<string, { p: Pkg; n: number }>()
  hostile = new Map<string, 'huge' | 'slow' | 'badjson' | 'throttle-once'>()
  throttled = new Set<string>()
  feedThrottle = 0
  requests = 0

  add(p: Pkg, deleted = false) {
    const n = this.pkgs.get(p.name)?.n ?? this.pkgs.size + 1
    this.pkgs.set(p.name, { p, n })
    this.rows.push({ seq: this.rows.length + 1, id: p.name, ...(deleted && { deleted: true as const }) })
  }

  async start() {
    this.server = createServer((req, res) => void this.serve(req, res))
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    this.origin = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`
  }

  private async serve(req: IncomingMessage, res: ServerResponse) {
    this.requests++
    const u = new URL(req.url!, this.origin)
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    if (u.pathname === '/_changes') {
      if (this.feedThrottle > 0) return this.feedThrottle--, json(429, { error: 'slow down' }, { 'retry-after': '2' })
      const since = Number(u.searchParams.get('since') ?? 0)
      const limit = Number(u.searchParams.get('limit') ?? 100)
      const results = this.rows.filter((r) => r.seq > since).slice(0, limit).map((r) => ({ ...r, changes: [{ rev: `1-${r.seq}` }] }))
      return json(200, { results, last_seq: results.at(-1)?.seq ?? since, pending: this.rows.filter((r) => r.seq > (results.at(-1)?.seq ?? since)).length })
    }
    const name = decodeURIComponent(u.pathname.slice(1))
    const e = this.pkgs.get(name)
    if (!e) return json(404, { error: 'Not found' })
    const h = this.hostile.get(name)
    if (h === 'huge') return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"name":"${name}","x":"${'x'.repeat(300_000)}"}`)
    if (h === 'slow') return void setTimeout(() => json(200, packument(e.p, e.n)), 3000).unref()
    if (h === 'badjson') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"name": "bad", versions: }')
    if (h === 'throttle-once' && !this.throttled.has(name)) return this.throttled.add(name), json(429, { error: 'rate limited' }, { 'retry-after': '1' })
    json(200, packument(e.p, e.n))
  }
}

const memoryStore = (): CheckpointStore & { state?: FollowState; saves: number } => {
  const s = {
    state: undefined as FollowState | undefined,
    saves: 0,
    async load() {
      return s.state && structuredClone(s.state)
    },
    async save(st: FollowState) {
      s.saves++
      s.state = structuredClone(st)
    },
  }
  return s
}

let reg: Registry
let relays: string[]
let net: Awaited<ReturnType<typeof startNetwork>>
const waits: number[] = []
const noSleep = async (ms: number) => void waits.push(ms)

beforeAll(async () => {
  reg = new Registry()
  await reg.start()
  for (let i = 0; i < 12; i++) reg.add({ name: `pkg-${i}`, versions: ['1.0.0', '1.1.0', '2.0.0'], ...(i === 3 && { deprecated: ['1.0.0'] }) })
  reg.add({ name: '@scope/thing', versions: ['0.1.0'] })
  reg.add({ name: 'huge', versions: ['1.0.0'] })
  reg.add({ name: 'slow', versions: ['1.0.0'] })
  reg.add({ name: 'badjson', versions: ['1.0.0'] })
  reg.add({ name: 'throttled', versions: ['1.0.0', '1.0.1'] })
  reg.add({ name: 'to-go', versions: ['1.0.0', '1.0.1'] })
  reg.rows.push({ seq: reg.rows.length + 1, id: '_design/app' })
  reg.hostile.set('huge', 'huge').set('slow', 'slow').set('badjson', 'badjson').set('throttled', 'throttle-once')
  net = await startNetwork({ relays: 1, topology: 'mesh' })
  relays = net.relays.map((r) => r.url)
}, 120_000)
afterAll(async () => {
  await net?.stop()
  reg?.server.close()
})

const options = async (seed: number, store: CheckpointStore, more: Partial<FollowOptions> = {}): Promise<FollowOptions> => ({
  relays,
  signer: keySigner(await testKey(seed)),
  changes: `${reg.origin}/_changes`,
  registry: reg.origin,
  store,
  once: true,
  pageSize: 5,
  batchStatements: 10,
  timeoutMs: 20_000,
  registryTimeoutMs: 1000,
  maxPackumentBytes: 100_000,
  retry: { attempts: 2, baseMs: 10, capMs: 5000 },
  sleep: noSleep,
  ...more,
})

const EXPECTED = 12 * 3 + 1 + 2 + 2 // pkg-*, @scope/thing, throttled, to-go

describe('following a changes feed', () => {
  it('follows to the end: every package once, hostile ones a bounded failure, 429 retried after Retry-After', async () => {
    const store = memoryStore()
    waits.length = 0
    const r = await followNpm(await options(201, store))
    expect(r.stopped).toBe('end')
    expect(r.checkpoint).toBe(reg.rows.length)
    expect(store.state?.since).toBe(reg.rows.length)
    expect(r.changes).toBe(reg.rows.length)
    expect(r.statements).toBe(EXPECTED)
    expect(r.accepted).toBe(EXPECTED)
    expect(r.duplicates).toBe(0)
    expect(r.failed.map((f) => [f.id, f.code]).sort()).toEqual([['badjson', 'malformed_json'], ['huge', 'too_large'], ['slow', 'timeout']])
    expect(store.state?.failed?.map((f) => f.id).sort()).toEqual(['badjson', 'huge', 'slow'])
    expect(waits).toContain(1000) // Retry-After: 1 outweighs the 10 ms back-off
    const did = (await testKey(201)).did
    const got = (await query(relays, { actor: did }, { limit: 1000 })).statements.map((s) => s.statement)
    expect(got).toHaveLength(EXPECTED)
    // Times come from the packument: the version's publish time, time.modified when deprecated.
    const v = got.find((s) => s.subject === 'pkg:npm/pkg-0@1.1.0')!
    expect(v.time).toBe(T0 + 1000 + 1)
    const dep = got.find((s) => s.subject === 'pkg:npm/pkg-3@1.0.0')!
    expect(dep).toMatchObject({ time: T0 + 4000 + 500, meta: { deprecated: 'use something else' } })
  }, 60_000)

  it('a re-run from nothing produces only duplicates: the same packuments, the same bytes', async () => {
    const did = (await testKey(201)).did
    const before = (await query(relays, { actor: did }, { limit: 1000 })).statements.map((s) => s.id).sort()
    const r = await followNpm(await options(201, memoryStore()))
    expect(r.statements).toBe(EXPECTED)
    expect(r.accepted).toBe(0)
    expect(r.duplicates).toBe(EXPECTED)
    const after = (await query(relays, { actor: did }, { limit: 1000 })).statements.map((s) => s.id).sort()
    expect(after).toEqual(before)
  }, 60_000)

  it('stopped in the middle and restarted: no gap, no duplicate; a crash before the checkpoint costs only duplicates', async () => {
    const store = memoryStore()
    const stop = new AbortController()
    const first = await followNpm(await options(202, store, { signal: stop.signal, onBatch: () => stop.abort() }))
    expect(first.stopped).toBe('signal')
    expect(first.batches).toBe(1)
    const mid = store.state!.since as number
    expect(mid).toBeGreaterThan(0)
    expect(mid).toBeLessThan(reg.rows.length)
    // A crash after the relays took a batch but before its checkpoint was written.
    let failNext = true
    const crashing: CheckpointStore = {
      load: () => store.load(),
      async save(s) {
        if (failNext) throw ((failNext = false), new Error('power cut'))
        await store.save(s)
      },
    }
    await expect(followNpm(await options(202, crashing))).rejects.toThrow('power cut')
    expect(store.state!.since).toBe(mid)
    const rest = await followNpm(await options(202, store))
    expect(rest.stopped).toBe('end')
    expect(rest.duplicates).toBeGreaterThan(0) // the crashed batch, sent again
    expect(first.statements + rest.accepted + rest.duplicates).toBe(EXPECTED) // from the checkpoint on, every statement once
    expect(rest.duplicates).toBeLessThanOrEqual(12) // at most the crashed batch (10, rounded up to whole packages)
    const did = (await testKey(202)).did
    const got = (await query(relays, { actor: did }, { limit: 1000 })).statements.map((s) => s.statement.subject)
    expect(new Set(got).size).toBe(EXPECTED)
    expect(got).toHaveLength(EXPECTED)
  }, 60_000)

  it('an unpublished package withdraws what the key claimed, once', async () => {
    const store = memoryStore()
    await followNpm(await options(203, store))
    const did = (await testKey(203)).did
    reg.add({ name: 'to-go', versions: ['1.0.0', '1.0.1'], unpublished: true }, true)
    try {
      const r = await followNpm(await options(203, store))
      expect(r).toMatchObject({ changes: 1, withdrawn: 2, accepted: 2 })
      const gone = (await query(relays, { actor: did, subject: 'pkg:npm/to-go@1.0.1' })).statements.map((s) => s.statement)
      expect(gone.find((s) => s.not)).toMatchObject({ not: true, meta: { reason: 'unpublished' }, time: T0 + reg.pkgs.get('to-go')!.n * 1000 + 900 })
      // Again from the same position: nothing new (the withdrawal is in force now).
      store.state!.since = reg.rows.length - 1
      const again = await followNpm(await options(203, store))
      expect(again).toMatchObject({ changes: 1, statements: 0 })
    } finally {
      reg.rows.pop()
      reg.pkgs.set('to-go', { p: { name: 'to-go', versions: ['1.0.0', '1.0.1'] }, n: reg.pkgs.get('to-go')!.n })
    }
  }, 60_000)

  it('backs off on a throttled feed and gives up after maxErrors', async () => {
    waits.length = 0
    reg.feedThrottle = 1
    const r = await followNpm(await options(204, memoryStore(), { maxChanges: 3 }))
    expect(r.stopped).toBe('limit')
    expect(waits).toContain(2000)
    reg.feedThrottle = 100
    try {
      await expect(followNpm(await options(204, memoryStore(), { maxErrors: 2 }))).rejects.toMatchObject({ code: 'http_429' })
    } finally {
      reg.feedThrottle = 0
    }
  }, 30_000)
})

describe('feed and back-off rules', () => {
  it('parses changes rows; refuses a malformed page whole', () => {
    expect(parseChanges({ results: [{ seq: 1, id: 'a', changes: [{ rev: '1-x' }] }, { seq: '2-g1', id: 'b', deleted: true }], last_seq: '2-g1', pending: 0 }, undefined)).toEqual({
      results: [{ seq: 1, id: 'a', deleted: false }, { seq: '2-g1', id: 'b', deleted: true }],
      lastSeq: '2-g1',
      pending: 0,
    })
    expect(parseChanges({ results: [] }, 7).lastSeq).toBe(7)
    for (const bad of [null, {}, { results: [{ id: 'a' }] }, { results: [{ seq: 1, id: '' }] }, { results: [{ seq: 1, id: 'a', deleted: 'yes' }] }, { results: [], last_seq: {} }]) {
      expect(() => parseChanges(bad, undefined)).toThrow(/changes|last_seq|deleted/)
    }
  })

  it('Retry-After in seconds or as a date; back-off doubles, honours Retry-After, never exceeds the cap', () => {
    expect(retryAfter('3')).toBe(3000)
    expect(retryAfter(new Date(Date.now() + 10_000).toUTCString(), Date.now())).toBeGreaterThan(8000)
    expect(retryAfter('soon')).toBeUndefined()
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1e6 }), fc.option(fc.integer({ min: 0, max: 1e7 }), { nil: undefined }), (attempt, baseMs, capMs, ra) => {
        const w = backoffMs(attempt, { baseMs, capMs }, ra)
        expect(w).toBeLessThanOrEqual(capMs)
        expect(w).toBeGreaterThanOrEqual(Math.min(capMs, Math.max(ra ?? 0, baseMs)))
        if (attempt > 1) expect(w).toBeGreaterThanOrEqual(Math.min(capMs, backoffMs(attempt - 1, { baseMs, capMs })))
      }),
    )
  })
})

describe('vouch bridge npm --follow', () => {
  const home = mkdtempSync(join(tmpdir(), 'vouch-follow-cli-'))
  const env = () => ({ PATH: process.env.PATH, HOME: home, VOUCH_HOME: home, VOUCH_RELAYS: relays.join(' ') })
  const cli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, env: env() as unknown as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  const done = (child: ReturnType<typeof cli>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      let stdout = ''
      let stderr = ''
      child.stdout!.on('data', (d: Buffer) => (stdout += d))
      child.stderr!.on('data', (d: Buffer) => (stderr += d))
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    })

  it('stops gracefully on SIGTERM with its checkpoint written; --once then drains the rest', async () => {
    reg.hostile.delete('slow') // its retries would only make this test slow; the library test covers it
    expect((await done(cli(['init']))).code).toBe(0)
    const state = join(home, 'follow.json')
    const args = ['bridge', 'npm', '--follow', `${reg.origin}/_changes`, '--registry', reg.origin, '--state', state, '--batch', '5', '--timeout', '1']
    const child = cli(args)
    const out = done(child)
    let seen = ''
    await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => ((seen += d), /checkpoint \d+/.test(seen) && resolve())))
    child.kill('SIGTERM')
    const stopped = await out
    expect(stopped.stdout).toMatch(/stopped\s+by a signal/)
    const mid = JSON.parse(readFileSync(state, 'utf8')).since
    expect(mid).toBeGreaterThan(0)
    const rest = await done(cli([...args, '--once', '--json']))
    const r = JSON.parse(rest.stdout)
    expect(r).toMatchObject({ stopped: 'end', checkpoint: reg.rows.length, from: expect.any(Number) })
    expect(r.failed.map((f: { id: string }) => f.id).sort()).toEqual(expect.arrayContaining(['badjson', 'huge']))
    expect(rest.code).toBe(1) // packages were skipped: the operator should look
    expect((await done(cli(['bridge', 'npm', '--follow', 'x', 'left-pad']))).code).toBe(2)
    expect((await done(cli(['bridge', 'npm', '--once', 'left-pad']))).code).toBe(2)
    reg.hostile.set('slow', 'slow')
  }, 90_000)
})

describe('the bridge Worker (bridge.wrangler.toml)', () => {
  it('each cron run does bounded work and keeps its checkpoint in KV; runs continue without gaps', async () => {
    const port = await freePort()
    const seed = new Uint8Array(32).fill(205)
    const worker = await unstable_startWorker({
      config: join(ROOT, 'bridge.wrangler.toml'),
      sendMetrics: false,
      bindings: {
        CHANGES_URL: { type: 'plain_text', value: `${reg.origin}/_changes` },
        REGISTRY_URL: { type: 'plain_text', value: reg.origin },
        RELAYS: { type: 'plain_text', value: relays.join(' ') },
        MAX_CHANGES: { type: 'plain_text', value: '8' },
        BRIDGE_KEY: { type: 'secret_text', value: Buffer.from(seed).toString('base64url') },
      },
      dev: { server: { hostname: '127.0.0.1', port }, inspector: false, persist: mkdtempSync(join(tmpdir(), 'vouch-bridge-worker-')), watch: false, logLevel: 'error', testScheduled: true },
    })
    try {
      await worker.ready
      reg.hostile.delete('slow')
      const url = `http://127.0.0.1:${port}`
      const status = async () => (await (await fetch(url)).json()) as { checkpoint: FollowState | null; lastRun: { changes: number; stopped: string; accepted: number } | null }
      expect((await status()).checkpoint).toBeNull()
      const seen: number[] = []
      for (let run = 0; run < 5; run++) {
        expect((await fetch(`${url}/__scheduled`)).status).toBe(200)
        const s = await status()
        seen.push(s.checkpoint!.since as number)
        if (s.lastRun!.stopped === 'end') break
        expect(s.lastRun).toMatchObject({ changes: 8, stopped: 'limit' })
      }
      expect(seen.slice(0, 2)).toEqual([8, 16])
      expect(seen.at(-1)).toBe(reg.rows.length)
      const did = (await testKey(205)).did
      const got = (await query(relays, { actor: did }, { limit: 1000 })).statements.map((s) => s.statement.subject)
      expect(new Set(got).size).toBe(got.length)
      expect(got).toHaveLength(EXPECTED + 1) // `slow` answers in time here
      expect((await fetch(`${url}/other`)).status).toBe(404)
    } finally {
      reg.hostile.set('slow', 'slow')
      await worker.dispose()
    }
  }, 90_000)
})
