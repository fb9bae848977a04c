import { checkPublicUrl, fetchCapped, OutboundError } from '../net/index.ts'
import { decodeStrictUtf8 } from '../verify/text.ts'
import { SOFTWARE } from '../version.ts'
import { ProofFailure } from './method.ts'
import type { ResolvedOptions } from './options.ts'

/**
 * The URL rule for proof checks: anyone can publish an alias and so make us fetch, so only https
 * on port 443 to a public host with a dotted name (src/net's `untrusted` rule); plain http and
 * private hosts only with `allowPrivate` (local tests). Without it anyone could make a relay or a
 * client probe its own LAN by claiming `https://192.168.1.1`.
 */
export function checkUrl(url: string, allowPrivate: boolean): URL {
  return checkPublicUrl(url, { allowPrivate, untrusted: true })
}

/**
 * GET `url` as UTF-8 text, under the options' deadline and size cap, never following a redirect
 * (a redirect could lead to a private address, and a proof has no reason to move).
 */
export async function getText(url: string, o: ResolvedOptions, accept: string): Promise<{ text: string; headers: Headers }> {
  const res = await fetchCapped(url, {
    headers: { accept, 'user-agent': `vouch/${SOFTWARE.version}` },
    timeoutMs: o.timeoutMs,
    maxBytes: o.maxBytes,
    allowPrivate: o.allowPrivate,
    untrusted: true,
    fetch: o.fetch,
  })
  if (res.status !== 200) throw new OutboundError('http_status', `${url} answered HTTP ${res.status}`, url)
  const text = decodeStrictUtf8(res.bytes)
  if (text === undefined) throw new ProofFailure(`${url} sent text that is not UTF-8 (or starts with a byte order mark)`)
  return { text, headers: res.headers }
}
