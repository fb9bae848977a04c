import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import {
  ClientError,
  createStatement,
  fetchBlob,
  fetchBlobTo,
  getStatement,
  hasBlob,
  keySigner,
  liveClaims,
  packageSubject,
  publish,
  query,
  sign,
  uploadBlob,
  type Signer,
} from '../../src/client/index.ts'
import { ProtocolError, statementId, verifyStatement, type Statement } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

type Net = Awaited<ReturnType<typeof startNetwork>>
const sri = (b: Uint8Array) => `sha256-${createHash('sha256').update(b).digest('base64')}`
let serial = 0
const uniq = () => `pkg:generic/client-test-${process.pid}-${serial++}@1.0.0`

describe('signing (no network)', () => {
  it('property: every statement the client signs verifies with the relay module, with the same id', async () => {
    const key = await testKey(41)
    const signer = keySigner(key)
    const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s) && !/^(sha1|sha256|sha384|sha512)[-:]/.test(s) && !s.startsWith('did:') && s.isWellFormed())
    const meta = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }), { nil: undefined })
    await fc.assert(
      fc.asyncProperty(text, fc.stringMatching(/^[a-z][a-z0-9._:/-]{0,20}$/), fc.option(text, { nil: undefined }), fc.boolean(), fc.integer({ min: 0, max: Date.now() }), meta, async (subject, claim, object, not, time, m) => {
        const signed = await sign(createStatement({ actor: signer.did, subject, claim, object, not, time, meta: m }), signer)
        const again = await verifyStatement(JSON.parse(JSON.stringify(signed.statement)), { now: Date.now() })
        expect(again.id).toBe(signed.id)
        expect(await statementId(signed.statement)).toBe(signed.id)
        expect(signed.statement.not).toBe(not ? true : undefined)
        // Any change to a signed field breaks the signature.
        await expect(verifyStatement({ ...signed.statement, time: time + 1 }, { now: Date.now() + 10 })).rejects.toMatchObject({ code: 'bad_signature' })
      }),
      { numRuns: 150 },
    )
  })

  it('refuses bad input at the door, with the code a relay would give', async () => {
    const key = await testKey(41)
    expect(() => createStatement({ actor: keySigner(key).did, subject: 'x', claim: 'Bad' })).toThrow(ProtocolError)
    expect(() => createStatement({ actor: keySigner(key).did, subject: 'sha256:abc', claim: 'x' })).toThrow(expect.objectContaining({ code: 'bad_hash' }))
    const other = await testKey(42)
    await expect(sign(createStatement({ actor: keySigner(other).did, subject: 'x', claim: 'y' }), key)).rejects.toThrow(RangeError)
    // A signer that returns a wrong signature (a confused agent) is caught before anything is sent.
    const liar: Signer = { did: keySigner(key).did, sign: async () => new Uint8Array(64).fill(7) }
    await expect(sign(createStatement({ actor: liar.did, subject: 'x', claim: 'y' }), liar)).rejects.toMatchObject({ code: 'bad_signature' })
  })

  it('package names and withdrawn claims', async () => {
    expect(packageSubject('mylib@1.2.3')).toBe('pkg:generic/mylib@1.2.3')
    expect(packageSubject('a+b@1.0+build', 'required')).toBe('pkg:generic/a%2Bb@1.0%2Bbuild')
    expect(packageSubject('pkg:npm/%40scope/name@1.0.0', 'required')).toBe('pkg:npm/%40scope/name@1.0.0')
    expect(() => packageSubject('mylib', 'required')).toThrow(RangeError)
    expect(() => packageSubject('mylib@1', 'forbidden')).toThrow(RangeError)
    const k = keySigner(await testKey(43))
    const at = (time: number, not = false, object = 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=') => sign(createStatement({ actor: k.did, subject: 'pkg:generic/x@1', claim: 'source', object, time, not }), k)
    const [a, yank, b] = await Promise.all([at(1), at(2, true), at(3)])
    expect(liveClaims([a!, yank!])).toEqual([])
    expect(liveClaims([a!, yank!, b!]).map((c) => c.ids)).toEqual([[b!.id]]) // re-published after the yank
  })
})

describe('against two local relays', { timeout: 30_000 }, () => {
  let net: Net
  let relays: string[]
  let fake: Server
  let fakeUrl = ''
  let signer: Signer
  /** What the impersonating relay serves. */
  const lies: { statements: unknown[]; blob: Buffer; hang: boolean } = { statements: [], blob: Buffer.alloc(0), hang: false }

  beforeAll(async () => {
    signer = keySigner(await testKey(44))
    fake = createServer((req, res) => {
      const url = req.url ?? ''
      if (lies.hang) return // never answers
      if (url.startsWith('/redirect')) return res.writeHead(307, { location: 'http://127.0.0.1:1/' }).end()
      if (url.startsWith('/huge/')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(Buffer.alloc(5 * 1024 * 1024, 0x20))
      }
      if (url.startsWith('/v1/statements?')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statements: lies.statements, cursor: null }))
      if (url.startsWith('/v1/statements/')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(lies.statements[0]))
      if (url.startsWith('/v1/blobs/')) return res.writeHead(200, { 'content-length': lies.blob.length }).end(lies.blob)
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}')
    })
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r))
    fakeUrl = `http://127.0.0.1:${(fake.address() as { port: number }).port}`
    net = await startNetwork({ relays: 2, topology: 'line' })
    relays = net.relays.map((r) => r.url)
  }, 120_000)
  afterAll(async () => {
    await net?.stop()
    fake?.closeAllConnections()
    fake?.close()
  })

  it('publish → query → getStatement → upload → fetchBlob', async () => {
    const subject = uniq()
    const bytes = randomBytes(200_000)
    const hash = sri(bytes)
    const s = await sign(createStatement({ actor: signer.did, subject, claim: 'source', object: hash }), signer)
    // Asked before the statement exists (after it, a relay lacking the blob first asks its peers).
    expect((await hasBlob(relays, hash)).map((p) => p.present)).toEqual([false, false])
    const pub = await publish(relays, [s])
    expect(pub.ids).toEqual([s.id])
    expect(pub.took).toBe(2)
    expect(pub.relays.map((r) => r.results?.[0]?.status)).toEqual(['accepted', 'accepted'])
    expect((await publish(relays, [s.statement])).relays.map((r) => r.results?.[0]?.status)).toEqual(['duplicate', 'duplicate'])

    const q = await query(relays, { subject, claim: 'source' })
    expect(q.statements.map((x) => x.id)).toEqual([s.id]) // merged: one statement, two relays
    expect(q.statements[0]!.relays.sort()).toEqual([...relays].sort())
    expect(q.relays.every((r) => r.ok && r.received === 1)).toBe(true)
    // Hashes in any form are canonicalised before the query.
    const hex = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    expect((await query(relays, { object: hex })).statements.map((x) => x.id)).toEqual([s.id])

    const got = await getStatement(relays, s.id)
    expect(got.statement).toEqual(s.statement)

    const up = await uploadBlob(relays, hash, bytes, { unchecked: true })
    expect(up.map((u) => u.status)).toEqual(['stored', 'stored'])
    expect((await uploadBlob(relays, hash, bytes)).map((u) => u.status)).toEqual(['exists', 'exists'])
    expect(Buffer.from(await fetchBlob(relays, hex)).equals(bytes)).toBe(true)
  })

  it('a relay serving a tampered statement or wrong blob bytes is reported and its answer dropped', async () => {
    const subject = uniq()
    const bytes = randomBytes(1000)
    const good = await sign(createStatement({ actor: signer.did, subject, claim: 'source', object: sri(bytes) }), signer)
    await publish(relays, [good])
    await uploadBlob(relays, sri(bytes), bytes, { unchecked: true })
    const other = await sign(createStatement({ actor: signer.did, subject: `${subject}-other`, claim: 'source', object: sri(bytes) }), signer)
    const tampered: Statement = { ...other.statement, subject } // signed for another subject
    lies.statements = [tampered, other.statement, good.statement]

    const q = await query([fakeUrl, relays[0]!], { subject })
    expect(q.statements.map((x) => x.id)).toEqual([good.id])
    const liar = q.relays.find((r) => r.relay === fakeUrl)!
    expect(liar.ok).toBe(false)
    expect(liar.problem?.kind).toBe('invalid')
    expect(liar.dropped.map((d) => d.code).sort()).toEqual(['bad_signature', 'not_matching'])
    expect(liar.received).toBe(1) // the one good statement it also sent still counts

    lies.statements = [tampered]
    const g = await getStatement([fakeUrl, relays[0]!], good.id)
    expect(g.relay).toBe(relays[0])
    expect(g.relays[0]!.problem?.kind).toBe('invalid')
    await expect(getStatement([fakeUrl], good.id)).rejects.toMatchObject({ code: 'mismatch' })

    lies.blob = Buffer.from(bytes).fill(0, 0, 1)
    const r = await fetchBlobTo([fakeUrl, relays[1]!], sri(bytes), async (chunks) => {
      const parts: Uint8Array[] = []
      for await (const c of chunks) parts.push(c)
      return Buffer.concat(parts)
    })
    expect(r.value.equals(bytes)).toBe(true)
    expect(r.relay).toBe(relays[1])
    expect(r.relays).toMatchObject([{ relay: fakeUrl, ok: false, problem: { kind: 'invalid', code: 'hash_mismatch' } }])
    const err = await fetchBlob([fakeUrl], sri(bytes)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect(err).toMatchObject({ code: 'mismatch' })
    // The consumer saw the bytes only through a stream that threw at its end.
    let sawEnd = false
    await fetchBlobTo([fakeUrl], sri(bytes), async (chunks) => {
      for await (const _ of chunks);
      sawEnd = true
    }).catch(() => {})
    expect(sawEnd).toBe(false)
  })

  it('timeouts, redirects, size caps and AbortSignal', async () => {
    await expect(query([`${fakeUrl}/redirect`], { claim: 'x' })).rejects.toMatchObject({ code: 'unreachable', reports: [{ problem: { code: 'redirect' } }] })
    await expect(query([`${fakeUrl}/huge`], { claim: 'x' })).rejects.toMatchObject({ reports: [{ problem: { code: 'too_large' } }] })
    await expect(fetchBlob([fakeUrl], sri(Buffer.alloc(10)), { maxBytes: 5 }).catch((e) => ((lies.blob = Buffer.alloc(10)), Promise.reject(e)))).rejects.toBeInstanceOf(ClientError)
    lies.blob = Buffer.alloc(10)
    await expect(fetchBlob([fakeUrl], sri(Buffer.alloc(10)), { maxBytes: 5 })).rejects.toMatchObject({ reports: [{ problem: { code: 'too_large' } }] })
    lies.hang = true
    try {
      const t0 = Date.now()
      await expect(getStatement([fakeUrl], 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'unreachable', reports: [{ problem: { code: 'timeout' } }] })
      expect(Date.now() - t0).toBeLessThan(3000)
      const ac = new AbortController()
      setTimeout(() => ac.abort(), 100)
      await expect(fetchBlob([fakeUrl], sri(Buffer.alloc(10)), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' })
      await expect(query([fakeUrl, relays[0]!], { claim: 'x' }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    } finally {
      lies.hang = false
    }
  })

  it('one relay down is a warning, not a failure; a quorum above the live relays fails', async () => {
    const s = await sign(createStatement({ actor: signer.did, subject: uniq(), claim: 'source', object: sri(Buffer.from('q')) }), signer)
    await net.relays[1]!.stop()
    try {
      const r = await publish(relays, [s])
      expect(r.took).toBe(1)
      expect(r.relays[1]).toMatchObject({ ok: false, problem: { kind: 'network' } })
      const q = await query(relays, { subject: s.statement.subject })
      expect(q.statements.map((x) => x.id)).toEqual([s.id])
      const e = await publish(relays, [s], { quorum: 2 }).catch((x: unknown) => x)
      expect(e).toMatchObject({ code: 'quorum' })
      await expect(publish([relays[1]!], [s])).rejects.toMatchObject({ code: 'unreachable' })
    } finally {
      await net.relays[1]!.start()
    }
  }, 60_000)
})
