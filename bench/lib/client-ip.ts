/**
 * A client address for every benchmark request to a local relay.
 *
 * The relay limits requests per client IP (`RATE_REQUESTS` in wrangler.toml: 600 a minute per
 * `CF-Connecting-IP`). wrangler dev sets that header to the connecting address, 127.0.0.1, so
 * every request a benchmark sends would share one budget, and a run of thousands of requests a
 * minute would measure 429s instead of the relay. Miniflare keeps a `CF-Connecting-IP` that the
 * client sent, so each request names an address of its own: the relay still asks the limiter
 * about every request (its cost stays in the figures) and the limit stays as configured; only
 * no single address ever reaches it. The header is set on requests to the benchmarks' own bare
 * workers too, so that compared requests are the same size.
 *
 * This cannot be done against a deployed relay: Cloudflare's edge overwrites the header with the
 * real address, so there a benchmark is held to 600 requests a minute like any other client.
 * Requests between relays (gossip) do not go through here: they are signed by the sending relay
 * (RELAY_KEY) and counted against the peer budget (`RATE_PEERS`).
 */

/** RFC 2544 reserves 198.18.0.0/15 for benchmarking: 131,072 addresses, none of them routed. */
const BLOCK = 1 << 17
let next = 0

/** The next address of 198.18.0.0/15, in turn: no two of any 131,072 requests in a row share one. */
export function benchClientIp(): string {
  const n = next++ % BLOCK
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`
}

/** The header for one request, e.g. `{ ...clientIpHeader(), 'content-type': … }` with node:http. */
export const clientIpHeader = (): { 'cf-connecting-ip': string } => ({ 'cf-connecting-ip': benchClientIp() })

/** `fetch` with a fresh client address on every call (headers of `init` or the Request kept). */
export const benchFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
  headers.set('cf-connecting-ip', benchClientIp())
  return fetch(input, { ...init, headers })
}
