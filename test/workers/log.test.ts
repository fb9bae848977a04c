import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { integrate, integratedTiles, logSize } from '../../src/log/index.ts'
import { insertStatements } from '../../src/store/statements.ts'
import {
  base64url,
  consistencyProof,
  decodeBundle,
  formatSri,
  inclusionProof,
  leafHash,
  naiveRoot,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  sha256,
  splitTile,
  tileHashReader,
  tilePath,
  treeRoot,
  utf8,
  verifyConsistency,
  verifyInclusion,
  type VerifiedStatement,
} from '../../src/verify/index.ts'

const BASE = 'http://relay.test'
const RELAY_KEY = base64url.encode(new Uint8Array(32).fill(7))
const relayEnv = env as unknown as RelayEnv

/** A fresh env object per call: the checkpoint cache is per env, so each call sees D1 as it is now. */
async function call(path: string, vars: Record<string, string | undefined> = { RELAY_KEY }): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`), { ...relayEnv, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

let serial = 0
/**
 * Rows for the log: it takes bodies as D1 holds them, so they need not be signed statements here;
 * ids are their real hashes, which a body read from a bundle is checked against.
 */
async function rows(n: number): Promise<VerifiedStatement[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const i = serial++
      const canonical = JSON.stringify({ n: i, pad: 'x'.repeat(i % 50) })
      const id = formatSri(await sha256(utf8(canonical)))
      return { id, canonical, statement: { actor: 'did:key:test', subject: `pkg:generic/x${i}`, claim: 'test', time: i } } as unknown as VerifiedStatement
    }),
  )
}

/** Every entry, from D1's pending bodies or (once integrated, D1's copy deleted) decoded from its R2 bundle here. */
async function allEntries(): Promise<Uint8Array[]> {
  const { results } = await env.DB.prepare(
    "SELECT s.seq, coalesce(p.body, s.body) AS body FROM statements s LEFT JOIN pending_bodies p ON p.id = s.id ORDER BY s.seq",
  ).all<{ seq: number; body: string }>()
  const bundles = new Map<number, Uint8Array[]>()
  const out: Uint8Array[] = []
  for (const r of results) {
    if (r.body !== '') {
      out.push(utf8(r.body))
      continue
    }
    const n = Math.floor((r.seq - 1) / 256)
    if (!bundles.has(n)) bundles.set(n, decodeBundle(new Uint8Array(await (await env.BLOBS.get(`log/tile/entries/${String(n).padStart(3, '0')}`))!.arrayBuffer())))
    out.push(bundles.get(n)![(r.seq - 1) % 256]!)
  }
  return out
}

async function bytesOf(path: string): Promise<Uint8Array> {
  const res = await call(`/v1/log/${path}`)
  expect(res.status, path).toBe(200)
  return new Uint8Array(await res.arrayBuffer())
}

async function wellKnownLog() {
  const doc = (await (await call('/.well-known/vouch')).json()) as { log: { origin: string; verifierKey: string; prefix: string } | null }
  return doc.log
}

describe('the feed as a log', () => {
  it('numbers leaves densely: a duplicate takes no seq', async () => {
    const before = await logSize(env.DB)
    const batch = await rows(10)
    await insertStatements(env.DB, [...batch.slice(0, 5), batch[0]!, ...batch.slice(5)])
    await insertStatements(env.DB, [batch[3]!, ...(await rows(2)), batch[9]!])
    const r = await env.DB.prepare('SELECT count(*) AS n, max(seq) AS m FROM statements').first<{ n: number; m: number }>()
    expect(r).toEqual({ n: before + 12, m: before + 12 })
  })

  it('serves a checkpoint, tiles and bundles that verify and recompute the tree', async () => {
    await insertStatements(env.DB, await rows(600 - (await logSize(env.DB))))
    const log = (await wellKnownLog())!
    expect(log).toEqual({ origin: 'relay.test/vouch-log', verifierKey: expect.stringMatching(/^relay\.test\/vouch-log\+[0-9a-f]{8}\+/), prefix: '/v1/log' })
    const verifier = parseVerifierKey(log.verifierKey)!

    const res = await call('/v1/log/checkpoint')
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    const opened = await openNote(await res.text(), verifier)
    expect(opened.verified).toBe(true)
    const cp = parseCheckpoint(opened.text)!
    expect(cp.origin).toBe(log.origin)
    expect(cp.size).toBe(600)
    const entries = await allEntries()
    expect(cp.root).toEqual(naiveRoot(entries.map(leafHash)))

    // The tree again, from the tiles a client downloads.
    const fetched: string[] = []
    const h = tileHashReader(cp.size, (level, index, width) => (fetched.push(tilePath({ level, index, width })), bytesOf(tilePath({ level, index, width }))))
    expect(await treeRoot(cp.size, h)).toEqual(cp.root)
    expect(fetched.sort()).toEqual(['tile/0/002.p/88', 'tile/1/000.p/2'])
    const proof = await inclusionProof(599, cp.size, h)
    expect(verifyInclusion(599, cp.size, leafHash(entries[599]!), proof, cp.root)).toBe(true)

    // Bundles hold the statements themselves, and hash to the level-0 tiles.
    for (const [bundle, tile] of [['tile/entries/001', 'tile/0/001'], ['tile/entries/002.p/88', 'tile/0/002.p/88']]) {
      const got = decodeBundle(await bytesOf(bundle!))
      expect(got.map(leafHash)).toEqual(splitTile(await bytesOf(tile!)))
    }
    expect(decodeBundle(await bytesOf('tile/entries/002.p/88'))).toEqual(entries.slice(512, 600))

    // Full tiles are in R2, written once at integration: 3 objects per 256 leaves and the mark.
    expect(await integratedTiles(env.BLOBS)).toBe(2)
    expect((await env.BLOBS.list({ prefix: 'log/' })).objects.map((o) => o.key).sort()).toEqual(
      ['log/integrated', 'log/tile/0/000', 'log/tile/0/001', 'log/tile/1/000.p/1', 'log/tile/1/000.p/2', 'log/tile/entries/000', 'log/tile/entries/001'],
    )
    for (const key of ['log/tile/0/000', 'log/tile/0/001', 'log/tile/entries/000', 'log/tile/1/000.p/1', 'log/tile/1/000.p/2']) expect(await env.BLOBS.head(key), key).not.toBeNull()
    const full = await call('/v1/log/tile/0/001')
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(full.headers.get('content-type')).toBe('application/octet-stream')

    // The log grows: the next checkpoint is consistent with this one.
    await insertStatements(env.DB, await rows(100))
    const next = parseCheckpoint((await openNote(await (await call('/v1/log/checkpoint')).text(), verifier)).text)!
    expect(next.size).toBe(700)
    const h2 = tileHashReader(next.size, (level, index, width) => bytesOf(tilePath({ level, index, width })))
    const cons = await consistencyProof(cp.size, next.size, h2)
    expect(verifyConsistency(cp.size, next.size, cons, cp.root, next.root)).toBe(true)
  })

  it('re-integrating after losing its mark rewrites the same bytes (a crash cannot fork the tree)', async () => {
    const tile = await bytesOf('tile/1/000.p/2')
    await env.BLOBS.delete(['log/integrated', 'log/tile/1/000.p/2'])
    const r = await integrate({ ...relayEnv }, 1)
    expect(r).toMatchObject({ before: 0, after: 1 })
    const again = await integrate({ ...relayEnv }, 10)
    expect(again).toMatchObject({ before: 1, after: 2 })
    expect(await bytesOf('tile/1/000.p/2')).toEqual(tile)
  })

  it('refuses bad tile paths with 400 JSON and unknown tiles with 404', async () => {
    for (const bad of ['tile/0/1', 'tile/0/x000/001', 'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/8/data/000', 'tile/entries/000.p/07', `tile/0/${'x001/'.repeat(40)}000`]) {
      const res = await call(`/v1/log/${bad}`)
      expect(res.status, bad).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_tile_path')
    }
    for (const missing of ['tile/0/009', 'tile/entries/002.p/255', 'tile/1/001', 'tile/2/000.p/1']) {
      const res = await call(`/v1/log/${missing}`)
      expect(res.status, missing).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_tile')
    }
  })

  it('is not served by a relay without a key', async () => {
    // Explicitly unset: a local .dev.vars (made by `npm start`) would otherwise lend the test env a key.
    expect(await (await call('/.well-known/vouch', { RELAY_KEY: undefined })).json()).toMatchObject({ log: null })
    const res = await call('/v1/log/checkpoint', { RELAY_KEY: undefined })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_log')
  })
})

describe('answers carry leaf indices (PROTOCOL §6.3)', () => {
  it('every page and the by-id answer name each statement\'s leaf, which the log proves', async () => {
    const { makeStatement, testKey } = await import('../helpers.ts')
    const key = await testKey(41)
    const subject = `pkg:generic/leafy-${Date.now()}@1.0.0`
    const sts = await Promise.all([0, 1, 2].map((i) => makeStatement(key, { subject, time: 1_777_895_712_000 + i })))
    const post = await worker.fetch(new Request(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(sts), headers: { 'content-type': 'application/json' } }), { ...relayEnv, RELAY_KEY } as RelayEnv, createExecutionContext())
    expect(post.status).toBe(200)
    const { results } = (await post.json()) as { results: { id: string }[] }
    const ids = results.map((r) => r.id)
    const seqOf = async (id: string) => (await env.DB.prepare('SELECT seq FROM statements WHERE id = ?1').bind(id).first<number>('seq'))!
    const want = await Promise.all(ids.map(async (id) => (await seqOf(id)) - 1))

    type Page = { statements: unknown[]; leaves: number[] }
    const pages: Page[] = [
      (await (await call(`/v1/statements?subject=${encodeURIComponent(subject)}`)).json()) as Page,
      (await (await worker.fetch(new Request(`${BASE}/v1/statements/bulk`, { method: 'POST', body: JSON.stringify({ subjects: [subject] }), headers: { 'content-type': 'application/json' } }), relayEnv, createExecutionContext())).json()) as Page,
      (await (await worker.fetch(new Request(`${BASE}/v1/statements/lookup`, { method: 'POST', body: JSON.stringify({ ids }), headers: { 'content-type': 'application/json' } }), relayEnv, createExecutionContext())).json()) as Page,
      (await (await call(`/v1/feed?after=${want[0]}&limit=3`)).json()) as Page,
    ]
    for (const page of pages) {
      expect(page.leaves).toEqual(want)
      expect(page.statements).toHaveLength(3)
    }
    for (const [i, id] of ids.entries()) {
      // Twice: the second answer comes from KV, which must carry the index too.
      for (let k = 0; k < 2; k++) {
        const res = await call(`/v1/statements/${encodeURIComponent(id)}`)
        expect(res.headers.get('vouch-leaf-index')).toBe(String(want[i]))
      }
    }

    // The index is the one the log proves: the leaf's entry is the served statement's bytes.
    const log = (await wellKnownLog())!
    const cp = parseCheckpoint((await openNote(await (await call('/v1/log/checkpoint')).text(), parseVerifierKey(log.verifierKey)!)).text)!
    const h = tileHashReader(cp.size, (level, index, width) => bytesOf(tilePath({ level, index, width })))
    for (const [i, raw] of pages[0]!.statements.entries()) {
      const leaf = leafHash(utf8(JSON.stringify(raw)))
      expect(verifyInclusion(want[i]!, cp.size, leaf, await inclusionProof(want[i]!, cp.size, h), cp.root)).toBe(true)
    }
  })
})
