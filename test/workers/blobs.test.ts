import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { formatSri, hex, sha256, type Digest } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

const BASE = 'http://relay.test'
const TOKEN = 'test-admin-token'

const bytesOf = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)
const hexName = (d: Digest) => `${d.alg}:${hex.encode(d.bytes)}`

/** Publishes a statement naming the hash, so the relay admits the blob. */
async function admit(d: Digest) {
  const s = await makeStatement(await testKey(5), { subject: `pkg:generic/blob-${hex.encode(d.bytes).slice(0, 8)}@1`, object: formatSri(d), time: Date.now() })
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(s), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
}
const put = (name: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  SELF.fetch(`${BASE}/v1/blobs/${name}`, { method: 'PUT', body, headers: { 'content-length': String(body.length), ...headers } })
const r2Keys = async () => (await env.BLOBS.list()).objects.map((o) => o.key)

function expectBlobHeaders(res: Response, d: Digest) {
  expect(res.headers.get('content-type')).toBe('application/octet-stream')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('content-disposition')).toBe('attachment')
  expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
  expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  expect(res.headers.get('etag')).toBe(`"${formatSri(d)}"`)
  expect(res.headers.get('accept-ranges')).toBe('bytes')
}

describe('blobs', () => {
  it('round trip: upload an admitted blob, download the same bytes with the right headers', async () => {
    const data = bytesOf(100_000)
    const d = await sha256(data)
    await admit(d)
    const up = await put(encodeURIComponent(formatSri(d)), data)
    expect(up.status).toBe(201)
    expect(await up.json()).toEqual({ hash: formatSri(d), size: data.length, status: 'stored' })
    for (const name of [encodeURIComponent(formatSri(d)), hexName(d)]) {
      const res = await SELF.fetch(`${BASE}/v1/blobs/${name}`)
      expect(res.status).toBe(200)
      expectBlobHeaders(res, d)
      expect(res.headers.get('content-length')).toBe(String(data.length))
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(data)
    }
    const head = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expectBlobHeaders(head, d)
    expect(head.headers.get('content-length')).toBe(String(data.length))
    // Uploading again is idempotent.
    expect((await put(hexName(d), data)).status).toBe(200)
  })

  it('refuses bytes that do not match their name with 422, and R2 keeps nothing', async () => {
    const data = bytesOf(50_000, 2)
    const d = await sha256(data)
    await admit(d)
    const before = await r2Keys()
    const wrong = data.slice()
    wrong[12_345] = wrong[12_345]! ^ 1
    const res = await put(hexName(d), wrong)
    expect(res.status).toBe(422)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('hash_mismatch')
    expect(await r2Keys()).toEqual(before)
    expect(await env.BLOBS.head(`blobs/sha256/${hex.encode(d.bytes)}`)).toBeNull()
    expect((await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`)).status).toBe(404)
  })

  it('admits only hashes named by a statement, unless the operator uploads', async () => {
    const data = bytesOf(1000, 3)
    const d = await sha256(data)
    const refused = await put(hexName(d), data)
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('not_admitted')
    expect(await env.BLOBS.head(`blobs/sha256/${hex.encode(d.bytes)}`)).toBeNull()
    expect((await put(hexName(d), data, { authorization: 'Bearer wrong' })).status).toBe(403)
    expect((await put(hexName(d), data, { authorization: `Bearer ${TOKEN}` })).status).toBe(201)
  })

  it('refuses malformed names with 400 before touching storage', async () => {
    for (const name of ['..%2F..%2Fx', 'sha256-short', 'sha1:' + '00'.repeat(20), 'md5:' + '00'.repeat(16), `sha256:${'0'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, '%00']) {
      const res = await SELF.fetch(`${BASE}/v1/blobs/${name}`)
      expect(res.status, name).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_hash')
    }
  })

  it('requires Content-Length and refuses blobs over the limit with 413', async () => {
    const d = await sha256(bytesOf(10))
    await admit(d)
    const noLength = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, {
      method: 'PUT',
      body: new ReadableStream({ start(c) { c.enqueue(bytesOf(10)); c.close() } }),
    })
    expect(noLength.status).toBe(411)
    const tooBig = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { method: 'PUT', headers: { 'content-length': String(100 * 1024 * 1024 + 1) }, body: bytesOf(10) })
    expect([413]).toContain(tooBig.status)
  })

  it('serves byte ranges at the boundaries (206), and 416 beyond the end', async () => {
    const data = bytesOf(1000, 4)
    const d = await sha256(data)
    await admit(d)
    await put(hexName(d), data)
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 1],
      ['bytes=0-999', 0, 1000],
      ['bytes=999-999', 999, 1],
      ['bytes=500-', 500, 500],
      ['bytes=-1', 999, 1],
      ['bytes=-1000', 0, 1000],
      ['bytes=-5000', 0, 1000],
      ['bytes=990-5000', 990, 10],
    ]
    for (const [range, offset, length] of cases) {
      const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { headers: { range } })
      expect(res.status, range).toBe(206)
      expect(res.headers.get('content-range'), range).toBe(`bytes ${offset}-${offset + length - 1}/1000`)
      expect(res.headers.get('content-length'), range).toBe(String(length))
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(data.slice(offset, offset + length))
      expectBlobHeaders(res, d)
    }
    for (const range of ['bytes=1000-', 'bytes=1000-1001', 'bytes=-0', 'bytes=5-4']) {
      const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { headers: { range } })
      expect(res.status, range).toBe(416)
      expect(res.headers.get('content-range')).toBe('bytes */1000')
    }
    const notModified = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { headers: { 'if-none-match': `"${formatSri(d)}"` } })
    expect(notModified.status).toBe(304)
  })

  it('concurrent uploads of the same blob all succeed and store it once', async () => {
    const data = bytesOf(200_000, 6)
    const d = await sha256(data)
    await admit(d)
    const results = await Promise.all(Array.from({ length: 5 }, () => put(hexName(d), data)))
    for (const r of results) expect([200, 201]).toContain(r.status)
    const keys = (await r2Keys()).filter((k) => k.endsWith(hex.encode(d.bytes)))
    expect(keys).toHaveLength(1)
    const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data)
  })

  it('stores an empty blob under the empty-string hash only', async () => {
    const d = await sha256(new Uint8Array())
    const res = await put(hexName(d), new Uint8Array(), { authorization: `Bearer ${TOKEN}` })
    expect(res.status).toBe(201)
    const got = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`)
    expect(got.status).toBe(200)
    expect((await got.arrayBuffer()).byteLength).toBe(0)
  })
})
