import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { base64url, formatSri, hex, sha256, utf8, verifyStatement, type Digest } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Hostile uploaders against PUT /v1/blobs with its statement (PROTOCOL §6.8): a body that stops
 * half-way, a body shorter or longer than declared. Each must end in a 4xx JSON error and leave
 * neither the statement nor the blob, nor hold the request open.
 */
const BASE = 'http://relay.test'
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 151 + seed * 29) & 0xff)
let counter = 0
async function claimFor(d: Digest) {
  const s = await makeStatement(await testKey(23), { subject: `pkg:generic/hostile-${++counter}@1.0.0`, object: formatSri(d), time: Date.now() })
  const v = await verifyStatement(s, { now: Date.now() })
  return { id: v.id, header: base64url.encode(utf8(v.canonical)) }
}
const statementHeld = async (id: string) => (await SELF.fetch(`${BASE}/v1/statements/${encodeURIComponent(id)}`)).status === 200
const blobHeld = async (d: Digest) => (await env.BLOBS.head(`blobs/${d.alg}/${hex.encode(d.bytes)}`)) !== null

/** A body that sends `bytes`, then fails (the connection dropped) instead of ending. */
function breaking(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false
  return new ReadableStream({
    pull(c) {
      if (!sent) return (sent = true), c.enqueue(bytes)
      c.error(new Error('connection reset'))
    },
  })
}

describe('uploads that stop half-way', () => {
  it('a body that breaks after half its bytes: a 4xx JSON error, and neither the statement nor the blob is kept', async () => {
    const data = bytesOf(100_000, 1)
    const d = await sha256(data)
    const c = await claimFor(d)
    const res = await SELF.fetch(`${BASE}/v1/blobs/sha256:${hex.encode(d.bytes)}`, {
      method: 'PUT',
      // Of known length, as a request body arriving with Content-Length is at the edge.
      body: breaking(data.slice(0, 50_000)).pipeThrough(new FixedLengthStream(data.length)),
      headers: { 'content-length': String(data.length), 'vouch-statement': c.header },
      // @ts-expect-error Node's and workerd's fetch need this for a stream body
      duplex: 'half',
    })
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, 'body_incomplete'])
    expect(await statementHeld(c.id)).toBe(false)
    expect(await blobHeld(d)).toBe(false)
  })

  it('a body shorter than its Content-Length: 4xx, nothing kept', async () => {
    const data = bytesOf(10_000, 2)
    const d = await sha256(data)
    const c = await claimFor(d)
    const res = await SELF.fetch(`${BASE}/v1/blobs/sha256:${hex.encode(d.bytes)}`, {
      method: 'PUT',
      body: new Blob([data.slice(0, 5_000)]).stream().pipeThrough(new FixedLengthStream(data.length)),
      headers: { 'content-length': String(data.length), 'vouch-statement': c.header },
      // @ts-expect-error as above
      duplex: 'half',
    })
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, 'body_incomplete'])
    expect(await statementHeld(c.id)).toBe(false)
    expect(await blobHeld(d)).toBe(false)
  })
})
