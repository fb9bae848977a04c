import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import {
  base64,
  base64url,
  consistencyProof,
  emptyRoot,
  formatAddCheckpoint,
  formatCheckpoint,
  formatVerifierKey,
  hex,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  parseCosignerKey,
  parseSignatureLines,
  sha256,
  signNote,
  splitNote,
  utf8,
  verifyCosignature,
} from '../../src/verify/index.ts'

/** The witness endpoint (PROTOCOL §6.11, C2SP tlog-witness): every status the spec names, and the CAS. */

const BASE = 'http://witness.test'
const RELAY_KEY = base64url.encode(new Uint8Array(32).fill(7))
const PEER = 'https://log.example'
const ORIGIN = 'log.example/vouch-log'
const relayEnv = env as unknown as RelayEnv
const logKey = await keyPairFromSeed(new Uint8Array(32).fill(0x21))
const strangerKey = await keyPairFromSeed(new Uint8Array(32).fill(0x22))

// The peer's /.well-known/vouch as this relay caches it (what src/gossip/caps.ts would have fetched).
await env.CACHE.put(`gossip:peer-info:${PEER}`, JSON.stringify({ caps: { batchItems: 1000, pageMax: 1000 }, log: { origin: ORIGIN, verifierKey: formatVerifierKey(ORIGIN, logKey.publicKey) } }))

/** A fresh env object per call: per-isolate caches (config, witnessed logs) start empty, as after a restart; D1 persists. */
async function call(path: string, init?: RequestInit, vars: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...relayEnv, RELAY_KEY, PEERS: PEER, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

const leaves = (tag: string, n: number) => Array.from({ length: n }, (_, i) => leafHash(utf8(`${i < 5 ? 'common' : tag} ${i}`)))
const hasher = (ls: Uint8Array[]) => async (level: number, index: number) => naiveRoot(ls.slice(index * 2 ** level, (index + 1) * 2 ** level))

async function note(ls: Uint8Array[], origin = ORIGIN, key = logKey): Promise<string> {
  return signNote(formatCheckpoint({ origin, size: ls.length, root: naiveRoot(ls) }), origin, key.publicKey, key.secretKey)
}

async function add(old: number, proof: Uint8Array[], n: string, vars?: Record<string, string>): Promise<Response> {
  return call('/v1/witness/add-checkpoint', { method: 'POST', body: formatAddCheckpoint({ oldSize: old, proof, note: n }, (h) => base64.encode(h)) }, vars)
}

async function submit(ls: Uint8Array[], old: number): Promise<Response> {
  const proof = old === 0 || old === ls.length ? [] : await consistencyProof(old, ls.length, hasher(ls))
  return add(old, proof, await note(ls))
}

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('POST /v1/witness/add-checkpoint', () => {
  it('cosigns a first checkpoint with the key /.well-known/vouch publishes, then refuses to go back', async () => {
    const wk = (await (await call('/.well-known/vouch')).json()) as { witness: { name: string; verifierKey: string; prefix: string } }
    expect(wk.witness).toMatchObject({ name: 'witness.test/vouch-witness', prefix: '/v1/witness' })
    const key = parseCosignerKey(wk.witness.verifierKey)!
    const a = leaves('a', 5)
    const res = await submit(a, 0)
    expect(res.status).toBe(200)
    const text = await res.text()
    const sigs = parseSignatureLines(text)
    expect(sigs).toHaveLength(1)
    const time = await verifyCosignature(splitNote(await note(a)).body, sigs[0]!, key)
    expect(Math.abs(time! - Date.now() / 1000)).toBeLessThan(60)

    // Same size again from 5: the same root is cosigned again; another root is 422.
    expect((await submit(a, 5)).status).toBe(200)
    const other = await note(leaves('x', 4).concat(leafHash(utf8('other'))))
    const r422 = await add(5, [], other)
    expect(r422.status).toBe(422)
    expect(await errorCode(r422)).toBe('inconsistent')

    // old 0 when it knows 5: 409 with the size, in the spec's media type.
    const r409 = await submit(a, 0)
    expect(r409.status).toBe(409)
    expect(r409.headers.get('content-type')).toBe('text/x.tlog.size')
    expect(await r409.text()).toBe('5\n')

    // The monitoring endpoint serves what it cosigned.
    const originHash = hex.encode((await sha256(utf8(ORIGIN))).bytes)
    const mon = await call(`/v1/witness/${originHash}/checkpoint`)
    expect(mon.status).toBe(200)
    const served = await mon.text()
    expect(served.startsWith(await note(a))).toBe(true)
    const [monSig] = parseSignatureLines(served.slice((await note(a)).length))
    expect(await verifyCosignature(splitNote(await note(a)).body, monSig!, key)).toBeGreaterThan(0)
    expect((await call(`/v1/witness/${'0'.repeat(64)}/checkpoint`)).status).toBe(404)
  })

  it('extends along a consistent history and refuses a bad proof (422) and a fork of the same size, even from a fresh isolate', async () => {
    const a = leaves('a', 9)
    expect((await submit(a, 5)).status).toBe(200)
    const bad = await consistencyProof(5, 9, hasher(a))
    bad[0] = new Uint8Array(32)
    const r = await add(9, [], await note(leaves('fork', 9)))
    expect(r.status).toBe(422)
    const r2 = await add(9, bad, await note(a))
    expect(r2.status).toBe(422) // old = size with a non-empty proof
    // A fork at 12 with a valid proof of itself from 9 is not consistent with the 9 cosigned.
    const fork = leaves('fork', 12)
    const r3 = await add(9, await consistencyProof(9, 12, hasher(fork)), await note(fork))
    expect(r3.status).toBe(422)
  })

  it('compare-and-swap: of two forks submitted at once from the same old size, exactly one is cosigned', async () => {
    const base = leaves('a', 9)
    const x = base.concat(leaves('x', 14).slice(9))
    const y = base.concat(leaves('y', 14).slice(9))
    const [rx, ry] = await Promise.all([add(9, await consistencyProof(9, 14, hasher(x)), await note(x)), add(9, await consistencyProof(9, 14, hasher(y)), await note(y))])
    expect([rx.status, ry.status].sort()).toEqual([200, 409])
    const loser = rx.status === 409 ? rx : ry
    expect(await loser.text()).toBe('14\n')
    // After a restart (fresh env, same D1) the record holds: the loser's fork is still refused.
    const winner = rx.status === 200 ? x : y
    const loserLeaves = rx.status === 200 ? y : x
    expect((await add(14, [], await note(loserLeaves))).status).toBe(422)
    expect((await add(14, [], await note(winner))).status).toBe(200)
  })

  it('answers 404 for an unknown origin, 403 for a checkpoint not signed by the log key, 400 for malformed requests, 413 for a large one', async () => {
    const a = leaves('a', 3)
    const unknown = await add(0, [], await note(a, 'other.example/vouch-log'))
    expect([unknown.status, await errorCode(unknown)]).toEqual([404, 'unknown_log'])
    const forged = await add(0, [], await note(a, ORIGIN, strangerKey))
    expect([forged.status, await errorCode(forged)]).toEqual([403, 'bad_log_signature'])
    // A line naming the log key whose signature fails makes the note malformed: 403 even beside a good one.
    const good = await note(leaves('a', 14))
    const [line] = good.split('\n— ')[1]!.split('\n')
    const broken = good + '— ' + line!.slice(0, -6) + 'AAAAA=\n'
    expect((await add(14, [], broken)).status).toBe(403)
    for (const body of ['old 01\n\n' + good, 'old 5\n' + good, 'new 0\n\n' + good, 'old 0\nnot-a-hash\n\n' + good, `old 0\n${`${base64.encode(new Uint8Array(32))}\n`.repeat(64)}\n${good}`, 'old 0\n\nnot a note\n']) {
      const r = await call('/v1/witness/add-checkpoint', { method: 'POST', body })
      expect(r.status, body.slice(0, 30)).toBe(400)
    }
    const tooOld = await add(20, [], good)
    expect([tooOld.status, await errorCode(tooOld)]).toEqual([400, 'bad_old_size'])
    const big = await call('/v1/witness/add-checkpoint', { method: 'POST', body: 'x'.repeat(70_000) })
    expect(big.status).toBe(413)
  })

  it('hostile submitters: the size limit at its boundary, many signature lines, huge sizes and bad UTF-8 cost little and store nothing', async () => {
    await env.DB.prepare('DELETE FROM witness_state').run()
    const rows = async () => (await env.DB.prepare('SELECT count(*) AS n FROM witness_state').first<{ n: number }>())!.n
    const post = (body: BodyInit) => call('/v1/witness/add-checkpoint', { method: 'POST', body })
    const good = await note(leaves('a', 14))
    const [line] = good.split('\n— ')[1]!.split('\n')
    // 64 KiB exactly is read and parsed (a 400 about its shape); one byte more is 413 before parsing.
    const pad = (n: number) => `old 0\n\n${'x'.repeat(n - 7)}`
    const atLimit = await post(pad(64 * 1024))
    expect([atLimit.status, await errorCode(atLimit)]).toEqual([400, 'bad_request'])
    const over = await post(pad(64 * 1024 + 1))
    expect([over.status, await errorCode(over)]).toEqual([413, 'body_too_large'])
    // Lines naming the log key with signatures that fail: each would be an Ed25519 check. At most
    // 100 signature lines (Go's note.Open), and the witness stops at the first failure.
    const forged = (i: number) => `— ${line!.split(' ')[0]} ${base64.encode(new Uint8Array([...base64.decode(line!.split(' ')[1]!).slice(0, 4), ...new Uint8Array(64).fill(i % 256)]))}\n`
    const body = good.slice(0, good.indexOf('\n— ') + 1)
    const many = (n: number) => body + Array.from({ length: n }, (_, i) => forged(i)).join('')
    const hundred = await add(0, [], many(100))
    expect([hundred.status, await errorCode(hundred)]).toEqual([403, 'bad_log_signature'])
    const tooMany = await add(0, [], many(101))
    expect([tooMany.status, await errorCode(tooMany)]).toEqual([400, 'bad_request'])
    // The log's one valid line repeated is checked once and still cosigned, up to the same 100 lines.
    const repeated = (n: number) => body + `— ${line}\n`.repeat(n)
    expect((await add(0, [], repeated(101))).status).toBe(400)
    expect(await rows()).toBe(0)
    // Sizes past 2^53 (up to 2^63 and beyond) are not numbers this witness can hold: 400, never a wrap.
    for (const old of ['9007199254740993', '9223372036854775807', '18446744073709551616']) {
      const r = await post(`old ${old}\n\n${good}`)
      expect([r.status, await errorCode(r)], old).toEqual([400, 'bad_request'])
    }
    const huge = await signNote(`${ORIGIN}\n9223372036854775807\n${base64.encode(new Uint8Array(32))}\n`, ORIGIN, logKey.publicKey, logKey.secretKey)
    const hugeSize = await add(0, [], huge)
    expect([hugeSize.status, await errorCode(hugeSize)]).toEqual([400, 'bad_checkpoint'])
    const latin1 = await post(new Uint8Array([...utf8('old 0\n\n'), 0xff, 0xfe, ...utf8(good)]))
    expect([latin1.status, await errorCode(latin1)]).toEqual([400, 'invalid_utf8'])
    expect(await rows()).toBe(0)
    const ok = await add(0, [], repeated(100))
    expect(ok.status).toBe(200)
    expect(await rows()).toBe(1)
  })

  it('a checkpoint of size 0 must carry the empty root (422)', async () => {
    const origin = 'log.example/vouch-log'
    const zero = await signNote(formatCheckpoint({ origin, size: 0, root: new Uint8Array(32).fill(1) }), origin, logKey.publicKey, logKey.secretKey)
    await env.DB.prepare('DELETE FROM witness_state').run()
    expect((await add(0, [], zero)).status).toBe(422)
    const empty = await signNote(formatCheckpoint({ origin, size: 0, root: emptyRoot() }), origin, logKey.publicKey, logKey.secretKey)
    expect((await add(0, [], empty)).status).toBe(200)
    expect((await add(0, [base64.decode(base64.encode(new Uint8Array(32)))], await note(leaves('a', 2)))).status).toBe(422)
  })

  it('is off with WITNESS=off (404 no_witness, no witness in /.well-known/vouch)', async () => {
    const r = await add(0, [], await note(leaves('a', 1)), { WITNESS: 'off' })
    expect([r.status, await errorCode(r)]).toEqual([404, 'no_witness'])
    expect(((await (await call('/.well-known/vouch', undefined, { WITNESS: 'off' })).json()) as { witness: unknown }).witness).toBeNull()
    expect((await call('/.well-known/vouch', undefined, { WITNESS: 'maybe' })).status).toBe(500)
  })
})
