import { createServer, type Server } from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogChecker, LogForkError, witnessBelief } from '../../src/client/index.ts'
import {
  cosign,
  cosignerKey,
  formatCheckpoint,
  formatCosignerKey,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  proveEquivocation,
  signNote,
  splitNote,
  utf8,
  type KeyPair,
} from '../../src/verify/index.ts'
import { naiveTile } from './naive-log.ts'

/**
 * The witness requirement's fallback to the latest witnessed checkpoint (PROTOCOL §6.11), against
 * a loopback relay of the test's making, so the witnessed checkpoint can be any tree: a prefix of
 * the current one (its leaves count, the tail does not), one of another history (a fork, with
 * portable evidence), one without the k cosignatures or not signed by the log (refused).
 */

const ORIGIN = 'prefix.test/vouch-log'
let logKey: KeyPair
let witness: KeyPair
let stranger: KeyPair
let server: Server
let url: string
const NOW = 1_800_000_000_000

/** What the relay serves: its current leaves; the leaves of its witnessed checkpoint (none: 404); who cosigned it; whether the log signs it. */
const state: { current: string[]; witnessed: string[] | undefined; cosigner: 'witness' | 'stranger'; logSigns: boolean } = { current: [], witnessed: undefined, cosigner: 'witness', logSigns: true }

const entries = (n: number, tag = 'leaf') => Array.from({ length: n }, (_, i) => `{"${tag}":${i}}`)
const rootOf = (leaves: string[]) => naiveRoot(leaves.map((l) => leafHash(utf8(l))))

async function note(leaves: string[], key = logKey): Promise<string> {
  return signNote(formatCheckpoint({ origin: ORIGIN, size: leaves.length, root: rootOf(leaves) }), ORIGIN, key.publicKey, key.secretKey)
}

async function witnessedNote(leaves: string[]): Promise<string> {
  const n = await note(leaves, state.logSigns ? logKey : stranger)
  const w = state.cosigner === 'witness' ? witness : stranger
  return n + (await cosign(splitNote(n).body, cosignerKey('w.test/witness', w.publicKey), w.secretKey, NOW / 1000 - 30))
}

beforeAll(async () => {
  logKey = await keyPairFromSeed(new Uint8Array(32).fill(101))
  witness = await keyPairFromSeed(new Uint8Array(32).fill(102))
  stranger = await keyPairFromSeed(new Uint8Array(32).fill(103))
  server = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, body: string | Uint8Array, type = 'text/plain') => res.writeHead(status, { 'content-type': type }).end(body)
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ protocol: 1, log: { origin: ORIGIN, verifierKey: formatVerifierKey(ORIGIN, logKey.publicKey), prefix: '/v1/log' } }), 'application/json')
    if (path === '/v1/log/checkpoint') return send(200, await note(state.current))
    if (path === '/v1/log/witnessed') return state.witnessed ? send(200, await witnessedNote(state.witnessed)) : send(404, '{"error":{"code":"not_witnessed","message":"none"}}', 'application/json')
    if (path.startsWith('/v1/log/tile/')) {
      // An honest relay's tiles are those of its largest tree; a forking one serves its current tree's.
      const w = state.witnessed ?? []
      const tiles = w.length > state.current.length && w.slice(0, state.current.length).every((x, i) => x === state.current[i]) ? w : state.current
      const t = naiveTile(tiles.map(utf8), path.slice('/v1/log/'.length))
      return t ? send(200, t, 'application/octet-stream') : send(404, '{"error":{"code":"no_tile","message":"no"}}', 'application/json')
    }
    send(404, '{"error":{"code":"not_found","message":"no"}}', 'application/json')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const checker = () => new LogChecker({ believe: witnessBelief({ witnesses: [formatCosignerKey('w.test/witness', witness.publicKey)], k: 1 }, () => NOW), retryMs: 0 })
const claim = (index: number) => ({ index, canonical: state.current[index]! })

describe('a checkpoint without cosignatures, and the latest witnessed one', () => {
  it('property: a leaf counts exactly when the witnessed prefix holds it; the tail is refused naming both sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: n - 1 }))),
        async ([n, w, index]) => {
          Object.assign(state, { current: entries(n), witnessed: entries(w), cosigner: 'witness', logSigns: true })
          const { checked, verdicts } = await checker().check(url, [claim(index)])
          expect(checked).toBe(true)
          if (index < w || w === n) expect(verdicts[0]).toBeUndefined()
          else {
            expect(verdicts[0]?.code).toBe('not_witnessed')
            expect(verdicts[0]?.message).toContain(`leaf ${index} of ${url}'s log ${ORIGIN} is not witnessed yet: the latest checkpoint its witnesses cosigned (w.test/witness) has ${w === 1 ? '1 leaf' : `${w} leaves`}, its current one ${n}`)
            expect(verdicts[0]?.message).toContain("retry after the relay's next witness round")
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('a witnessed checkpoint larger than the current one (an instance a second behind) that extends it: every current leaf counts', async () => {
    Object.assign(state, { current: entries(5), witnessed: entries(9), cosigner: 'witness', logSigns: true })
    const { verdicts } = await checker().check(url, [0, 4].map(claim))
    expect(verdicts).toEqual([undefined, undefined])
  })

  it('a statement that is not the leaf at its index is still refused inside the prefix', async () => {
    Object.assign(state, { current: entries(8), witnessed: entries(6), cosigner: 'witness', logSigns: true })
    const { verdicts } = await checker().check(url, [{ index: 2, canonical: '{"leaf":3}' }])
    expect(verdicts[0]?.code).toBe('not_in_log')
  })

  for (const [name, set, says] of [
    ['no witnessed checkpoint at all', { witnessed: undefined }, 'it has no witnessed checkpoint yet'],
    ['a witnessed checkpoint cosigned by a witness not named', { cosigner: 'stranger' }, 'its latest witnessed checkpoint (6 leaves) has 0 of them'],
    ['a "witnessed" checkpoint the log did not sign', { logSigns: false }, 'is not a checkpoint of prefix.test/vouch-log signed by its key'],
  ] as const) {
    it(`${name}: the relay is refused as not witnessed, saying why`, async () => {
      Object.assign(state, { current: entries(8), witnessed: entries(6), cosigner: 'witness', logSigns: true }, set)
      const err = await checker().check(url, [claim(0)]).catch((e: unknown) => e)
      expect(err).toMatchObject({ problem: { code: 'not_witnessed', message: expect.stringContaining('is not witnessed: it has 0 of the 1 cosignature') } })
      expect((err as Error).message).toContain(says)
    })
  }

  it('maxAgeSeconds applies to the witnessed checkpoint too: one cosigned longer ago does not vouch for the prefix', async () => {
    Object.assign(state, { current: entries(8), witnessed: entries(6), cosigner: 'witness', logSigns: true })
    const strict = new LogChecker({ believe: witnessBelief({ witnesses: [formatCosignerKey('w.test/witness', witness.publicKey)], k: 1, maxAgeSeconds: 10 }, () => NOW), retryMs: 0 })
    const err = await strict.check(url, [claim(0)]).catch((e: unknown) => e)
    expect((err as Error).message).toContain('its latest witnessed checkpoint (6 leaves) has 0 of them')
  })

  it('a hostile relay whose witnessed checkpoint is another history than its current one: a fork, with evidence anyone can check', async () => {
    Object.assign(state, { current: entries(8), witnessed: entries(6, 'other'), cosigner: 'witness', logSigns: true })
    const err = await checker().check(url, [claim(0)]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LogForkError)
    const ev = (err as LogForkError).evidence
    expect(ev.reason).toBe('its latest witnessed checkpoint of 6 leaves and its current checkpoint of 8 are not one history')
    expect(ev.equivocation).toBeDefined()
    const proven = await proveEquivocation(ev.verifierKey, ev.equivocation!)
    expect(proven).toMatchObject({ kind: 'inconsistent', small: { size: 6 }, big: { size: 8 } })
    // The two notes are the log's own: the witnessed one, the current one.
    expect(ev.kept).toContain('\n6\n')
    expect(ev.received).toContain('\n8\n')
  })

  it('a hostile relay with two different trees of one size, one witnessed: a fork, proven without a path', async () => {
    Object.assign(state, { current: entries(7), witnessed: entries(7, 'other'), cosigner: 'witness', logSigns: true })
    const err = await checker().check(url, [claim(0)]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LogForkError)
    const ev = (err as LogForkError).evidence
    expect(await proveEquivocation(ev.verifierKey, ev.equivocation!)).toMatchObject({ kind: 'same-size' })
  })
})
