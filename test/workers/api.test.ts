import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { hex, LIMITS, parseSri, type Statement } from '../../src/verify/index.ts'
import { HASH_A, makeStatement, testKey } from '../helpers.ts'

const BASE = 'http://relay.test'
const post = (body: string, headers: Record<string, string> = {}) =>
  SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })
const postJson = (value: unknown) => post(JSON.stringify(value))
const get = (path: string) => SELF.fetch(`${BASE}${path}`)
const rowCount = async () => (await env.DB.prepare('SELECT count(*) AS n FROM statements').first<number>('n')) ?? 0

type ErrorBody = { error: { code: string; message: string } }

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await res.json()) as ErrorBody
  expect(body.error.code).toBe(code)
  expect(body.error.message.length).toBeGreaterThan(0)
  return body
}

let serial = 0
/** Statements dated "now" so the relay's clock accepts them. */
async function fresh(n = 1, keyNo = 1, fields: Partial<Statement> = {}) {
  const key = await testKey(keyNo)
  const out: Statement[] = []
  for (let i = 0; i < n; i++) {
    out.push(await makeStatement(key, { subject: `pkg:generic/lib${serial++}@1.0.0`, time: Date.now(), ...fields }))
  }
  return out
}

describe('POST /v1/statements', () => {
  it('accepts one statement, stores it, and serves it back byte-identical by id', async () => {
    const [s] = await fresh()
    const res = await postJson(s)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { accepted: number; results: { id: string; status: string }[] }
    expect(body.accepted).toBe(1)
    const id = body.results[0]!.id
    expect(body.results[0]!.status).toBe('accepted')
    const got = await get(`/v1/statements/${encodeURIComponent(id)}`)
    expect(got.status).toBe(200)
    expect(await got.json()).toEqual(s)
    expect(got.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  it('is idempotent: the same statement again is a duplicate and stored once', async () => {
    const [s] = await fresh()
    await postJson(s)
    const before = await rowCount()
    const res = await postJson([s, s])
    const body = (await res.json()) as { accepted: number; duplicate: number; results: { status: string }[] }
    expect(res.status).toBe(200)
    expect(body.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate'])
    expect(await rowCount()).toBe(before)
  })

  it('answers per item in a mixed batch and stores only the good ones', async () => {
    const good = await fresh(2)
    const bad = { ...good[0]!, subject: 'pkg:generic/tampered@1.0.0' }
    const before = await rowCount()
    const res = await postJson([good[0], bad, good[1], good[0]])
    expect(res.status).toBe(200)
    const body = (await res.json()) as { accepted: number; duplicate: number; rejected: number; results: { index: number; status: string; error?: { code: string } }[] }
    expect(body.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted', 'duplicate'])
    expect(body.results[1]!.error!.code).toBe('bad_signature')
    expect([body.accepted, body.duplicate, body.rejected]).toEqual([2, 1, 1])
    expect(await rowCount()).toBe(before + 2)
  })

  it('takes a full batch of the maximum size in one request', async () => {
    const batch = await fresh(LIMITS.batchItems, 7)
    const before = await rowCount()
    const res = await postJson(batch)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { accepted: number }).accepted).toBe(LIMITS.batchItems)
    expect(await rowCount()).toBe(before + LIMITS.batchItems)
  })
})

describe('bad input: a clear 4xx JSON error and nothing stored', () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    ['malformed JSON', () => post('{"v":1,'), 400, 'malformed_json'],
    ['truncated JSON', async () => post(JSON.stringify((await fresh())[0]).slice(0, -5)), 400, 'malformed_json'],
    ['trailing garbage', async () => post(`${JSON.stringify((await fresh())[0])} x`), 400, 'malformed_json'],
    ['duplicate keys', async () => post(JSON.stringify((await fresh())[0]).replace('{', '{"claim":"x",')), 400, 'duplicate_key'],
    ['an integer beyond 2^53', () => post('{"v":1,"time":9007199254740993}'), 400, 'number_out_of_range'],
    ['deep nesting', () => post('['.repeat(100_000)), 400, 'too_deep'],
    ['not UTF-8', () => SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: new Uint8Array([0x7b, 0xff, 0x7d]), headers: { 'content-type': 'application/json' } }), 400, 'invalid_utf8'],
    ['a byte order mark (PROTOCOL §4)', () => SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: new Uint8Array([0xef, 0xbb, 0xbf, 0x5b, 0x5d]), headers: { 'content-type': 'application/json' } }), 400, 'invalid_utf8'],
    ['a lone surrogate', () => post('{"v":1,"subject":"\\ud800"}'), 400, 'invalid_unicode'],
    ['wrong content type', async () => post(JSON.stringify((await fresh())[0]), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
    ['no content type', () => SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: '{}' }), 415, 'unsupported_media_type'],
    ['an empty body', () => post(''), 400, 'empty_body'],
    ['an empty batch', () => post('[]'), 400, 'empty_batch'],
    ['a wrong type (a string)', () => post('"hello"'), 422, 'not_object'],
    ['an unknown version', async () => postJson({ ...(await fresh())[0], v: 2 }), 422, 'unsupported_version'],
    ['an unknown field', async () => postJson({ ...(await fresh())[0], extra: 1 }), 422, 'unknown_field'],
    ['a missing signature', async () => { const { sig: _, ...rest } = (await fresh())[0]!; return postJson(rest) }, 422, 'missing_field'],
    ['a bad signature', async () => postJson({ ...(await fresh())[0], object: HASH_A.replace('47', '48') }), 422, 'bad_signature'],
    ['a wrong-typed time', async () => postJson({ ...(await fresh())[0], time: '1' }), 422, 'bad_time'],
    ['a statement from the future', async () => postJson((await fresh(1, 1, { time: Date.now() + LIMITS.futureSkewMs + 60_000 }))[0]), 422, 'future_time'],
  ]
  for (const [name, send, status, code] of cases) {
    it(`refuses ${name} with ${status} ${code}`, async () => {
      const before = await rowCount()
      await expectError(await send(), status, code)
      expect(await rowCount()).toBe(before)
    })
  }

  it('refuses a declared Content-Length over the limit with 413 before reading', async () => {
    const res = await SELF.fetch(`${BASE}/v1/statements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(LIMITS.bodyBytes + 1) },
      body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('[')); c.close() } }),
      // @ts-expect-error workerd accepts duplex for streamed bodies
      duplex: 'half',
    })
    await expectError(res, 413, 'body_too_large')
  })

  it('refuses a streamed body that grows past the limit (no length declared) with 413, storing nothing', async () => {
    // The rest of such a body is read and discarded (bounded by DRAIN_MAX_BYTES), never buffered:
    // cancelling a half-read body stalls wrangler dev's proxy (test/node/gossip.test.ts checks that).
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024))
    let sent = 0
    const body = new ReadableStream({
      pull(c) {
        if (sent > LIMITS.bodyBytes * 4) return c.close()
        sent += chunk.length
        c.enqueue(chunk)
      },
    })
    const before = await rowCount()
    const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    await expectError(res, 413, 'body_too_large')
    expect(await rowCount()).toBe(before)
  })

  it('a body exactly at the byte limit is read (then judged on its content)', async () => {
    const s = JSON.stringify((await fresh())[0])
    const padded = s + ' '.repeat(LIMITS.bodyBytes - new TextEncoder().encode(s).length)
    const res = await post(padded)
    expect(res.status).toBe(200)
  })

  it(`refuses a batch of ${LIMITS.batchItems + 1} items with 413 too_many_items`, async () => {
    const batch = await fresh(LIMITS.batchItems + 1, 8)
    const before = await rowCount()
    await expectError(await postJson(batch), 413, 'too_many_items')
    expect(await rowCount()).toBe(before)
  })

  it('answers 404 JSON for an unknown route and 400 for a malformed id', async () => {
    await expectError(await get('/v1/nothing'), 404, 'not_found')
    await expectError(await get('/v1/statements/..%2F..%2Fetc'), 400, 'bad_id')
    await expectError(await get('/v1/statements/sha256-short'), 400, 'bad_id')
  })
})

describe('GET /v1/statements/:id', () => {
  it('accepts every documented id form: percent-encoded SRI, base64url, hex', async () => {
    const [s] = await fresh()
    const { results } = (await (await postJson(s)).json()) as { results: { id: string }[] }
    const id = results[0]!.id
    const d = parseSri(id)!
    const b64url = id.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    for (const form of [encodeURIComponent(id), b64url, `sha256:${hex.encode(d.bytes)}`]) {
      const res = await get(`/v1/statements/${form}`)
      expect(res.status, form).toBe(200)
      expect(await res.json()).toEqual(s)
    }
  })

  it('404s an id the relay does not hold, and fills the KV cache on a hit', async () => {
    await expectError(await get(`/v1/statements/sha256:${'00'.repeat(32)}`), 404, 'not_found')
    const [s] = await fresh()
    const { results } = (await (await postJson(s)).json()) as { results: { id: string }[] }
    const id = results[0]!.id
    expect(await env.CACHE.get(`st:${id}`)).toBeNull()
    await get(`/v1/statements/${encodeURIComponent(id)}`)
    await expect.poll(() => env.CACHE.get(`st:${id}`)).toBe(JSON.stringify(JSON.parse(await (await get(`/v1/statements/${encodeURIComponent(id)}`)).text())))
  })
})
