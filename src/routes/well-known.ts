import { createRouter } from '../app.ts'
import { LIMITS } from '../verify/index.ts'
import { PROTOCOL_VERSION, SOFTWARE } from '../version.ts'

export const wellKnown = createRouter()

wellKnown.get('/vouch', (c) =>
  c.json({
    protocol: PROTOCOL_VERSION,
    software: SOFTWARE,
    limits: { ...LIMITS, futureSkewMs: Number(c.env.MAX_FUTURE_SKEW_MS ?? LIMITS.futureSkewMs) },
    endpoints: { statements: '/v1/statements', feed: '/v1/feed', openapi: '/openapi.json' },
  }),
)
