import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkPublicUrl, isPrivateHost, isPublicIp, OutboundError } from '../../src/net/index.ts'

/**
 * The outbound address rules, in Node and in workerd alike (both parse URLs by WHATWG, and the
 * rules must not depend on which runtime reads them).
 */

/** Refused for every outbound fetch unless private addresses are allowed. */
const REFUSED_EVERYWHERE = [
  // IPv4 special ranges
  'https://127.0.0.1/', 'https://127.1.2.3/', 'https://10.0.0.1/', 'https://172.16.0.1/', 'https://172.31.255.255/',
  'https://192.168.1.1/', 'https://169.254.169.254/latest/meta-data/', 'https://100.64.0.1/', 'https://0.0.0.0/',
  'https://0.1.2.3/', 'https://224.0.0.1/', 'https://239.255.255.250/', 'https://255.255.255.255/', 'https://240.0.0.1/',
  'https://192.0.2.1/', 'https://198.51.100.7/', 'https://203.0.113.9/', 'https://198.18.0.1/', 'https://192.0.0.8/',
  // IPv4 spellings WHATWG URL normalises
  'https://2130706433/', 'https://0x7f000001/', 'https://0x7f.1/', 'https://0177.0.0.1/', 'https://127.1/',
  'https://017700000001/', 'https://0x0a.0.0.1/', 'https://3232235777/', 'https://127.0.0.1./', 'https://0/',
  // IPv6 special ranges
  'https://[::1]/', 'https://[::]/', 'https://[fe80::1]/', 'https://[fc00::1]/', 'https://[fd12:3456::1]/',
  'https://[ff02::1]/', 'https://[fec0::1]/', 'https://[2001:db8::1]/', 'https://[100::1]/',
  // IPv6 carrying a private IPv4
  'https://[::ffff:127.0.0.1]/', 'https://[::ffff:7f00:1]/', 'https://[::ffff:10.0.0.1]/', 'https://[::ffff:169.254.169.254]/',
  'https://[::127.0.0.1]/', 'https://[::7f00:1]/', 'https://[::10.1.1.1]/', 'https://[::ffff:0:127.0.0.1]/',
  'https://[64:ff9b::127.0.0.1]/', 'https://[64:ff9b::a00:1]/', 'https://[64:ff9b::192.168.0.1]/', 'https://[64:ff9b:1::8.8.8.8]/',
  'https://[2002:7f00:1::]/', 'https://[2002:a00:1::1]/', 'https://[2002:c0a8:101::1]/',
  'https://[2001:0:7f00:1::]/', 'https://[2001:0:808:808::80ff:fefe]/', 'https://[2001:0:808:808:0:0:f5ff:fffe]/',
  // reserved names
  'https://localhost/', 'https://LOCALHOST/', 'https://localhost./', 'https://a.localhost/', 'https://printer.local/',
  'https://db.internal/', 'https://nas.home.arpa/', 'https://box.localdomain/', 'https://localdomain/',
  // not http(s), credentials, not a URL
  'ftp://example.org/', 'file:///etc/passwd', 'gopher://example.org/', 'https://user:pw@example.org/', 'https://user@example.org/',
  'not a url', 'javascript:alert(1)', 'data:text/plain,x',
]

/** Refused only by the rule for fetches anyone can trigger (alias proofs). */
const REFUSED_WHEN_UNTRUSTED = [
  'http://example.org/', 'https://example.org:8443/', 'https://example.org:22/', 'https://example.org:80/',
  'http://8.8.8.8/', 'https://vm/', 'https://router/', 'https://router./', 'https://intranet:443/',
]

const PUBLIC = [
  'https://example.org/', 'https://example.org:443/x', 'https://8.8.8.8/', 'https://1.1.1.1/dns-query', 'https://[2606:4700:4700::1111]/',
  'https://[::ffff:8.8.8.8]/', 'https://[64:ff9b::8.8.8.8]/', 'https://[2002:808:808::1]/', 'https://172.32.0.1/',
  'https://100.128.0.1/', 'https://xn--bcher-kva.example/', 'https://EXAMPLE.org./',
]

const refuses = (url: string, rule: Parameters<typeof checkPublicUrl>[1]) => {
  try {
    checkPublicUrl(url, rule)
  } catch (e) {
    if (e instanceof OutboundError) return true
    throw e
  }
  return false
}

describe('outbound address rules', () => {
  it('has a table of more than 60 refused URL forms', () => {
    expect(REFUSED_EVERYWHERE.length + REFUSED_WHEN_UNTRUSTED.length).toBeGreaterThan(60)
  })

  it.each(REFUSED_EVERYWHERE)('refuses %s for peers and for untrusted fetches', (url) => {
    expect(refuses(url, false)).toBe(true)
    expect(refuses(url, { allowPrivate: false, untrusted: true })).toBe(true)
  })

  it.each(REFUSED_WHEN_UNTRUSTED)('refuses %s for untrusted fetches only', (url) => {
    expect(refuses(url, { allowPrivate: false, untrusted: true })).toBe(true)
    expect(refuses(url, false)).toBe(false)
  })

  it.each(PUBLIC)('accepts %s under both rules', (url) => {
    expect(refuses(url, false)).toBe(false)
    expect(refuses(url, { allowPrivate: false, untrusted: true })).toBe(false)
  })

  it('allowPrivate lets loopback through (local development) but never another scheme or credentials', () => {
    expect(refuses('http://127.0.0.1:8787/', true)).toBe(false)
    expect(refuses('http://localhost:1/', { allowPrivate: true, untrusted: true })).toBe(false)
    expect(refuses('ftp://127.0.0.1/', true)).toBe(true)
    expect(refuses('http://a:b@127.0.0.1/', true)).toBe(true)
  })

  it('names the reason in the code and gives one public text for every reason', () => {
    const codes = ['https://10.0.0.1/', 'ftp://x.org/', 'https://vm/'].map((u) => {
      try {
        checkPublicUrl(u, { allowPrivate: false, untrusted: true })
      } catch (e) {
        expect((e as OutboundError).publicMessage).toBe(`could not fetch ${u}`)
        return (e as OutboundError).code
      }
      return 'accepted'
    })
    expect(codes).toEqual(['private_address', 'bad_url', 'private_address'])
  })

  it('isPrivateHost takes bare hosts in any spelling', () => {
    for (const h of ['127.0.0.1', '0x7f.1', '2130706433', '[::1]', '::1', '::ffff:127.0.0.1', 'localhost', 'x.internal']) expect(isPrivateHost(h), h).toBe(true)
    for (const h of ['8.8.8.8', 'example.org', '2606:4700::1', 'vm']) expect(isPrivateHost(h), h).toBe(false)
  })

  const octet = fc.integer({ min: 0, max: 255 })
  const ipv4 = fc.tuple(octet, octet, octet, octet)
  const hex = ([a, b, c, d]: number[]) => [((a! << 8) | b!).toString(16), ((c! << 8) | d!).toString(16)]

  it('an IPv6 address carrying an IPv4 address is public exactly when that address is', () => {
    fc.assert(
      fc.property(ipv4, (p) => {
        const dotted = p.join('.')
        const [hi, lo] = hex(p)
        const expected = isPublicIp(dotted)
        expect(isPublicIp(`::ffff:${dotted}`)).toBe(expected)
        expect(isPublicIp(`::${dotted}`)).toBe(expected)
        expect(isPublicIp(`64:ff9b::${hi}:${lo}`)).toBe(expected)
        expect(isPublicIp(`2002:${hi}:${lo}::1`)).toBe(expected)
        expect(isPublicIp(`[::ffff:${hi}:${lo}]`)).toBe(expected)
        expect(isPublicIp(`64:ff9b:1::${hi}:${lo}`)).toBe(false)
      }),
    )
  })

  it('every decimal, hex and octal spelling of an IPv4 address is judged like its dotted form', () => {
    fc.assert(
      fc.property(ipv4, (p) => {
        const n = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0
        const expected = isPublicIp(p.join('.'))
        for (const h of [String(n), `0x${n.toString(16)}`, `0${n.toString(8)}`, p.map((x) => `0x${x.toString(16)}`).join('.')]) {
          expect(isPublicIp(h), h).toBe(expected)
          expect(isPrivateHost(h), h).toBe(!expected)
        }
      }),
    )
  })

  it('the private IPv4 blocks are never public', () => {
    fc.assert(
      fc.property(octet, octet, (c, d) => {
        for (const h of [`10.${c}.${d}.1`, `127.${c}.${d}.1`, `192.168.${c}.${d}`, `169.254.${c}.${d}`, `172.${16 + (c % 16)}.${d}.1`]) expect(isPublicIp(h), h).toBe(false)
      }),
    )
  })
})
