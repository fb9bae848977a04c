import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientError, createStatement, fetchBlobTo, getStatement, keySigner, query, sign } from '../../src/client/index.ts'
import { narChunks, type NarNode } from '../../src/nar/index.ts'
import { generateKeyPair, statementId, type Statement } from '../../src/verify/index.ts'
import { startNetwork } from '../../scripts/network-harness.ts'
import { ROOT, type Run } from './run-vouch.ts'

/**
 * Relays that attack the client, written here as plain loopback HTTP servers, against the real
 * `vouch` CLI run from its sources in a subprocess (no build step, so this file can run beside
 * the one that builds dist/).
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void
const servers: Server[] = []
let work: string
let home: string

async function relay(handler: Handler): Promise<string> {
  const s = createServer(handler)
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`
}

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))

/** A relay that serves `blobs` (by hex sha256) and nothing else. */
function blobRelay(blobs: Map<string, Buffer>): Handler {
  return (req, res) => {
    const m = /^\/v1\/blobs\/sha256:([0-9a-f]{64})$/.exec(req.url ?? '')
    const b = m && blobs.get(m[1]!)
    if (!b) return json(res, 404, { error: { code: 'not_found', message: 'no' } })
    res.writeHead(200, { 'content-length': b.length, 'content-type': 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : b)
  }
}

function vouchProcess(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/cli/run.ts'), ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: work, VOUCH_HOME: home, ...env } as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d))
  child.stderr!.on('data', (d: Buffer) => (stderr += d))
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => {
      let parsed
      try {
        parsed = JSON.parse(stdout)
      } catch {
        parsed = undefined
      }
      resolve({ code: code ?? (signal ? -1 : -2), stdout, stderr, json: parsed })
    }),
  )
  return { child, done }
}
const vouch = (args: string[], env: Record<string, string> = {}) => vouchProcess(args, env).done

async function narOf(node: NarNode): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of narChunks(node)) parts.push(c)
  return Buffer.concat(parts)
}
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const sri = (b: Buffer) => `sha256-${createHash('sha256').update(b).digest('base64')}`
const file = (text: string, executable = false): NarNode => ({ type: 'regular', executable, size: Buffer.byteLength(text), contents: () => [Buffer.from(text)] })
const dir = (entries: [string, NarNode][]): NarNode => ({ type: 'directory', entries: () => entries })

/** 40 directories nested, each named with 250 characters: over PATH_MAX, within every size limit. */
function deepTree(level = 0): NarNode {
  return level === 40 ? dir([['x', file('deep')]]) : dir([[String.fromCharCode(97 + (level % 26)).repeat(250), deepTree(level + 1)]])
}

const partials = (d = work) => readdirSync(d).filter((n) => n.startsWith('.vouch-partial-') || n.includes('.vouch-'))

let good: Buffer
let goodRelay: string

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-hostile-'))
  home = join(work, 'home')
  good = await narOf(dir([['README', file('honest\n')], ['run.sh', file('#!/bin/sh\necho hi\n', true)]]))
  goodRelay = await relay(blobRelay(new Map([[hex(good), good]])))
})

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('fetch past a hostile relay', { timeout: 60_000 }, () => {
  it('a NAR of names too long to create, served first, does not stop the fetch from an honest relay', async () => {
    const evilNar = await narOf(deepTree())
    // Served under the honest content's name: its bytes hash to something else.
    const evil = await relay(blobRelay(new Map([[hex(good), evilNar]])))
    const r = await vouch(['fetch', sri(good), '-o', 'out', '--json'], { VOUCH_RELAYS: `${evil} ${goodRelay}` })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({ relay: goodRelay, type: 'nar', hash: sri(good) })
    expect(r.json.warnings.join(' ')).toMatch(new RegExp(`${evil}.*hash.*path of`))
    // Verified, so now the modes are Nix's: the executable is executable, the rest is not.
    expect(statSync(join(work, 'out/run.sh')).mode & 0o111).not.toBe(0)
    expect(statSync(join(work, 'out/README')).mode & 0o111).toBe(0)
    expect(partials()).toEqual([])
  })

  it('only the evil relay: every relay is reported, nothing is left', async () => {
    const evil = await relay(blobRelay(new Map([[hex(good), await narOf(deepTree())]])))
    const r = await vouch(['fetch', sri(good), '-o', 'never', '--json'], { VOUCH_RELAYS: evil })
    expect(r.code).toBe(1)
    expect(r.json.error).toMatchObject({ code: 'mismatch', exit: 1, relays: [{ relay: evil, ok: false, problem: { code: 'hash_mismatch' } }] })
    expect(existsSync(join(work, 'never'))).toBe(false)
    expect(partials()).toEqual([])
  })

  it('client: a consumer failure before the hash check moves on from a lying relay, and is the caller’s when the bytes are right', async () => {
    const evil = await relay(blobRelay(new Map([[hex(good), Buffer.from('not the content')]])))
    // As a writer does: the stream is left open when the write fails, so the client can finish the check.
    const failing = async (chunks: AsyncIterable<Uint8Array>): Promise<string> => {
      await chunks[Symbol.asyncIterator]().next()
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
    }
    let calls = 0
    const r = await fetchBlobTo([evil, goodRelay], sri(good), async (chunks, source) => {
      calls++
      if (source.relay === evil) return failing(chunks)
      for await (const _ of chunks);
      return 'ok'
    })
    expect(r).toMatchObject({ value: 'ok', relay: goodRelay, relays: [{ relay: evil, problem: { code: 'hash_mismatch' } }] })
    expect(r.relays[0]!.problem!.message).toMatch(/EIO/)
    expect(calls).toBe(2)
    // The right bytes and still a failure: local, so it is not blamed on the relay.
    await expect(fetchBlobTo([goodRelay], sri(good), failing)).rejects.toThrow(/EIO/)
    // A consumer that closed the stream leaves the bytes unjudged: the relay is reported, the next one tried.
    const closing = async (chunks: AsyncIterable<Uint8Array>): Promise<string> => {
      for await (const _ of chunks) throw new Error('EIO again')
      return 'never'
    }
    const readAll = async (chunks: AsyncIterable<Uint8Array>) => {
      for await (const _ of chunks);
      return 'ok'
    }
    const r2 = await fetchBlobTo([evil, goodRelay], sri(good), (chunks, source) => (source.relay === evil ? closing(chunks) : readAll(chunks)))
    expect(r2.relays[0]!.problem).toMatchObject({ code: 'unverified_failure' })
  })

  it('a NAR whose root is a symlink is refused for a directory, named for what it is', async () => {
    const link = await narOf({ type: 'symlink', target: '/etc' })
    const linkRelay = await relay(blobRelay(new Map([[hex(link), link]])))
    const r = await vouch(['fetch', sri(link), '-o', 'linked', '--json'], { VOUCH_RELAYS: linkRelay })
    expect(r.code).toBe(1)
    expect(r.json.error).toMatchObject({ code: 'symlink_root' })
    expect(r.json.error.message).toMatch(/root is a symlink \(to "\/etc"\)/)
    expect(existsSync(join(work, 'linked'))).toBe(false)
    const raw = await vouch(['fetch', sri(link), '-o', 'linked.nar', '--raw', '--json'], { VOUCH_RELAYS: linkRelay })
    expect(raw.code, raw.stderr).toBe(0)
    expect(partials()).toEqual([])
  })

  it('too many entries for --max-entries is refused, nothing written', async () => {
    const many = await narOf(dir(Array.from({ length: 50 }, (_, i) => [`d${String(i).padStart(3, '0')}`, dir([])] as [string, NarNode])))
    const manyRelay = await relay(blobRelay(new Map([[hex(many), many]])))
    const r = await vouch(['fetch', sri(many), '-o', 'many', '--max-entries', '20', '--json'], { VOUCH_RELAYS: manyRelay })
    expect(r.code).toBe(1)
    expect(r.json.error).toMatchObject({ code: 'too_many_entries' })
    expect(existsSync(join(work, 'many'))).toBe(false)
    expect(partials()).toEqual([])
  })

  it('unverified files are private and not executable; SIGTERM removes them; kill -9 leftovers go on the next run', async () => {
    // The first half of the honest NAR (an executable among it), then silence.
    let hold: ServerResponse | undefined
    const stall = await relay((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': good.length }).end()
      res.writeHead(200, { 'content-length': good.length })
      res.write(good.subarray(0, good.length - 40))
      hold = res
    })
    const sub = join(work, 'killed')
    mkdirSync(sub)
    for (const how of ['SIGTERM', 'SIGKILL'] as const) {
      const p = vouchProcess(['fetch', sri(good), '-o', join(sub, 'out'), '--timeout', '30'], { VOUCH_RELAYS: stall })
      let stage = ''
      for (let i = 0; i < 200 && !stage; i++) {
        await new Promise((r) => setTimeout(r, 50))
        const s = partials(sub)[0]
        if (s && existsSync(join(sub, s, 'out/run.sh'))) stage = join(sub, s)
      }
      expect(stage, 'the unpack never reached run.sh').not.toBe('')
      expect(lstatSync(stage).mode & 0o777).toBe(0o700)
      expect(lstatSync(join(stage, 'out')).mode & 0o777).toBe(0o700)
      expect(lstatSync(join(stage, 'out/run.sh')).mode & 0o111).toBe(0)
      p.child.kill(how)
      await p.done
      hold?.destroy()
      if (how === 'SIGTERM') expect(partials(sub)).toEqual([])
      else expect(partials(sub)).toHaveLength(1) // nothing can catch SIGKILL
    }
    const next = await vouch(['fetch', sri(good), '-o', join(sub, 'out')], { VOUCH_RELAYS: goodRelay })
    expect(next.code, next.stderr).toBe(0)
    expect(partials(sub)).toEqual([])
  })
})

describe('statements from a relay that forges signatures', { timeout: 60_000 }, () => {
  let forged: Statement
  let forgedId: string
  let liar: string

  beforeAll(async () => {
    const key = await generateKeyPair()
    const signer = keySigner(key)
    const real = await sign(createStatement({ actor: signer.did, subject: 'pkg:generic/mylib@1.0.0', claim: 'source', object: sri(good) }), signer)
    const other = await sign(createStatement({ actor: signer.did, subject: 'pkg:generic/mylib@6.6.6', claim: 'source', object: sri(good) }), signer)
    // A real signature by the right key, over other bytes; and the id is this statement's own.
    forged = { ...real.statement, sig: other.statement.sig }
    forgedId = await statementId(forged)
    liar = await relay((req, res) => {
      const url = req.url ?? ''
      if (url.startsWith('/v1/statements?')) return json(res, 200, { statements: [forged], cursor: null })
      if (url.startsWith('/v1/statements/')) return json(res, 200, forged)
      json(res, 404, { error: { code: 'not_found', message: 'no' } })
    })
  })

  it('getStatement refuses it, though the id matches', async () => {
    const e = await getStatement([liar], forgedId).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ClientError)
    expect((e as ClientError).code).toBe('mismatch')
    expect((e as ClientError).reports[0]!.problem).toMatchObject({ kind: 'invalid', code: 'bad_signature' })
  })

  it('query drops it', async () => {
    const r = await query([liar], { subject: 'pkg:generic/mylib@1.0.0' })
    expect(r.statements).toEqual([])
    expect(r.relays[0]).toMatchObject({ relay: liar, problem: { kind: 'invalid' }, dropped: [{ code: 'bad_signature' }] })
  })

  it('`vouch show ID` refuses it (exit 1) and says why', async () => {
    const r = await vouch(['show', forgedId, '--json'], { VOUCH_RELAYS: liar })
    expect(r.code).toBe(1)
    expect(r.json.error).toMatchObject({ code: 'mismatch', relays: [{ relay: liar, problem: { code: 'bad_signature' } }] })
    expect(r.json.statement).toBeUndefined()
  })
})

describe('what a relay says reaches the terminal escaped', { timeout: 60_000 }, () => {
  it('ESC sequences in a relay error and in statement fields are shown, not obeyed', async () => {
    const attack = '\x1b]0;pwned\x07\x1b[2J\x1b[1A\rpublished: ok \u202Egnp.exe\x9b2J'
    const evil = await relay((req, res) => (req.url === '/.well-known/vouch' ? json(res, 200, { protocol: 1 }) : json(res, 500, { error: { code: 'boom', message: attack } })))
    for (const args of [['show', `sha256:${'0'.repeat(64)}`], ['show', `sha256:${'0'.repeat(64)}`, '--json'], ['query', '--subject', 'x@1']]) {
      const r = await vouch(args, { VOUCH_RELAYS: evil })
      expect(r.code).not.toBe(0)
      const out = r.stdout + r.stderr
      expect(out).not.toMatch(/[\x1b\x07\x9b\u202e]/)
      expect(out).toContain(args.includes('--json') ? '\\u001b]0;pwned' : '\\e]0;pwned')
    }
  })
})

describe('publish over a relay’s blob limit', { timeout: 60_000 }, () => {
  it('sends no statement and no content, and says which relay and what to run', async () => {
    const seen: string[] = []
    const limited = (blobBytes: number): Handler => (req, res) => {
      seen.push(`${req.method} ${req.url}`)
      if (req.url === '/.well-known/vouch') return json(res, 200, { protocol: 1, limits: { blobBytes } })
      if (req.url?.startsWith('/v1/blobs/')) return json(res, 404, { error: { code: 'not_found', message: 'no' } })
      json(res, 500, { error: { code: 'unexpected', message: 'a test relay got what it must not' } })
    }
    const small = await relay(limited(64))
    const big = await relay(limited(1 << 20))
    expect((await vouch(['init', '--json'])).code).toBe(0)
    writeFileSync(join(work, 'payload.tgz'), Buffer.alloc(1000, 7))
    const r = await vouch(['publish', 'mylib@2.0.0', 'payload.tgz', '--json'], { VOUCH_RELAYS: `${small} ${big}` })
    expect(r.code).toBe(1)
    expect(r.json.error).toMatchObject({ code: 'too_large' })
    expect(r.json.error.message).toContain(`${small} stores (64 bytes`)
    expect(r.json.error.hint).toContain(`--relay ${big}`)
    expect(seen.filter((s) => s.startsWith('POST') || s.startsWith('PUT'))).toEqual([])
  })

  it('a URL that is not a vouch relay is called that, and nothing is sent', async () => {
    const seen: string[] = []
    const page = await relay((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>my blog</title>')
    })
    expect((await vouch(['init'])).code).toBe(0)
    writeFileSync(join(work, 'small.txt'), 'hello')
    const r = await vouch(['publish', 'mylib@2.0.1', 'small.txt', '--json'], { VOUCH_RELAYS: page })
    expect(r.code).toBe(2)
    expect(r.json.error).toMatchObject({ code: 'not_a_relay' })
    expect(r.json.error.message).toContain(`${page} is not a vouch relay`)
    expect(seen.filter((s) => s.startsWith('POST') || s.startsWith('PUT'))).toEqual([])
  })

  it('show and query name a URL that is not a relay for what it is', async () => {
    const page = await relay((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>my blog</title>'))
    const missing = await relay((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'))
    for (const url of [page, missing]) {
      for (const args of [['show', `sha256:${'1'.repeat(64)}`], ['query', '--subject', 'x@1']]) {
        const r = await vouch([...args, '--json'], { VOUCH_RELAYS: url })
        expect(r.json?.error, `${args[0]} ${url}: ${r.stderr}`).toMatchObject({ code: 'not_a_relay', exit: 2 })
        expect(r.json.error.message).toContain(`${url} is not a vouch relay`)
      }
    }
  })

  it('a real relay reports its limit, and an over-limit publish leaves nothing on it', async () => {
    const net = await startNetwork({ relays: 1, topology: 'line', vars: { BLOB_MAX_BYTES: '500' } })
    try {
      const url = net.relays[0]!.url
      expect((await vouch(['init'])).code).toBe(0)
      writeFileSync(join(work, 'big.tgz'), Buffer.alloc(2000, 9))
      const r = await vouch(['publish', 'mylib@3.0.0', 'big.tgz', '--json'], { VOUCH_RELAYS: url })
      expect(r.code, r.stderr).toBe(1)
      expect(r.json.error.message).toContain(`${url} stores (500 bytes)`)
      const q = await vouch(['query', '--subject', 'mylib@3.0.0', '--json'], { VOUCH_RELAYS: url })
      expect(q.json.statements).toEqual([])
    } finally {
      await net.stop()
    }
  })
})
