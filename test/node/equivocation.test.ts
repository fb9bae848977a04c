import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { createStatement, keySigner, query, sign } from '../../src/client/index.ts'
import {
  EQUIVOCATION_CLAIM,
  ensureEvidence,
  formatCheckpoint,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  proveEquivocation,
  signNote,
  utf8,
  type KeyPair,
} from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'
import { naiveTile } from './naive-log.ts'
import { runVouch, type Run } from './run-vouch.ts'

/**
 * Issue 16.5: a relay patched to hide a yank from one client serves that client a forked log.
 * Each client alone sees a consistent log; client A is caught out once it holds client B's kept
 * checkpoint (another VOUCH_HOME), and `vouch report-fork` publishes the proof to an honest relay,
 * where anyone can check it without the forked relay.
 */
const ORIGIN = 'forked.test/vouch-log'
let key: KeyPair
let work: string
let net: Awaited<ReturnType<typeof startNetwork>>
let server: Server
let url: string
const subject = `pkg:generic/hidden-yank-${process.pid}@1.0.0`
/** The entries each client is shown: B the honest log (with the yank), A a fork without it. */
const views: Record<'honest' | 'forked', Uint8Array[]> = { honest: [], forked: [] }
let shown: 'honest' | 'forked' = 'honest'
const pages: Record<'honest' | 'forked', { statements: unknown[]; leaves: number[] }> = { honest: { statements: [], leaves: [] }, forked: { statements: [], leaves: [] } }

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vouch-equivocation-'))
  key = await keyPairFromSeed(new Uint8Array(32).fill(0x61))
  net = await startNetwork({ relays: 1, topology: 'line' })
  const author = keySigner(await testKey(62))
  const source = await sign(createStatement({ actor: author.did, subject, claim: 'source', object: `sha256-${Buffer.alloc(32, 1).toString('base64')}`, time: Date.now() - 2000 }), author)
  const yank = await sign(createStatement({ actor: author.did, subject, claim: 'source', object: `sha256-${Buffer.alloc(32, 1).toString('base64')}`, not: true, time: Date.now() - 1000 }), author)
  const filler = (i: number) => utf8(`{"filler":${i}}`)
  views.honest = [filler(0), utf8(source.canonical), utf8(yank.canonical)]
  // The fork: the yank's leaf never happened, and the log grows on past it.
  views.forked = [filler(0), utf8(source.canonical), filler(2), filler(3), filler(4)]
  pages.honest = { statements: [source.statement, yank.statement], leaves: [1, 2] }
  pages.forked = { statements: [source.statement], leaves: [1] }
  server = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, body: string | Uint8Array, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body)
    const entries = views[shown]
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ protocol: 1, log: { origin: ORIGIN, verifierKey: formatVerifierKey(ORIGIN, key.publicKey), prefix: '/v1/log' } }))
    if (path === '/v1/log/checkpoint') {
      return send(200, await signNote(formatCheckpoint({ origin: ORIGIN, size: entries.length, root: naiveRoot(entries.map(leafHash)) }), ORIGIN, key.publicKey, key.secretKey), 'text/plain')
    }
    if (path.startsWith('/v1/log/tile/')) {
      const t = naiveTile(entries, path.slice('/v1/log/'.length))
      return t ? send(200, t, 'application/octet-stream') : send(404, '{"error":{"code":"no_tile","message":"no"}}')
    }
    if (path === '/v1/statements') return send(200, JSON.stringify({ ...pages[shown], cursor: null }))
    send(404, '{"error":{"code":"not_found","message":"no"}}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
}, 120_000)

afterAll(async () => {
  server?.close()
  await net?.stop()
  rmSync(work, { recursive: true, force: true })
})

const vouch = (args: string[], home: string): Promise<Run> => runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: home }, json: true, source: true })

describe('a relay hiding a yank from one client behind a forked log', () => {
  it('is caught by that client once it holds another client\'s checkpoint, and the proof published is checkable by anyone', async () => {
    const [homeA, homeB] = [join(work, 'a'), join(work, 'b')]
    shown = 'honest'
    const b = await vouch(['query', '--subject', subject, '--relay', url, '--json'], homeB)
    expect(b.code, b.stderr).toBe(0)
    expect(JSON.stringify(b.json)).toContain('"not":true') // B sees the yank
    shown = 'forked'
    const a = await vouch(['query', '--subject', subject, '--relay', url, '--json'], homeA)
    expect(a.code, a.stderr).toBe(0)
    expect(JSON.stringify(a.json)).not.toContain('"not":true') // A does not, and alone cannot tell
    expect((await vouch(['init', '--json'], homeA)).code).toBe(0)
    const alone = await vouch(['report-fork', url, '--relay', net.relays[0]!.url, '--json'], homeA)
    expect(alone.code, alone.stderr).toBe(0)
    expect(alone.json).toMatchObject({ fork: null })

    // B's kept checkpoint reaches A (any channel: a file, a chat, a cosigned checkpoint).
    const bFile = join(homeB, 'logs', encodeURIComponent(ORIGIN))
    const report = await vouch(['report-fork', url, '--checkpoint', bFile, '--relay', net.relays[0]!.url, '--json'], homeA)
    expect(report.code, report.stderr).toBe(0)
    expect(report.json.fork).toMatchObject({ origin: ORIGIN, equivocation: { checkpoints: [expect.stringContaining('\n3\n'), expect.stringContaining('\n5\n')] } })

    // The honest relay took the claim; anyone reading it can check the proof, needing nothing from the forked relay.
    const found = await query([net.relays[0]!.url], { subject: formatVerifierKey(ORIGIN, key.publicKey), claim: EQUIVOCATION_CLAIM })
    expect(found.statements).toHaveLength(1)
    const s = found.statements[0]!.statement
    const proven = await proveEquivocation(s.subject, ensureEvidence(s.meta))
    expect(proven).toMatchObject({ origin: ORIGIN, kind: 'inconsistent', small: { size: 3 }, big: { size: 5 } })
    expect(JSON.parse(readFileSync(bFile, 'utf8')).note).toBe(ensureEvidence(s.meta).checkpoints[0])
  }, 60_000)
})
