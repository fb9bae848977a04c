import fc from 'fast-check'
import { parseDictionary, serializeInnerList, type InnerList } from 'structured-headers'
import { describe, expect, it } from 'vitest'
import vector from '../vectors/rfc9421/b26.json'
import {
  base64,
  decodeBase64url,
  encodeDidKey,
  keyPairFromSeed,
  sign,
  signatureBase,
  signatureKeyId,
  signRequest,
  utf8,
  verify,
  verifyRequest,
} from '../../src/verify/index.ts'

const NOW = 1_777_895_712
const key = async (n: number) => {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(n))
  return { ...kp, did: encodeDidKey(kp.publicKey) }
}
const url = 'https://relay-b.example.org/v1/statements?x=1'
const body = utf8('[{"v":1}]')

async function signed(o: { method?: string; url?: string; body?: Uint8Array; created?: number } = {}) {
  const k = await key(7)
  const h = await signRequest({ method: o.method ?? 'POST', url: o.url ?? url, body: 'body' in o ? o.body : body }, k, o.created ?? NOW)
  return { k, headers: new Headers(h) }
}

describe('RFC 9421 HTTP message signatures', () => {
  it('reproduces the RFC 9421 B.2.6 Ed25519 signature byte for byte', async () => {
    const input = parseDictionary(`sig-b26=${vector.signatureParams}`).get('sig-b26') as InnerList
    expect(serializeInnerList(input)).toBe(vector.signatureParams)
    const base = signatureBase(vector.covered as [string, string][], vector.signatureParams)
    const sig = await sign(utf8(base), decodeBase64url(vector.privateKeyD)!)
    expect(base64.encode(sig)).toBe(vector.signature)
    expect(await verify(base64.decode(vector.signature), utf8(base), decodeBase64url(vector.publicKeyX)!)).toBe(true)
  })

  it('a signed request verifies and names its key', async () => {
    const { k, headers } = await signed()
    expect(headers.get('content-digest')).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/)
    expect(headers.get('signature-input')).toBe(
      `vouch=("@method" "@path" "@query" "content-digest");created=${NOW};keyid="${k.did}";alg="ed25519";tag="vouch"`,
    )
    expect(await verifyRequest({ method: 'POST', url, headers, body }, NOW)).toBe(k.did)
  })

  it('a GET without a body is signed over method, path and query only', async () => {
    const { k, headers } = await signed({ method: 'GET', body: undefined, url: 'https://b.example/v1/feed' })
    expect(headers.get('signature-input')).toContain('("@method" "@path" "@query");')
    expect(await verifyRequest({ method: 'GET', url: 'http://127.0.0.1:9/v1/feed', headers }, NOW)).toBe(k.did)
  })

  it('signatureKeyId reads the claimed key without checking anything, and nothing from garbage', async () => {
    const { k, headers } = await signed()
    expect(signatureKeyId(headers)).toBe(k.did)
    expect(signatureKeyId(new Headers())).toBeUndefined()
    expect(signatureKeyId(new Headers({ 'signature-input': 'vouch=((((' }))).toBeUndefined()
    expect(signatureKeyId(new Headers({ 'signature-input': 'other=("@method");keyid="did:key:z6Mk"' }))).toBeUndefined()
  })

  it('an unsigned request is anonymous, not an error', async () => {
    expect(await verifyRequest({ method: 'POST', url, headers: new Headers(), body }, NOW)).toBeUndefined()
    const other = new Headers({ 'signature-input': 'other=("@method");created=1', signature: 'other=:AAAA:' })
    expect(await verifyRequest({ method: 'POST', url, headers: other, body }, NOW)).toBeUndefined()
  })

  const refused: [string, (h: Headers) => { method?: string; url?: string; body?: Uint8Array; now?: number }][] = [
    ['a changed body', () => ({ body: utf8('[{"v":2}]') })],
    ['a changed path', () => ({ url: 'https://relay-b.example.org/v1/admin/pull?x=1' })],
    ['a changed query', () => ({ url: 'https://relay-b.example.org/v1/statements?x=2' })],
    ['a changed method', () => ({ method: 'PUT' })],
    ['a stale signature', () => ({ now: NOW + 301 })],
    ['a signature from the future', () => ({ now: NOW - 301 })],
    ['a missing Content-Digest', (h) => (h.delete('content-digest'), {})],
    ['a Signature without Signature-Input', (h) => (h.delete('signature-input'), {})],
    ['a garbled Signature-Input', (h) => (h.set('signature-input', 'vouch=(((('), {})],
    ['a short signature', (h) => (h.set('signature', 'vouch=:AAAA:'), {})],
    ['a signature over fewer components', (h) => (h.set('signature-input', h.get('signature-input')!.replace(' "content-digest"', '')), {})],
    ['another algorithm', (h) => (h.set('signature-input', h.get('signature-input')!.replace('"ed25519"', '"rsa-pss-sha512"')), {})],
    ['a keyid that is not a did:key', (h) => (h.set('signature-input', h.get('signature-input')!.replace(/keyid="[^"]+"/, 'keyid="k1"')), {})],
  ]
  for (const [name, change] of refused) {
    it(`refuses ${name} with bad_request_signature`, async () => {
      const { headers } = await signed()
      const o = change(headers)
      await expect(
        verifyRequest({ method: o.method ?? 'POST', url: o.url ?? url, headers, body: o.body ?? body }, o.now ?? NOW),
      ).rejects.toMatchObject({ code: 'bad_request_signature' })
    })
  }

  it('any single flipped byte of the signature is refused', async () => {
    const { headers } = await signed()
    const sig = base64.decode(headers.get('signature')!.slice('vouch=:'.length, -1))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const bad = sig.slice()
        bad[i]! ^= x
        const h = new Headers(headers)
        h.set('signature', `vouch=:${base64.encode(bad)}:`)
        await expect(verifyRequest({ method: 'POST', url, headers: h, body }, NOW)).rejects.toMatchObject({ code: 'bad_request_signature' })
      }),
      { numRuns: 50 },
    )
  })
})
