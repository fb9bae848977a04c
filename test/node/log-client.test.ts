import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { createStatement, getStatement, keySigner, LogChecker, LogForkError, memoryCheckpointStore, publish, query, sign, type QueriedStatement } from '../../src/client/index.ts'
import {
  formatCheckpoint,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  signNote,
  tilePath,
  TILE_WIDTH,
  parseTilePath,
  utf8,
  concat,
  type KeyPair,
} from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'
import { runVouch, type Run } from './run-vouch.ts'

/**
 * Clients check the relay's log (PROTOCOL §6.10): against a real relay, and against hostile
 * relays written here as loopback servers that serve a log of their own making, so each attack
 * (a forged checkpoint, wrong tiles, a statement not in the log, a fork, a rewind) is exact.
 */

/** A log served from memory, signed by `key`: what a relay shows, under the test's control. */
class FakeLog {
  entries: Uint8Array[] = []
  flipTiles = false
  constructor(
    readonly origin: string,
    readonly key: KeyPair,
  ) {}
  get verifierKey() {
    return formatVerifierKey(this.origin, this.key.publicKey)
  }
  /** Hash of the level-`8L` subtree j of the first `size` entries. */
  private node(level: number, j: number): Uint8Array {
    const span = TILE_WIDTH ** level
    return naiveRoot(this.entries.slice(j * span, (j + 1) * span).map(leafHash))
  }
  root(size = this.entries.length) {
    return naiveRoot(this.entries.slice(0, size).map(leafHash))
  }
  async checkpoint(size = this.entries.length, root = this.root(size)) {
    return signNote(formatCheckpoint({ origin: this.origin, size, root }), this.origin, this.key.publicKey, this.key.secretKey)
  }
  tile(path: string): Uint8Array | undefined {
    const t = parseTilePath(path)
    if (!t || t.level === 'entries') return undefined
    const first = t.index * TILE_WIDTH
    if ((first + t.width) * TILE_WIDTH ** t.level > this.entries.length) return undefined
    const bytes = concat(...Array.from({ length: t.width }, (_, k) => this.node(t.level as number, first + k)))
    if (this.flipTiles) bytes[0]! ^= 1
    return bytes
  }
}

/** A relay at `url` serving `log` and `page` (statements with their leaf indices) for any query. */
interface Hostile {
  url: string
  log: FakeLog
  /** The note served at /checkpoint; defaults to the log's own checkpoint. */
  note?: () => Promise<string>
  page: { statements: unknown[]; leaves: number[] }
}

const servers: Server[] = []
async function hostile(log: FakeLog): Promise<Hostile> {
  const h = { log, page: { statements: [], leaves: [] } } as unknown as Hostile
  const s = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, body: string | Uint8Array, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body)
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ protocol: 1, log: { origin: log.origin, verifierKey: log.verifierKey, prefix: '/v1/log' } }))
    if (path === '/v1/log/checkpoint') return send(200, await (h.note ?? (() => log.checkpoint()))(), 'text/plain')
    if (path.startsWith('/v1/log/tile/')) {
      const t = log.tile(path.slice('/v1/log/'.length))
      return t ? send(200, t, 'application/octet-stream') : send(404, '{"error":{"code":"no_tile","message":"no"}}')
    }
    if (path === '/v1/statements') return send(200, JSON.stringify({ ...h.page, cursor: null }))
    const m = /^\/v1\/statements\/sha256:([0-9a-f]{64})$/.exec(path)
    if (m) {
      const k = published.findIndex((p) => Buffer.from(p.id.slice('sha256-'.length), 'base64').toString('hex') === m[1])
      return k < 0 ? send(404, '{"error":{"code":"not_found","message":"no"}}') : res.writeHead(200, { 'content-type': 'application/json', 'vouch-leaf-index': String(h.page.leaves[k]) }).end(JSON.stringify(h.page.statements[k]))
    }
    send(404, '{"error":{"code":"not_found","message":"no"}}')
  })
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  h.url = `http://127.0.0.1:${(s.address() as { port: number }).port}`
  return h
}

let net: Awaited<ReturnType<typeof startNetwork>>
let honest: string
let work: string
const subject = `pkg:generic/log-client-${process.pid}@1.0.0`
let published: { id: string; statement: unknown; canonical: string }[]

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-log-client-'))
  net = await startNetwork({ relays: 1, topology: 'line' })
  honest = net.relays[0]!.url
  const signer = keySigner(await testKey(61))
  published = await Promise.all([0, 1, 2].map((i) => sign(createStatement({ actor: signer.did, subject, claim: 'source', object: `sha256-${Buffer.alloc(32, i).toString('base64')}`, time: Date.now() - 1000 + i }), signer)))
  await publish([honest], published.map((p) => p.statement as never))
}, 120_000)

afterAll(async () => {
  for (const s of servers) s.close()
  await net?.stop()
  rmSync(work, { recursive: true, force: true })
})

/** A fake log holding the published statements after `pad` other entries, served with their indices. */
async function hostileWith(pad: number, seed: number) {
  const log = new FakeLog(`hostile-${seed}.test/vouch-log`, await keyPairFromSeed(new Uint8Array(32).fill(seed)))
  for (let i = 0; i < pad; i++) log.entries.push(utf8(`{"filler":${i}}`))
  const h = await hostile(log)
  h.page = { statements: published.map((p) => p.statement), leaves: published.map((p) => (log.entries.push(utf8(p.canonical)), log.entries.length - 1)) }
  return h
}

const okReport = (r: { relay: string; problem?: { code: string } }[], relay: string) => r.find((x) => x.relay === relay)

describe('a client checks the relay log', () => {
  it('an honest relay passes: every statement is proven in its signed checkpoint, which is kept', async () => {
    const store = memoryCheckpointStore()
    const log = new LogChecker({ store, retryMs: 1200 })
    const r = await query([honest], { subject }, { log })
    expect(r.relays[0]!.problem).toBeUndefined()
    expect(r.statements.map((s) => s.id).sort()).toEqual(published.map((p) => p.id).sort())
    const origin = (await store.relayLog(honest))!
    expect(origin).toMatch(/\/vouch-log$/)
    expect((await store.checkpoint(origin))!.note).toContain(`${origin}\n`)
    const one = await getStatement([honest], published[1]!.id, { log })
    expect(one.id).toBe(published[1]!.id)
  })

  it('catches a forged checkpoint, wrong tiles and a statement missing from the log; the honest relay still answers', async () => {
    const forged = await hostileWith(5, 71)
    const other = await keyPairFromSeed(new Uint8Array(32).fill(99))
    forged.note = () => signNote(formatCheckpoint({ origin: forged.log.origin, size: 8, root: forged.log.root() }), forged.log.origin, other.publicKey, other.secretKey)
    const tiles = await hostileWith(300, 72)
    tiles.log.flipTiles = true
    const missing = await hostileWith(3, 73)
    missing.page.leaves = [0, 1, 2] // fillers sit there, not these statements
    const late = await hostileWith(2, 74)
    late.page.leaves = [10, 11, 12] // beyond its checkpoint, and never logged

    const log = new LogChecker({ retryMs: 10 })
    const r = await query([honest, forged.url, tiles.url, missing.url, late.url], { subject }, { log })
    expect(r.statements.map((s: QueriedStatement) => s.relays).flat().every((u) => u === honest)).toBe(true)
    expect(r.statements).toHaveLength(3)
    expect(okReport(r.relays, honest)!.problem).toBeUndefined()
    expect(okReport(r.relays, forged.url)!.problem).toMatchObject({ kind: 'invalid', code: 'bad_checkpoint' })
    expect(okReport(r.relays, tiles.url)!.problem).toMatchObject({ kind: 'invalid', code: 'not_in_log' })
    expect(okReport(r.relays, missing.url)!.problem).toMatchObject({ kind: 'invalid', code: 'not_in_log' })
    expect(okReport(r.relays, late.url)!.problem).toMatchObject({ kind: 'invalid', code: 'not_logged' })
    // The same relays answer a statement by id only through the honest one.
    const got = await getStatement([missing.url, honest], published[0]!.id, { log })
    expect(got.relay).toBe(honest)
    expect(got.relays[0]!.problem).toMatchObject({ code: 'not_in_log' })
  })

  it('a fork (another root at the same size) and a rewind fail with both signed checkpoints, and the kept one stays', async () => {
    const h = await hostileWith(4, 81)
    const store = memoryCheckpointStore()
    await query([h.url], { subject }, { log: new LogChecker({ store }) })
    const kept = (await store.checkpoint(h.log.origin))!
    const size = h.log.entries.length

    // The same size with a different root.
    h.note = () => h.log.checkpoint(size, new Uint8Array(32).fill(1))
    const fork = await query([honest, h.url], { subject }, { log: new LogChecker({ store }) }).catch((e: unknown) => e)
    expect(fork).toBeInstanceOf(LogForkError)
    expect((fork as LogForkError).evidence).toMatchObject({ relay: h.url, origin: h.log.origin, kept: kept.note, received: await h.note() })
    expect(await store.checkpoint(h.log.origin)).toEqual(kept)

    // A rewind: a smaller tree that is not a prefix of the kept one.
    const real = h.log.entries
    h.log.entries = [utf8('{"rewritten":1}'), ...real.slice(1, size - 2)]
    h.note = undefined
    const rewind = await query([h.url], { subject }, { log: new LogChecker({ store }) }).catch((e: unknown) => e)
    expect(rewind).toBeInstanceOf(LogForkError)
    expect((rewind as LogForkError).message).toMatch(/went back from 7 leaves to 5/)
    // A longer tree that does not extend the kept one.
    h.log.entries = [utf8('{"rewritten":1}'), ...real.slice(1), utf8('{"more":1}')]
    await expect(query([h.url], { subject }, { log: new LogChecker({ store }) })).rejects.toBeInstanceOf(LogForkError)
    expect(await store.checkpoint(h.log.origin)).toEqual(kept)
    // The honest history grown is consistent, and becomes the kept checkpoint.
    h.log.entries = [...real, utf8('{"more":1}')]
    const r = await query([h.url], { subject }, { log: new LogChecker({ store }) })
    expect(r.relays[0]!.problem).toBeUndefined()
    expect((await store.checkpoint(h.log.origin))!.note).toContain(`\n${size + 1}\n`)
  })

  it('property: for random log sizes every leaf is proven, and a flipped byte of the statement is not', async () => {
    const key = await keyPairFromSeed(new Uint8Array(32).fill(91))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 700 }), fc.nat(), fc.nat(), async (size, pick, flip) => {
        const log = new FakeLog('prop.test/vouch-log', key)
        log.entries = Array.from({ length: size }, (_, i) => utf8(`{"leaf":${i}}`))
        const h = { log } as { log: FakeLog }
        // Served from memory through the client's own door (`fetch` option), so a run costs no socket.
        const fetch = (async (input: RequestInfo | URL) => {
          const path = new URL(String(input)).pathname
          if (path === '/.well-known/vouch') return Response.json({ protocol: 1, log: { origin: log.origin, verifierKey: log.verifierKey, prefix: '/v1/log' } })
          if (path === '/v1/log/checkpoint') return new Response(await h.log.checkpoint())
          const t = log.tile(path.slice('/v1/log/'.length))
          return t ? new Response(t as Uint8Array<ArrayBuffer>) : new Response('{}', { status: 404 })
        }) as typeof globalThis.fetch
        const checker = new LogChecker({ retryMs: 0 })
        const indices = [...new Set([0, size - 1, pick % size])]
        const good = await checker.check('http://127.0.0.1:9', indices.map((i) => ({ index: i, canonical: `{"leaf":${i}}` })), { fetch })
        expect(good.verdicts).toEqual(indices.map(() => undefined))
        const i = pick % size
        const text = `{"leaf":${i}}`
        const at = flip % text.length
        const bad = text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1)
        const v = await checker.check('http://127.0.0.1:9', [{ index: i, canonical: bad }], { fetch })
        expect(v.verdicts[0]).toMatchObject({ code: 'not_in_log' })
      }),
      { numRuns: 60 },
    )
  })
})

const vouch = (args: string[], home: string): Promise<Run> => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: home }, json: true, source: true })

describe('the CLI keeps checkpoints under VOUCH_HOME', () => {
  it('vouch query and show check the log; a forked relay exits 6 with both checkpoints, even beside an honest one', async () => {
    const home = join(work, 'home')
    const h = await hostileWith(2, 85)
    const first = await vouch(['query', '--subject', subject, '--relay', honest, '--relay', h.url, '--json'], home)
    expect(first.code, first.stderr).toBe(0)
    expect(first.json.warnings).toEqual([])
    const kept = readdirSync(join(home, 'logs'))
    expect(kept).toContain(encodeURIComponent(h.log.origin))
    expect(kept.filter((f) => f.endsWith('vouch-log'))).toHaveLength(2)
    const show = await vouch(['show', published[0]!.id, '--relay', honest], home)
    expect(show.code, show.stderr).toBe(0)
    const before = readFileSync(join(home, 'logs', encodeURIComponent(h.log.origin)), 'utf8')

    h.note = () => h.log.checkpoint(h.log.entries.length, new Uint8Array(32).fill(2))
    const forked = await vouch(['query', '--subject', subject, '--relay', honest, '--relay', h.url, '--json'], home)
    expect(forked.code, forked.stderr).toBe(6)
    expect(forked.json.error.code).toBe('fork')
    expect(forked.json.error.fork).toMatchObject({ origin: h.log.origin, kept: JSON.parse(before).note, received: await h.note() })
    expect(readFileSync(join(home, 'logs', encodeURIComponent(h.log.origin)), 'utf8')).toBe(before)
    const text = await vouch(['query', '--subject', subject, '--relay', h.url], home)
    expect(text.code).toBe(6)
    expect(text.stderr).toContain('--- kept')
    expect(text.stderr).toContain(`— ${h.log.origin} `)
  }, 60_000)
})
