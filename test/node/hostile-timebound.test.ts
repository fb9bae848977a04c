import type { Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOUNDS_PER_RELAY, LogChecker, MAX_BOUNDED, witnessedTimes, type BoundRequirement } from '../../src/client/index.ts'
import { canonicalize, cosignerKey, formatCheckpoint, formatVerifierKey, keyPairFromSeed, leafHash, naiveRoot, signNote, utf8, type Json, type KeyPair, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'
import { listen } from './loopback.ts'
import { naiveTile } from './naive-log.ts'

/**
 * Under revocation "witnessed", each statement of a revoked key costs a time-bound request to
 * every relay that logged it (PROTOCOL §6.13). A hostile relay logs 300 statements of a revoked
 * key (a thief holding the key mints as many as it likes) about three packages, and answers every
 * witnessed-checkpoint request. One command judging the three packages (one LogChecker, three
 * verdicts) must ask it at most BOUNDS_PER_RELAY times, not MAX_BOUNDED per verdict, and say why
 * the rest got no bound.
 */
const ORIGIN = 'thief.test/vouch-log'
const PER_PACKAGE = 100
const servers: Server[] = []
let url = ''
let logKey: KeyPair
let statements: Statement[] = []
let entries: Uint8Array[] = []
let checkpoint = ''
let author = ''
let witnessedAsked = 0

beforeAll(async () => {
  logKey = await keyPairFromSeed(new Uint8Array(32).fill(0x71))
  const thief = await testKey(91)
  author = thief.did
  const t = Date.now() - 60_000
  statements = await Promise.all(Array.from({ length: 3 * PER_PACKAGE }, (_, i) => makeStatement(thief, { subject: `pkg:generic/p${i % 3}@1.0.${i}`, time: t + i })))
  entries = statements.map((s) => utf8(canonicalize(s as unknown as Json)))
  checkpoint = await signNote(formatCheckpoint({ origin: ORIGIN, size: entries.length, root: naiveRoot(entries.map(leafHash)) }), ORIGIN, logKey.publicKey, logKey.secretKey)
  url = await listen(servers, (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    const send = (status: number, text: string | Uint8Array, type = 'text/plain; charset=utf-8') => res.writeHead(status, { 'content-type': type }).end(text)
    if (path === '/.well-known/vouch') return send(200, JSON.stringify({ log: { origin: ORIGIN, verifierKey: formatVerifierKey(ORIGIN, logKey.publicKey), prefix: '/v1/log' } }), 'application/json')
    if (path === '/v1/log/checkpoint') return send(200, checkpoint)
    if (path === '/v1/log/witnessed') {
      witnessedAsked++
      return send(404, '{"error":{"code":"not_witnessed","message":"not yet"}}', 'application/json')
    }
    const tile = path.startsWith('/v1/log/') ? naiveTile(entries, path.slice('/v1/log/'.length)) : undefined
    return tile ? send(200, tile, 'application/octet-stream') : send(404, '{"error":{"code":"not_found","message":"no"}}', 'application/json')
  })
})

afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close()
})

describe('time bounds one hostile relay can make a command ask for', () => {
  it(`three verdicts of one command ask it ${BOUNDS_PER_RELAY} times in all, and the rest say why they have no bound`, async () => {
    const w = await keyPairFromSeed(new Uint8Array(32).fill(0x72))
    const req: BoundRequirement = { witnesses: [cosignerKey('w.test/vouch-witness', w.publicKey)], k: 1 }
    // One command: one checker that proved every statement in the relay's log, as the reads would.
    const log = new LogChecker()
    log.keepEvidence()
    const facts = statements.map((statement, i) => ({ id: `id${i}`, statement }))
    const { verdicts } = await log.check(url, statements.map((s, index) => ({ index, canonical: canonicalize(s as unknown as Json), id: `id${index}` })))
    expect(verdicts.every((v) => v === undefined)).toBe(true)
    witnessedAsked = 0
    const t0 = performance.now()
    const refused = []
    for (let p = 0; p < 3; p++) {
      const r = await witnessedTimes(log, facts.filter((f) => f.statement.subject.startsWith(`pkg:generic/p${p}@`)), new Set([author]), req)
      expect(r.bounds.size).toBe(0)
      refused.push(...r.refused)
    }
    const ms = performance.now() - t0
    console.log(`3 verdicts of ${PER_PACKAGE} statements of a revoked key: ${witnessedAsked} witnessed-checkpoint requests, ${ms.toFixed(0)} ms`)
    // Before: MAX_BOUNDED a verdict, 300 in all.
    expect(MAX_BOUNDED).toBe(PER_PACKAGE)
    expect(witnessedAsked).toBe(BOUNDS_PER_RELAY)
    expect(refused).toHaveLength(3 * PER_PACKAGE)
    const over = refused.filter((x) => x.reasons[0]!.code === 'over_budget')
    expect(over).toHaveLength(3 * PER_PACKAGE - BOUNDS_PER_RELAY)
    expect(over[0]!.reasons[0]).toEqual({ relay: url, code: 'over_budget', message: `${url} was already asked for ${BOUNDS_PER_RELAY} time bounds in this command; no bound from this relay for the rest` })
    // A second command (a new checker) has its own budget.
    const next = new LogChecker()
    next.keepEvidence()
    await next.check(url, statements.slice(0, 1).map((s, index) => ({ index, canonical: canonicalize(s as unknown as Json), id: `id${index}` })))
    witnessedAsked = 0
    await witnessedTimes(next, facts.slice(0, 1), new Set([author]), req)
    expect(witnessedAsked).toBe(1)
  }, 60_000)
})
