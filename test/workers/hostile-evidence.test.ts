import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { r2EvidenceReader } from '../../src/store/evidence.ts'
import { ingest, type GateConfig } from '../../src/store/ingest.ts'
import {
  base64,
  canonicalize,
  EQUIVOCATION_CLAIM,
  EVIDENCE_LIMITS,
  formatSri,
  hex,
  keyPairFromSeed,
  noteKeyHash,
  sha256,
  signNote,
  signStatement,
  utf8,
  type Json,
} from '../../src/verify/index.ts'
import vectors from '../vectors/equivocation/evidence.json'
import { testKey } from '../helpers.ts'

/**
 * Hostile `log-equivocation` evidence (PROTOCOL §6.12), each limit at its boundary: notes of
 * 8192 and 8193 bytes, proofs of 128 and 129 hashes, a note of 101 signature lines, a named blob
 * far over 64 KiB (refused from its size alone). Anyone may submit evidence to any relay, so what
 * a refusal costs matters as much as the refusal.
 */
const ORIGIN = 'relay.example/vouch-log'
const gate: GateConfig = { admission: 'closed', operatorKeys: [], admitDepth: 2, quotaStatementsPerDay: 1000, peerStatementsPerDay: 1000 }
const readEvidenceBlob = r2EvidenceReader(env.BLOBS, EVIDENCE_LIMITS.blobBytes)
const logKey = await keyPairFromSeed(new Uint8Array(32).fill(0x45))
let serial = 0

/** A checkpoint note signed by the vectors' log key, padded with an extension line to exactly `bytes` bytes. */
async function note(size: number, rootByte: number, bytes?: number): Promise<string> {
  const head = `${ORIGIN}\n${size}\n${base64.encode(new Uint8Array(32).fill(rootByte))}\n`
  const bare = await signNote(head, ORIGIN, logKey.publicKey, logKey.secretKey)
  if (bytes === undefined) return bare
  const pad = bytes - utf8(bare).length - 1
  return signNote(`${head}${'x'.repeat(pad)}\n`, ORIGIN, logKey.publicKey, logKey.secretKey)
}

/** Submits `evidence` as a blob named by a fresh claim; the item's outcome. */
async function submit(evidence: unknown): Promise<{ status: string; error?: { code: string; message: string } }> {
  const bytes = utf8(canonicalize(evidence as Json))
  const digest = await sha256(bytes)
  await env.BLOBS.put(`blobs/sha256/${hex.encode(digest.bytes)}`, bytes)
  const key = await testKey(200 + (serial++ % 50))
  const claim = await signStatement({ v: 1, actor: key.did, subject: vectors.verifierKey, claim: EQUIVOCATION_CLAIM, object: formatSri(digest), time: Date.now() + serial }, key.secretKey)
  return (await ingest(env.DB, [claim as unknown as Json], { now: Date.now() + 1000, origin: { kind: 'client' }, gate, readEvidenceBlob })).results[0] as never
}

describe('hostile equivocation evidence', () => {
  it(`notes of ${EVIDENCE_LIMITS.noteBytes} bytes are judged; one byte more is bad_evidence`, async () => {
    const at = [await note(7, 1, 8192), await note(7, 2, 8192)]
    expect(at.map((n) => utf8(n).length)).toEqual([8192, 8192])
    expect(await submit({ checkpoints: at, proof: [] })).toMatchObject({ status: 'accepted' })
    const over = [await note(7, 3, 8193), await note(7, 4)]
    expect(await submit({ checkpoints: over, proof: [] })).toMatchObject({ status: 'rejected', error: { code: 'bad_evidence' } })
  })

  it(`a proof of ${EVIDENCE_LIMITS.proofHashes} hashes is judged (and proves nothing); ${EVIDENCE_LIMITS.proofHashes + 1} is bad_evidence`, async () => {
    const cps = [await note(5, 5), await note(9, 6)]
    const hashes = (n: number) => Array.from({ length: n }, (_, i) => base64.encode(new Uint8Array(32).fill(i)))
    expect(await submit({ checkpoints: cps, proof: hashes(128) })).toMatchObject({ status: 'rejected', error: { code: 'unproven_equivocation' } })
    expect(await submit({ checkpoints: cps, proof: hashes(129) })).toMatchObject({ status: 'rejected', error: { code: 'bad_evidence' } })
  })

  it('a note of 101 signature lines is bad_evidence; 100 lines are judged', async () => {
    const good = await note(7, 7)
    const other = (i: number) => `— o${i} ${base64.encode(new Uint8Array(5).fill(i))}\n`
    const lines = (n: number) => good + Array.from({ length: n - 1 }, (_, i) => other(i)).join('')
    expect(await submit({ checkpoints: [lines(100), await note(7, 8)], proof: [] })).toMatchObject({ status: 'accepted' })
    expect(await submit({ checkpoints: [lines(101), await note(7, 9)], proof: [] })).toMatchObject({ status: 'rejected', error: { code: 'bad_evidence', message: expect.stringMatching(/100 signature lines/) } })
  })

  it('a claim naming a blob of 1 MiB is refused from the blob\'s size, not its bytes', async () => {
    const big = new Uint8Array(1 << 20).fill(0x20)
    const digest = await sha256(big)
    await env.BLOBS.put(`blobs/sha256/${hex.encode(digest.bytes)}`, big)
    const key = await testKey(260)
    const claim = await signStatement({ v: 1, actor: key.did, subject: vectors.verifierKey, claim: EQUIVOCATION_CLAIM, object: formatSri(digest), time: Date.now() }, key.secretKey)
    const r = (await ingest(env.DB, [claim as unknown as Json], { now: Date.now() + 1000, origin: { kind: 'client' }, gate, readEvidenceBlob })).results[0]
    expect(r).toMatchObject({ status: 'rejected', error: { code: 'bad_evidence', message: expect.stringMatching(/at most 65536 bytes/) } })
  })

  it('200 claims naming one evidence blob (notes padded with failing lines by the log key) cost about as much as 200 ordinary statements', async () => {
    const hash = noteKeyHash(ORIGIN, logKey.publicKey)
    const pad = Array.from({ length: 60 }, (_, i) => `— ${ORIGIN} ${base64.encode(new Uint8Array([...hash, ...new Uint8Array(64).fill(i + 1)]))}\n`).join('')
    const bytes = utf8(canonicalize({ checkpoints: [(await note(5, 11)) + pad, (await note(9, 12)) + pad], proof: [] }))
    const digest = await sha256(bytes)
    await env.BLOBS.put(`blobs/sha256/${hex.encode(digest.bytes)}`, bytes)
    const open: GateConfig = { ...gate, admission: 'open', quotaStatementsPerDay: 100_000 }
    const claims: Json[] = []
    const plain: Json[] = []
    for (let i = 0; i < 200; i++) {
      const key = await testKey(300 + (i % 20))
      claims.push((await signStatement({ v: 1, actor: key.did, subject: vectors.verifierKey, claim: EQUIVOCATION_CLAIM, object: formatSri(digest), time: Date.now() + i }, key.secretKey)) as never)
      plain.push((await signStatement({ v: 1, actor: key.did, subject: `pkg:generic/plain-${i}@1`, claim: 'review', object: 'pass', time: Date.now() + i }, key.secretKey)) as never)
    }
    const timed = async (items: Json[]) => {
      const t = performance.now()
      const r = await ingest(env.DB, items, { now: Date.now() + 5000, origin: { kind: 'client' }, gate: open, readEvidenceBlob })
      return { ms: performance.now() - t, r }
    }
    const p = await timed(plain)
    const e = await timed(claims)
    expect(e.r.results.every((x) => x.status === 'rejected' && x.error.code === 'unproven_equivocation')).toBe(true)
    // Before one verdict per piece of evidence: 18-30x (each claim read the blob and checked 120 lines).
    console.log(`200 plain statements ${p.ms.toFixed(0)} ms, 200 claims on one blob ${e.ms.toFixed(0)} ms`)
    expect(e.ms).toBeLessThan(5 * p.ms + 50)
  })
})
