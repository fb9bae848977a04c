import { createRouter } from '../app.ts'
import { listPeers, selfUrl, stats } from '../gossip/index.ts'
import { RATE_LIMITS } from '../http/limits.ts'
import { LIMITS } from '../verify/index.ts'
import { PROTOCOL_VERSION, SOFTWARE } from '../version.ts'

export const wellKnown = createRouter()

wellKnown.get('/vouch', async (c) =>
  c.json({
    protocol: PROTOCOL_VERSION,
    software: SOFTWARE,
    // Every limit in force (PROTOCOL §7), the configured ones included.
    limits: {
      ...LIMITS,
      futureSkewMs: c.var.config.futureSkewMs,
      blobBytes: c.var.config.blobMaxBytes,
      statementsPerDay: c.var.config.quotaStatementsPerDay,
      blobBytesPerDay: c.var.config.quotaBlobBytesPerDay,
      peerStatementsPerDay: c.var.config.peerStatementsPerDay,
      ...RATE_LIMITS,
    },
    // Who may write here (PROTOCOL §7): open, trusted or closed, and from which roots.
    admission: { mode: c.var.config.admission, operatorKeys: c.var.config.operatorKeys, admitDepth: c.var.config.admitDepth },
    relay: selfUrl(c.env, c.req.url),
    peers: await listPeers(c.env),
    gossip: stats,
    endpoints: { statements: '/v1/statements', feed: '/v1/feed', openapi: '/openapi.json' },
  }),
)
