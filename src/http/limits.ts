import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app.ts'
import { ApiError } from './errors.ts'

/** The Workers Rate Limiting binding counts per 60 s window (wrangler.toml `period = 60`). */
export const RATE_PERIOD_S = 60
/**
 * The bindings' limits as wrangler.toml sets them, for /.well-known/vouch: a binding cannot be
 * asked for its limit at run time. A test holds these equal to wrangler.toml.
 */
export const RATE_LIMITS = { requestsPerMinute: 600, peerRequestsPerMinute: 6000, checksPerMinute: 10 } as const

/**
 * Requests per minute, one budget per client IP (`RATE_REQUESTS`) or, for a request signed by a
 * configured peer, one per peer (`RATE_PEERS`, larger: a peer carries many people's statements).
 *
 * `CF-Connecting-IP` is set by Cloudflare's edge, and by `wrangler dev`'s entry worker, on every
 * request that arrives from the network; a client cannot forge it there (the edge overwrites it).
 * A request without it never came through either (e.g. vitest's `SELF.fetch`, a service binding):
 * it is not limited, since there is no client to key on.
 */
export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const peer = c.var.peer
  const ip = c.req.header('cf-connecting-ip')
  const outcome = peer !== undefined ? await c.env.RATE_PEERS.limit({ key: `peer:${peer}` }) : ip ? await c.env.RATE_REQUESTS.limit({ key: `ip:${ip}` }) : undefined
  if (outcome && !outcome.success) {
    throw new ApiError(
      429,
      'rate_limited',
      `too many requests from this ${peer !== undefined ? 'peer' : 'address'}; retry after ${RATE_PERIOD_S} s`,
      { limit: peer !== undefined ? 'peerRequestsPerMinute' : 'requestsPerMinute' },
      { 'retry-after': String(RATE_PERIOD_S) },
    )
  }
  await next()
}
