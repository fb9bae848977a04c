import type { Context } from 'hono'
import { ApiError } from './errors.ts'

/**
 * Checks for requests that make this relay work on a browser's behalf (alias checks open outbound
 * connections): who may send them, and how often.
 */

/**
 * Refuses a form POST that a page of another site made the visitor's browser send. Browsers send
 * `Origin` on every POST (`null` from sandboxed frames, opaque origins and some redirects, which
 * is refused too) and `Sec-Fetch-Site` where they support Fetch Metadata. A request with neither
 * comes from a program (curl, the CLI, a test), where a forged cross-site request is not a thing.
 */
export function refuseCrossSite(c: Context): void {
  const origin = c.req.header('origin')
  const site = c.req.header('sec-fetch-site')
  const own = new URL(c.req.url).origin
  if ((origin !== undefined && origin !== own) || site === 'cross-site' || site === 'same-site') {
    throw new ApiError(403, 'cross_origin', `this form can only be sent from this relay's own pages (${own})`)
  }
}

/** The client's address as Cloudflare's edge reports it (a client cannot set it: the edge overwrites it). */
export const clientIp = (c: Context): string | undefined => c.req.header('cf-connecting-ip')

/**
 * Counts one request against `limiter` (a Workers Rate Limiting binding) for the client's IP and
 * refuses it with 429 `rate_limited` when over. Requests without `CF-Connecting-IP` are not
 * counted: on Cloudflare every request has it, so only local callers lack it (`wrangler dev`
 * without a proxy, vitest's SELF.fetch), and keying them all to one bucket would make unrelated
 * tests fail each other.
 */
export async function limitPerIp(c: Context, limiter: RateLimit, what: string, periodSeconds: number): Promise<void> {
  const ip = clientIp(c)
  if (ip === undefined) return
  const { success } = await limiter.limit({ key: ip })
  if (!success) {
    throw new ApiError(429, 'rate_limited', `too many ${what} from your address; try again in a minute`, { limit: what }, { 'retry-after': String(periodSeconds) })
  }
}

/**
 * Runs `work` to its end even if the client goes away: Workers cancel a request's pending I/O when
 * its client disconnects, and a write cut half-way is a cost the client chooses. For ingest it would
 * be: DB committed but the index shards not yet written (INDEX_SHARDS > 1), which holds every later
 * statement out of term queries until the cron's repair (≥ 30 s), so a client disconnecting at the
 * right moment each minute could keep them out for good; or statements stored but their quota use
 * not yet counted. `waitUntil` keeps the invocation alive (up to 30 s after the disconnect).
 */
export function outliveClient<T>(c: Context, work: Promise<T>): Promise<T> {
  c.executionCtx.waitUntil(work.catch(() => undefined))
  return work
}
