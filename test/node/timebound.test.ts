import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogChecker, proveTimeBound, witnessedTimes, type BoundRequirement } from '../../src/client/index.ts'
import { ensurePolicy, evaluate, FactIndex } from '../../src/policy/index.ts'
import {
  canonicalize,
  cosign,
  cosignerKey,
  formatCheckpoint,
  formatCosignerKey,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  signNote,
  utf8,
  type CosignerKey,
  type Json,
  type KeyPair,
  type Statement,
} from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'
import { naiveTile } from './naive-log.ts'

/**
 * The client's time bound (PROTOCOL §6.13) against a relay that lies. A fake relay on loopback
 * serves a real log of four statements (tiles computed the obvious way) and whatever witnessed
 * checkpoint a test sets. Only a checkpoint signed by the log's key, cosigned by k named
 * witnesses, consistent with the relay's current checkpoint and including the leaf gives a bound;
 * anything else gives a NoBound with its reason, never a throw, and the claim then does not count.
 */
const ORIGIN = 'hostile.test/vouch-log'
const HOUR_AGO = Math.floor(Date.now() / 1000) - 3600
let server: Server
let url: string
let logKey: KeyPair
const w: { key: CosignerKey; pair: KeyPair; vkey: string }[] = []
let statements: Statement[]
let entries: Uint8Array[]
let checkpoint: string
let witnessed: { status: number; body: string }
let root: string
let author: string
let revokedAt: number

const body = (leaves: Uint8Array[], size = leaves.length) => formatCheckpoint({ origin: ORIGIN, size, root: naiveRoot(leaves.map(leafHash)) })
const signed = async (text: string, key = logKey) => signNote(text, ORIGIN, key.publicKey, key.secretKey)
const line = (i: number, over: string, time = HOUR_AGO) => cosign(over, w[i]!.key, w[i]!.pair.secretKey, time)
/** A witnessed checkpoint of the first `size` leaves of `leaves`, cosigned by witnesses `by` at `times`. */
async function note(leaves: Uint8Array[], by: number[], times: number[] = by.map(() => HOUR_AGO)): Promise<string> {
  const b = body(leaves)
  return (await signed(b)) + (await Promise.all(by.map((i, k) => line(i, b, times[k])))).join('')
}

beforeAll(async () => {
  logKey = await keyPairFromSeed(new Uint8Array(32).fill(0x41))
  for (let i = 0; i < 3; i++) {
    const pair = await keyPairFromSeed(new Uint8Array(32).fill(0x50 + i))
    const name = `w${i}.test/vouch-witness`
    w.push({ key: cosignerKey(name, pair.publicKey), pair, vkey: formatCosignerKey(name, pair.publicKey) })
  }
  const me = await testKey(81)
  const mal = await testKey(82)
  root = me.did
  author = mal.did
  revokedAt = Date.now() - 60_000
  const pkg = 'pkg:generic/hostile'
  statements = [
    await makeStatement(me, { subject: mal.did, claim: 'author', object: pkg, time: revokedAt - 7_200_000 }),
    await makeStatement(mal, { subject: `${pkg}@1.0.0`, time: revokedAt - 7_100_000 }),
    await makeStatement(me, { subject: mal.did, claim: 'author', object: pkg, time: revokedAt, not: true }),
    await makeStatement(mal, { subject: `${pkg}@2.0.0`, time: revokedAt - 1000 }),
  ]
  entries = statements.map((s) => utf8(canonicalize(s as unknown as Json)))
  checkpoint = await signed(body(entries))
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, text: string | Uint8Array, type = 'text/plain; charset=utf-8') => res.writeHead(status, { 'content-type': type }).end(text)
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ log: { origin: ORIGIN, verifierKey: formatVerifierKey(ORIGIN, logKey.publicKey), prefix: '/v1/log' } }), 'application/json')
    if (path === '/v1/log/checkpoint') return send(200, checkpoint)
    if (path === '/v1/log/witnessed') return send(witnessed.status, witnessed.body)
    const tile = path.startsWith('/v1/log/') ? naiveTile(entries, path.slice('/v1/log/'.length)) : undefined
    return tile ? send(200, tile, 'application/octet-stream') : send(404, '{"error":{"code":"not_found","message":"no"}}', 'application/json')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((r) => server.close(() => r())))

const req = (k = 1, names = [0]): BoundRequirement => ({ witnesses: names.map((i) => w[i]!.key), k })

/** A checker that has proven every statement of the fake log at its index, as a command's reads would. */
async function checker(): Promise<LogChecker> {
  const log = new LogChecker()
  log.keepEvidence()
  const { verdicts } = await log.check(url, statements.map((s, index) => ({ index, canonical: canonicalize(s as unknown as Json), id: `id${index}` })))
  expect(verdicts).toEqual([undefined, undefined, undefined, undefined])
  return log
}
const leaf = (index: number) => ({ index, canonical: canonicalize(statements[index] as unknown as Json) })

describe('proveTimeBound', () => {
  it('an honest witnessed checkpoint bounds the leaf by the end of its cosignature second', async () => {
    witnessed = { status: 200, body: await note(entries.slice(0, 2), [0]) }
    expect(await proveTimeBound(await checker(), url, leaf(1), req())).toEqual({ at: (HOUR_AGO + 1) * 1000, by: [w[0]!.key.name], relay: url, size: 2, note: expect.stringContaining('\n2\n'), index: 1 })
    // The current checkpoint itself, witnessed, is fine too.
    witnessed = { status: 200, body: await note(entries, [0]) }
    expect(await proveTimeBound(await checker(), url, leaf(3), req())).toMatchObject({ size: 4 })
  })

  it('the bound is the k-th earliest cosignature: fewer than k witnesses cannot move it earlier', async () => {
    // w0 colludes and back-dates by a day; w1 and w2 are honest.
    witnessed = { status: 200, body: await note(entries.slice(0, 2), [0, 1, 2], [HOUR_AGO - 86_400, HOUR_AGO, HOUR_AGO + 10]) }
    const log = await checker()
    expect(await proveTimeBound(log, url, leaf(1), req(1, [0, 1, 2]))).toMatchObject({ at: (HOUR_AGO - 86_400 + 1) * 1000 })
    expect(await proveTimeBound(log, url, leaf(1), req(2, [0, 1, 2]))).toMatchObject({ at: (HOUR_AGO + 1) * 1000, by: [w[0]!.key.name, w[1]!.key.name] })
    expect(await proveTimeBound(log, url, leaf(1), req(3, [0, 1, 2]))).toMatchObject({ at: (HOUR_AGO + 11) * 1000 })
  })

  it('a forged or useless witnessed checkpoint gives no bound, with the reason', async () => {
    const b2 = body(entries.slice(0, 2))
    const good = await line(0, b2)
    // One base64 character of the cosignature changed.
    const flipped = good.slice(0, 40) + (good[40] === 'A' ? 'B' : 'A') + good.slice(41)
    const other = [utf8('{"a thief":"wrote this"}'), entries[0]!]
    const cases: [string, { status: number; body: string }, string][] = [
      ['bad cosignature', { status: 200, body: (await signed(b2)) + flipped }, 'not_witnessed'],
      ['an unnamed witness', { status: 200, body: await note(entries.slice(0, 2), [1]) }, 'not_witnessed'],
      ['no cosignature', { status: 200, body: await signed(b2) }, 'not_witnessed'],
      ['not consistent with the current checkpoint', { status: 200, body: await note(other, [0]) }, 'not_consistent'],
      ['a different tree of the current size', { status: 200, body: await note([...other, ...entries.slice(2)], [0]) }, 'not_consistent'],
      ['a tree too small for the leaf', { status: 200, body: await note(entries.slice(0, 1), [0]) }, 'not_included'],
      ['not signed by the log key', { status: 200, body: (await signNote(b2, ORIGIN, w[2]!.pair.publicKey, w[2]!.pair.secretKey)) + good }, 'bad_witnessed'],
      ['another log', { status: 200, body: (await signed(b2.replace(ORIGIN, 'other.test/vouch-log'))) + good }, 'bad_witnessed'],
      ['garbage', { status: 200, body: 'not a note\n' }, 'bad_witnessed'],
      ['a 404', { status: 404, body: '{"error":{"code":"not_witnessed","message":"no"}}' }, 'not_witnessed'],
      ['a 500', { status: 500, body: 'oops' }, 'bad_witnessed'],
    ]
    const log = await checker()
    for (const [name, answer, code] of cases) {
      witnessed = answer
      const r = await proveTimeBound(log, url, leaf(1), req())
      expect(r, name).toMatchObject({ relay: url, code })
      expect('at' in r, name).toBe(false)
    }
  })

  it('through witnessedTimes: a forged bound leaves the revoked key\'s claim uncounted; an honest one counts it', async () => {
    const policy = ensurePolicy({ version: 1, trust: { keys: [root] }, logs: { witnesses: [{ key: w[0]!.vkey }], k: 1 }, revocation: 'witnessed' })
    const facts = statements.map((statement, i) => ({ id: `id${i}`, statement }))
    const verdict = async (): Promise<string> => {
      const log = await checker()
      const r = await witnessedTimes(log, facts, new Set([author]), req())
      return evaluate(new FactIndex(r.facts), policy, 'pkg:generic/hostile@1.0.0', { now: Date.now() }).verdict
    }
    witnessed = { status: 200, body: await note(entries.slice(0, 2), [1]) }
    expect(await verdict()).toBe('untrusted')
    witnessed = { status: 200, body: await note([utf8('{}'), entries[1]!], [0]) }
    expect(await verdict()).toBe('untrusted')
    witnessed = { status: 200, body: await note(entries.slice(0, 2), [0]) }
    expect(await verdict()).toBe('trusted')
  })
})
