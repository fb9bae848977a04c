import { SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseFeedPage } from '../../src/gossip/pull.ts'
import { backoffMs, normalizePeerUrl } from '../../src/gossip/peers.ts'
import { parseSeen } from '../../src/gossip/push.ts'
import { checkPublicUrl, isPrivateHost, OutboundError } from '../../src/net/index.ts'

const BASE = 'http://relay.test'
const TOKEN = 'test-admin-token'
const admin = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
  SELF.fetch(`${BASE}/v1/admin${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } })

describe('peer addresses', () => {
  it('refuses loopback, private, link-local and internal hosts unless allowed', () => {
    const privateUrls = [
      'http://127.0.0.1:8787', 'http://localhost/', 'http://relay.localhost', 'http://10.1.2.3', 'http://172.16.0.1', 'http://172.31.255.255',
      'http://192.168.1.1', 'http://169.254.169.254/latest', 'http://0.0.0.0', 'http://100.64.0.1', 'http://[::1]/', 'http://[fe80::1]/',
      'http://[fd00::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/', 'http://metadata.google.internal/',
    ]
    for (const u of privateUrls) {
      expect(() => checkPublicUrl(u, false), u).toThrow(OutboundError)
      expect(() => checkPublicUrl(u, true), u).not.toThrow()
    }
    for (const u of ['https://relay.example.org', 'http://8.8.8.8', 'https://172.32.0.1', 'http://[2606:4700::1111]/']) {
      expect(() => checkPublicUrl(u, false), u).not.toThrow()
    }
    for (const u of ['ftp://relay.example.org', 'file:///etc/passwd', 'https://user:pw@relay.example.org', 'not a url']) {
      expect(() => checkPublicUrl(u, true), u).toThrow(OutboundError)
    }
  })

  it('every IPv4 address in 10/8, 127/8, 192.168/16 and 169.254/16 is private; addresses in 11/8 are not', () => {
    fc.assert(
      fc.property(fc.constantFrom(10, 127, 11), fc.nat(255), fc.nat(255), fc.nat(255), (a, b, c, d) => {
        expect(isPrivateHost(`${a}.${b}.${c}.${d}`)).toBe(a !== 11)
        expect(isPrivateHost(`192.168.${c}.${d}`)).toBe(true)
        expect(isPrivateHost(`169.254.${c}.${d}`)).toBe(true)
      }),
    )
  })

  it('normalises peer URLs to origin + path without trailing slash', () => {
    expect(normalizePeerUrl('https://Relay.Example.org:443/vouch/', false)).toBe('https://relay.example.org/vouch')
    expect(() => normalizePeerUrl('https://relay.example.org/?x=1', false)).toThrow()
  })
})

describe('gossip wire formats', () => {
  it('parses the seen-set header with a bound on its size', () => {
    expect([...parseSeen('http://a http://b  http://a')]).toEqual(['http://a', 'http://b'])
    expect(parseSeen(undefined).size).toBe(0)
    expect(parseSeen('x'.repeat(9000)).size).toBe(0)
    expect(parseSeen(Array.from({ length: 200 }, (_, i) => `http://r${i}`).join(' ')).size).toBe(64)
  })

  it('refuses feed pages that are not exactly the documented shape', () => {
    const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))
    expect(parseFeedPage(enc({ statements: [], cursor: '12', more: false }))).toEqual({ statements: [], cursor: '12', more: false })
    for (const bad of ['[]', '{"statements":{},"cursor":"1","more":false}', { statements: [], cursor: 1, more: false }, { statements: [], cursor: '../x', more: false }, { statements: [], cursor: '1' }, '{"statements":[],"statements":[],"cursor":"1","more":false}']) {
      expect(() => parseFeedPage(enc(bad)), JSON.stringify(bad)).toThrow()
    }
    expect(() => parseFeedPage(new Uint8Array([0xff]))).toThrow(/UTF-8/)
  })

  it('backs off exponentially from 30 s to a 1 hour cap', () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([30_000, 60_000, 120_000, 240_000])
    expect(backoffMs(50)).toBe(3_600_000)
  })
})

describe('admin API', () => {
  it('refuses requests without the operator token', async () => {
    for (const token of [null, 'wrong']) {
      const res = await admin('/peers', {}, token)
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    }
  })

  it('replaces the managed peer list, refusing private addresses and itself, and shows peers in /.well-known/vouch', async () => {
    const put = (peers: unknown) => admin('/peers', { method: 'PUT', body: JSON.stringify({ peers }), headers: { 'content-type': 'application/json' } })
    const priv = await put(['http://127.0.0.1:9999'])
    expect(priv.status).toBe(400)
    expect(((await priv.json()) as { error: { code: string } }).error.code).toBe('bad_peer_url')
    expect((await put([BASE])).status).toBe(400)
    expect((await put('https://x')).status).toBe(400)
    const ok = await put(['https://relay-b.example.org/', 'https://relay-c.example.org'])
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { peers: string[] }).peers).toEqual(['https://relay-b.example.org', 'https://relay-c.example.org'])
    const info = (await (await SELF.fetch(`${BASE}/.well-known/vouch`)).json()) as { peers: string[] }
    expect(info.peers).toEqual(['https://relay-b.example.org', 'https://relay-c.example.org'])
    const listed = (await (await admin('/peers')).json()) as { peers: { url: string; cursor: string; failures: number }[] }
    expect(listed.peers.map((p) => [p.url, p.cursor, p.failures])).toEqual([['https://relay-b.example.org', '', 0], ['https://relay-c.example.org', '', 0]])
  })
})
