import ipaddr from 'ipaddr.js'

/**
 * Which hosts an outbound request may go to. IP literals are judged by a maintained range table
 * (ipaddr.js), not by hand: an address is public only if the library calls its range `unicast`,
 * and an IPv6 address that carries an IPv4 address (mapped, compatible, translated, NAT64, 6to4,
 * Teredo) is public only if every IPv4 address it carries is public too, since a gateway may turn
 * it into that IPv4 address. Names are checked as written: Workers have no DNS API, so a public
 * name that resolves to a private address is caught only by the network (Cloudflare's edge cannot
 * reach private networks) and by never following redirects.
 */

/** Names reserved for one machine or one site (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const INTERNAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'localdomain']

/** The host as WHATWG URL writes it: brackets and a final dot removed, IPv4 spellings normalised. */
function normalHost(hostname: string): string {
  let h = hostname.toLowerCase()
  try {
    // `0x7f.1`, `2130706433` and `0177.0.0.1` all become 127.0.0.1, exactly as fetch would read them.
    h = new URL(`http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}/`).hostname
  } catch {
    // Not a valid host at all: judged below as written, and refused by the URL check anyway.
  }
  return h.replace(/^\[|\]$/g, '').replace(/\.$/, '')
}

const v4 = (n: number): ipaddr.IPv4 => new ipaddr.IPv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])

/** The IPv4 addresses an IPv6 address carries, or undefined when it carries none. */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const p = a.parts
  const low = ((p[6]! << 16) | p[7]!) >>> 0
  const range = a.range()
  // ::a.b.c.d (deprecated IPv4-compatible, RFC 4291 §2.5.5.1): ipaddr.js calls it unicast.
  if (p.slice(0, 6).every((x) => x === 0)) return [v4(low)]
  if (range === 'ipv4Mapped' || range === 'rfc6145') return [v4(low)]
  if (range === 'rfc6052') return [v4(low)] // 64:ff9b::/96; the /48 local-use prefix is refused before
  if (range === '6to4') return [v4(((p[1]! << 16) | p[2]!) >>> 0)]
  // Teredo: the server's address in bits 32–63, the client's inverted in the last 32 (RFC 4380 §4).
  if (range === 'teredo') return [v4(((p[2]! << 16) | p[3]!) >>> 0), v4(~low >>> 0)]
  return undefined
}

/** 64:ff9b:1::/48 is for translation inside one network (RFC 8215): never a public destination. */
const LOCAL_NAT64 = ipaddr.parseCIDR('64:ff9b:1::/48')

/** Whether an IP address (v4 or v6, written any way WHATWG URL accepts) is a public unicast address. */
export function isPublicIp(address: string): boolean {
  const h = normalHost(address)
  if (!ipaddr.isValid(h)) return false
  const a = ipaddr.parse(h)
  if (a.kind() === 'ipv4') return a.range() === 'unicast'
  const six = a as ipaddr.IPv6
  if (six.match(LOCAL_NAT64)) return false
  const inner = embeddedV4(six)
  if (inner) return inner.every((x) => x.range() === 'unicast')
  return six.range() === 'unicast'
}

/** Whether a host is an IP literal (after WHATWG normalisation). */
export function isIpLiteral(hostname: string): boolean {
  const h = normalHost(hostname)
  return ipaddr.IPv4.isValidFourPartDecimal(h) || (h.includes(':') && ipaddr.IPv6.isValid(h))
}

/**
 * Whether a host is loopback, private or otherwise not a public destination: an IP literal outside
 * the public unicast ranges, or a name reserved for one machine or site (`localhost`, `*.local`, …).
 */
export function isPrivateHost(hostname: string): boolean {
  const h = normalHost(hostname)
  if (isIpLiteral(h)) return !isPublicIp(h)
  return INTERNAL_SUFFIXES.some((s) => h === s || h.endsWith(`.${s}`))
}

/**
 * The stricter name rule for fetches anyone can trigger (an alias claim names the host): besides
 * `isPrivateHost`, a single-label name (`vm`, `router`) is refused, since a resolver's search
 * list may complete it to a machine on the operator's network.
 */
export function isUntrustedNameRefused(hostname: string): boolean {
  const h = normalHost(hostname)
  if (isIpLiteral(h)) return !isPublicIp(h)
  return !h.includes('.') || isPrivateHost(h)
}
