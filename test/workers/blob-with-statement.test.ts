import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { base64url, formatSri, hex, sha256, utf8, verifyStatement, type Digest } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'
import vector from '../vectors/upload/with-statement.json'

/** PROTOCOL §6.8: an upload that carries its statement stores both or neither. */
const BASE = 'http://relay.test'
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17) & 0xff)
const hexName = (d: Digest) => `${d.alg}:${hex.encode(d.bytes)}`

let counter = 0
async function claimFor(d: Digest, o: { key?: number; object?: string } = {}) {
  const s = await makeStatement(await testKey(o.key ?? 21), { subject: `pkg:generic/atomic-${++counter}@1.0.0`, object: o.object ?? formatSri(d), time: Date.now() })
  const v = await verifyStatement(s, { now: Date.now() })
  return { statement: s, id: v.id, header: base64url.encode(utf8(v.canonical)) }
}
const put = (d: Digest, body: Uint8Array, header: string, extra: Record<string, string> = {}) =>
  SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { method: 'PUT', body, headers: { 'content-length': String(body.length), 'vouch-statement': header, ...extra } })
const statementHeld = async (id: string) => (await SELF.fetch(`${BASE}/v1/statements/${encodeURIComponent(id)}`)).status === 200
const blobHeld = async (d: Digest) => (await env.BLOBS.head(`blobs/${d.alg}/${hex.encode(d.bytes)}`)) !== null

describe('PUT /v1/blobs/{hash} with the statement that names it', () => {
  it('stores the statement and the blob together (201), and again is 200 exists + duplicate', async () => {
    const data = bytesOf(70_000, 1)
    const d = await sha256(data)
    const c = await claimFor(d)
    const res = await put(d, data, c.header)
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ hash: formatSri(d), size: data.length, status: 'stored', statement: { id: c.id, status: 'accepted' } })
    expect(await statementHeld(c.id)).toBe(true)
    const back = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`)
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(data)
    const again = await put(d, data, c.header)
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ status: 'exists', statement: { id: c.id, status: 'duplicate' } })
  })

  it('bytes that do not hash to the name: 422 hash_mismatch, and neither the statement nor the blob is stored', async () => {
    const data = bytesOf(40_000, 2)
    const d = await sha256(data)
    const c = await claimFor(d)
    const wrong = data.slice()
    wrong[123] = wrong[123]! ^ 1
    const res = await put(d, wrong, c.header)
    expect(res.status).toBe(422)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('hash_mismatch')
    expect(await statementHeld(c.id)).toBe(false)
    expect(await blobHeld(d)).toBe(false)
  })

  it('content over the relay limit: 413 before reading, no statement', async () => {
    const d = await sha256(bytesOf(10, 3))
    const c = await claimFor(d)
    const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { method: 'PUT', body: bytesOf(10, 3), headers: { 'content-length': String(100 * 1024 * 1024 + 1), 'vouch-statement': c.header } })
    expect(res.status).toBe(413)
    expect(await statementHeld(c.id)).toBe(false)
    expect(await blobHeld(d)).toBe(false)
  })

  it('a badly signed statement: 422 bad_signature, the content is not stored', async () => {
    const data = bytesOf(1000, 4)
    const d = await sha256(data)
    const c = await claimFor(d)
    const forged = { ...c.statement, subject: 'pkg:generic/forged@1.0.0' }
    const header = base64url.encode(utf8(JSON.stringify(Object.fromEntries(Object.entries(forged).sort(([a], [b]) => (a < b ? -1 : 1))))))
    const res = await put(d, data, header)
    expect(res.status).toBe(422)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_signature')
    expect(await blobHeld(d)).toBe(false)
  })

  it('a statement that does not name the blob, or a malformed header: 400, nothing stored', async () => {
    const data = bytesOf(1000, 5)
    const d = await sha256(data)
    const other = await claimFor(d, { object: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' })
    const mismatch = await put(d, data, other.header)
    expect(mismatch.status).toBe(400)
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe('statement_mismatch')
    for (const header of ['not base64url!', base64url.encode(utf8('{"v":1,')), 'A'.repeat(Math.ceil((4096 * 4) / 3) + 1), base64url.encode(utf8('[1,2]'))]) {
      const res = await put(d, data, header)
      expect(res.status, header.slice(0, 20)).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^(bad_statement_header|statement_mismatch)$/)
    }
    expect(await statementHeld(other.id)).toBe(false)
    expect(await blobHeld(d)).toBe(false)
  })

  it('the test vector (test/vectors/upload/with-statement.json) gives the answer it names', async () => {
    const body = hex.decode(vector.content_hex)
    const res = await SELF.fetch(`${BASE}/v1/blobs/${vector.path}`, { method: 'PUT', body, headers: { 'content-length': String(body.length), 'vouch-statement': vector.header } })
    expect(res.status).toBe(vector.response.status)
    expect(await res.json()).toEqual(vector.response.body)
    expect(base64url.encode(utf8(vector.canonical))).toBe(vector.header)
    expect(await statementHeld(vector.id)).toBe(true)
  })
})
