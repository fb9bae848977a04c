import { createRouter } from '../app.ts'
import { listPeers, selfUrl, stats } from '../gossip/index.ts'
import type { RelayEnv } from '../env.ts'
import { LIMITS } from '../verify/index.ts'
import { PROTOCOL_VERSION, SOFTWARE } from '../version.ts'

export const wellKnown = createRouter()

wellKnown.get('/vouch', async (c) =>
  c.json({
    protocol: PROTOCOL_VERSION,
    software: SOFTWARE,
    limits: { ...LIMITS, futureSkewMs: Number(c.env.MAX_FUTURE_SKEW_MS ?? LIMITS.futureSkewMs) },
    relay: selfUrl(c.env as RelayEnv, c.req.url),
    peers: await listPeers(c.env as RelayEnv),
    gossip: stats,
    endpoints: { statements: '/v1/statements', feed: '/v1/feed', openapi: '/openapi.json' },
  }),
)
