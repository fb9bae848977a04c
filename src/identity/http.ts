import { checkPublicUrl, fetchCapped, isPrivateHost, OutboundError } from '../http/outbound.ts'
import { SOFTWARE } from '../version.ts'
import { ProofFailure } from './method.ts'
import type { ResolvedOptions } from './options.ts'

/**
 * The URL rules for proof checks: https to a public host; plain http and private hosts only with
 * `allowPrivate` (local tests). An alias comes from the network, so without this rule anyone could
 * make a client probe its own LAN by claiming `https://192.168.1.1`.
 */
export function checkUrl(url: string, allowPrivate: boolean): URL {
  const u = checkPublicUrl(url, true) // scheme, syntax and credentials; the host is checked below
  if (!allowPrivate && u.protocol !== 'https:') throw new OutboundError('bad_url', `${url} is not https`)
  if (!allowPrivate && isPrivateHost(u.hostname)) {
    throw new OutboundError('private_address', `${u.hostname} is a private or local address; proofs are only fetched from public hosts`)
  }
  return u
}

/**
 * GET `url` as UTF-8 text, under the options' deadline and size cap, never following a redirect
 * (a redirect could lead to a private address, and a proof has no reason to move).
 *
 * `fetchCapped` (src/http/outbound.ts) under identity's stricter URL rule.
 */
export async function getText(url: string, o: ResolvedOptions, accept: string): Promise<{ text: string; headers: Headers }> {
  checkUrl(url, o.allowPrivate)
  const res = await fetchCapped(url, {
    headers: { accept, 'user-agent': `vouch/${SOFTWARE.version}` },
    timeoutMs: o.timeoutMs,
    maxBytes: o.maxBytes,
    allowPrivate: o.allowPrivate,
    fetch: o.fetch,
    urlChecked: true,
  })
  if (res.status !== 200) throw new OutboundError('http_status', `${url} answered HTTP ${res.status}`)
  const bytes = res.bytes
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch (e) {
    throw new ProofFailure(`${url} sent text that is not UTF-8`, { cause: e })
  }
  return { text, headers: res.headers }
}
