import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { createStatement, findEquivocation, keySigner, publish, sign } from '../../src/client/index.ts'
import { formatCheckpoint, formatVerifierKey, keyPairFromSeed, leafHash, naiveRoot, signNote, utf8, type KeyPair } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'
import { LOG_SEED, ORIGIN } from '../vectors/equivocation/build.ts'
import { naiveTile } from './naive-log.ts'
import { runVouch, type Run } from './run-vouch.ts'

/**
 * Issue 16.5, the policy's side: relay X signs its log with the key the equivocation vectors
 * prove forked. Once that proof is published on another relay, `vouch verify` drops what X
 * serves (code `equivocated`) and says why, unless the policy turns the rule off.
 */
const vectors = JSON.parse(readFileSync(new URL('../vectors/equivocation/evidence.json', import.meta.url), 'utf8')) as { verifierKey: string; statement: unknown }
const subject = `pkg:generic/forked-relay-${process.pid}@1.0.0`
let work: string
let net: Awaited<ReturnType<typeof startNetwork>>
let server: Server
let x: string
let honest: string
let author: Awaited<ReturnType<typeof testKey>>
let log: KeyPair
let entries: Uint8Array[] = []
let page: { statements: unknown[]; leaves: number[] } = { statements: [], leaves: [] }

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-distrust-'))
  log = await keyPairFromSeed(LOG_SEED)
  expect(formatVerifierKey(ORIGIN, log.publicKey)).toBe(vectors.verifierKey)
  author = await testKey(71)
  const signer = keySigner(author)
  const source = await sign(createStatement({ actor: signer.did, subject, claim: 'source', object: `sha256-${Buffer.alloc(32, 7).toString('base64')}`, time: Date.now() - 1000 }), signer)
  entries = [utf8('{"filler":0}'), utf8(source.canonical)]
  page = { statements: [source.statement], leaves: [1] }
  net = await startNetwork({ relays: 1, topology: 'line' })
  honest = net.relays[0]!.url
  // X: a well-behaved log today, but signed by the key the published evidence proves forked.
  server = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, body: string | Uint8Array, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body)
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ protocol: 1, log: { origin: ORIGIN, verifierKey: vectors.verifierKey, prefix: '/v1/log' } }))
    if (path === '/v1/log/checkpoint') return send(200, await signNote(formatCheckpoint({ origin: ORIGIN, size: entries.length, root: naiveRoot(entries.map(leafHash)) }), ORIGIN, log.publicKey, log.secretKey), 'text/plain')
    if (path.startsWith('/v1/log/tile/')) {
      const t = naiveTile(entries, path.slice('/v1/log/'.length))
      return t ? send(200, t, 'application/octet-stream') : send(404, '{"error":{"code":"no_tile","message":"no"}}')
    }
    if (path === '/v1/statements') {
      const q = new URL(req.url!, 'http://x').searchParams
      return send(200, JSON.stringify(q.get('subject') === subject ? { ...page, cursor: null } : { statements: [], leaves: [], cursor: null }))
    }
    send(404, '{"error":{"code":"not_found","message":"no"}}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  x = `http://127.0.0.1:${(server.address() as { port: number }).port}`
}, 120_000)

afterAll(async () => {
  server?.close()
  await net?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

const policy = (extra: object) => {
  const file = join(work, `policy-${Object.keys(extra).join('-') || 'default'}.json`)
  writeFileSync(file, JSON.stringify({ version: 1, trust: { keys: [keySigner(author).did] }, ...extra }))
  return file
}
const vouch = (args: string[], home: string): Promise<Run> => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: home }, json: true, source: true })

describe('a relay with proven equivocation', () => {
  it('is trusted before any evidence is published', async () => {
    const r = await vouch(['verify', subject, '--policy', policy({}), '--relay', honest, '--relay', x, '--json'], join(work, 'before'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.verdict).toBe('trusted')
    expect(r.json.forked).toBeUndefined()
  }, 60_000)

  it('has its answers dropped once the proof is on another relay, and the verdict says why; the policy can turn that off', async () => {
    const published = await publish([honest], [vectors.statement as never])
    expect(published.relays[0]!.ok, JSON.stringify(published.relays)).toBe(true)
    const found = await findEquivocation([honest, x], vectors.verifierKey)
    expect(found?.proven).toMatchObject({ origin: ORIGIN, kind: 'inconsistent' })

    const r = await vouch(['verify', subject, '--policy', policy({}), '--relay', honest, '--relay', x, '--json'], join(work, 'after'))
    expect(r.code, r.stderr).toBe(1) // EXIT.verification: not trusted
    expect(r.json.verdict).not.toBe('trusted')
    expect(r.json.forked).toEqual([{ relay: x, message: expect.stringContaining(`forked its log ${ORIGIN} (proven by statement ${found!.statement}`) }])
    const text = await vouch(['verify', subject, '--policy', policy({}), '--relay', honest, '--relay', x], join(work, 'after'))
    expect(text.stdout).toContain(`distrusted, answers dropped: ${x}`)
    expect(text.stderr).toContain('its answers are not used')

    const off = await vouch(['verify', subject, '--policy', policy({ distrustForkedRelays: false }), '--relay', honest, '--relay', x, '--json'], join(work, 'after'))
    expect(off.code, off.stderr).toBe(0)
    expect(off.json.verdict).toBe('trusted')
  }, 90_000)

  it('is not believed by query either', async () => {
    const q = await vouch(['query', '--subject', subject, '--relay', honest, '--relay', x, '--json'], join(work, 'query'))
    expect(q.code, q.stderr).toBe(0)
    expect(JSON.stringify(q.json)).toContain('"equivocated"')
    expect(q.stderr).toContain('its answers are not used')
    expect(q.json.statements).toEqual([])
    expect(q.json.relays.find((r: { relay: string }) => r.relay === x).problem.code).toBe('equivocated')
  }, 60_000)
})
