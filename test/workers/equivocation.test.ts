import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { EVIDENCE_PER_LOG, r2EvidenceReader } from '../../src/store/evidence.ts'
import { ingest, type GateConfig } from '../../src/store/ingest.ts'
import { canonicalize, EQUIVOCATION_CLAIM, EVIDENCE_LIMITS, formatSri, hex, sha256, signStatement, utf8, type Json, type JsonObject } from '../../src/verify/index.ts'
import vectors from '../vectors/equivocation/evidence.json'
import { testKey } from '../helpers.ts'

/**
 * Every relay takes `log-equivocation` evidence whatever its admission mode (PROTOCOL §6.12), and
 * only once the evidence proves a fork: a closed relay stores a stranger's valid evidence and
 * refuses the same stranger's fake evidence and ordinary statements.
 */
const BASE = 'http://relay.test'
const relayEnv = env as unknown as RelayEnv
type Key = Awaited<ReturnType<typeof testKey>>

async function post(vars: Record<string, string>, body: unknown): Promise<{ status: number; json: { accepted: number; rejected: number; error?: { code: string; message: string }; results: { status: string; error?: { code: string } }[] } }> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), { ...relayEnv, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return { status: res.status, json: await res.json() }
}
const evidenceBy = (key: Key, c: number | JsonObject, extra: Record<string, unknown> = {}) =>
  signStatement({ v: 1, actor: key.did, subject: vectors.verifierKey, claim: EQUIVOCATION_CLAIM, time: Date.now(), ...(typeof c === 'number' ? { meta: vectors.cases[c]!.evidence as unknown as JsonObject } : {}), ...extra }, key.secretKey)
const stored = async (subject: string) => (await env.DB.prepare('SELECT count(*) AS n FROM statements WHERE subject = ?1 AND claim = ?2').bind(subject, EQUIVOCATION_CLAIM).first<number>('n')) ?? 0
const caseIndex = (name: RegExp) => vectors.cases.findIndex((c) => name.test(c.name))

describe('log-equivocation at the gate', () => {
  const closed = { ADMISSION: 'closed', OPERATOR_KEYS: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' }

  it('a closed relay stores the vector claim (a stranger\'s valid evidence), and still refuses the stranger\'s other statements', async () => {
    const r = await post(closed, vectors.statement)
    expect(r.status, JSON.stringify(r.json)).toBe(200)
    expect(r.json.accepted).toBe(1)
    expect(await stored(vectors.verifierKey)).toBe(1)
    const stranger = await testKey(140)
    const other = await signStatement({ v: 1, actor: stranger.did, subject: 'pkg:generic/x@1', claim: 'review', object: 'pass', time: Date.now() }, stranger.secretKey)
    expect((await post(closed, other)).json.error?.code).toBe('not_admitted')
  })

  for (const [mode, vars] of [['closed', closed], ['trusted', { ...closed, ADMISSION: 'trusted' }], ['open', { ADMISSION: 'open' }]] as const) {
    it(`a ${mode} relay refuses fake evidence with a clear code, and stores nothing`, async () => {
      const key = await testKey(141)
      const before = await stored(vectors.verifierKey)
      const cases: [number, string][] = [
        [caseIndex(/garbage/), 'unproven_equivocation'],
        [caseIndex(/^consistent/), 'unproven_equivocation'],
        [caseIndex(/another key/), 'unproven_equivocation'],
        [caseIndex(/larger tree first/), 'bad_evidence'],
      ]
      for (const [c, code] of cases) {
        const r = await post(vars, await evidenceBy(key, c))
        expect(r.status, vectors.cases[c]!.name).toBe(422)
        expect(r.json.error?.code, vectors.cases[c]!.name).toBe(code)
      }
      const neg = await post(vars, await evidenceBy(key, 1, { not: true }))
      expect(neg.json.error).toMatchObject({ code: 'bad_evidence', message: expect.stringMatching(/no negative form/) })
      expect(await stored(vectors.verifierKey)).toBe(before)
    })
  }

  it('evidence in a blob the claim names: read from R2 with its hash recomputed; a missing blob is refused', async () => {
    const gate: GateConfig = { admission: 'closed', operatorKeys: [], admitDepth: 2, quotaStatementsPerDay: 100, peerStatementsPerDay: 100 }
    const bytes = utf8(canonicalize(vectors.cases[2]!.evidence as unknown as Json))
    const digest = await sha256(bytes)
    const key = await testKey(142)
    const claim = await evidenceBy(key, {}, { object: formatSri(digest) })
    const readEvidenceBlob = r2EvidenceReader(env.BLOBS, EVIDENCE_LIMITS.blobBytes)
    const before = await ingest(env.DB, [claim as unknown as Json], { now: Date.now(), origin: { kind: 'client' }, gate, readEvidenceBlob })
    expect(before.results[0]).toMatchObject({ status: 'rejected', error: { code: 'evidence_blob_missing' } })
    await env.BLOBS.put(`blobs/sha256/${hex.encode(digest.bytes)}`, bytes)
    const after = await ingest(env.DB, [claim as unknown as Json], { now: Date.now(), origin: { kind: 'client' }, gate, readEvidenceBlob })
    expect(after.results[0]).toMatchObject({ status: 'accepted' })
  })

  it(`keeps at most ${EVIDENCE_PER_LOG} pieces of evidence per log`, async () => {
    // Storage is shared by this file's tests: earlier ones stored some evidence against this log.
    const room = EVIDENCE_PER_LOG - (await stored(vectors.verifierKey))
    const keys = await Promise.all(Array.from({ length: room + 2 }, (_, i) => testKey(150 + i)))
    const r = await post(closed, await Promise.all(keys.map((k) => evidenceBy(k, 0))))
    expect(r.json.accepted).toBe(room)
    expect(r.json.results.slice(room).map((x) => x.error?.code)).toEqual(['evidence_enough', 'evidence_enough'])
    expect(await stored(vectors.verifierKey)).toBe(EVIDENCE_PER_LOG)
  })
})
