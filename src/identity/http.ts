import { checkPublicUrl, isPrivateHost, OutboundError } from '../http/outbound.ts'
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
 * This is `fetchCapped` (src/http/outbound.ts) with an injectable fetch and identity's URL rule;
 * it throws the same `OutboundError` codes.
 */
export async function getText(url: string, o: ResolvedOptions, accept: string): Promise<{ text: string; headers: Headers }> {
  checkUrl(url, o.allowPrivate)
  const signal = AbortSignal.timeout(o.timeoutMs)
  let res: Response
  try {
    res = await o.fetch(url, { headers: { accept, 'user-agent': `vouch/${SOFTWARE.version}` }, redirect: 'manual', signal })
  } catch (e) {
    if (signal.aborted) throw new OutboundError('timeout', `no answer from ${url} within ${o.timeoutMs} ms`, { cause: e })
    throw new OutboundError('network', `cannot reach ${url}`, { cause: e })
  }
  if ((res.status >= 300 && res.status < 400) || (res.type as string) === 'opaqueredirect' /* browsers */) {
    await res.body?.cancel()
    throw new OutboundError('redirect', `${url} answered with a redirect (${res.status}); redirects are not followed`)
  }
  if (res.status !== 200) {
    await res.body?.cancel()
    throw new OutboundError('http_status', `${url} answered HTTP ${res.status}`)
  }
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > o.maxBytes) {
    await res.body?.cancel()
    throw new OutboundError('too_large', `${url} answered with ${declared} bytes; the cap is ${o.maxBytes}`)
  }
  const parts: Uint8Array[] = []
  let size = 0
  if (res.body) {
    const reader = res.body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        size += value.byteLength
        if (size > o.maxBytes) {
          await reader.cancel()
          throw new OutboundError('too_large', `${url} sent more than ${o.maxBytes} bytes`)
        }
        parts.push(value)
      }
    } catch (e) {
      if (e instanceof OutboundError) throw e
      if (signal.aborted) throw new OutboundError('timeout', `${url} did not finish within ${o.timeoutMs} ms`, { cause: e })
      throw new OutboundError('network', `reading from ${url} failed`, { cause: e })
    }
  }
  const bytes = new Uint8Array(size)
  let off = 0
  for (const p of parts) bytes.set(p, off), (off += p.byteLength)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch (e) {
    throw new ProofFailure(`${url} sent text that is not UTF-8`, { cause: e })
  }
  return { text, headers: res.headers }
}
