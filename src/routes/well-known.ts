import { createRouter } from '../app.ts'
import { listPeers, selfUrl, stats } from '../gossip/index.ts'
import { relayIdentity } from '../gossip/identity.ts'
import { RATE_LIMITS } from '../http/limits.ts'
import { LIMITS } from '../verify/index.ts'
import { logIdentity, LOG_PREFIX } from '../log/index.ts'
import { witnessIdentity } from '../witness/index.ts'
import { PROTOCOL_VERSION, SOFTWARE } from '../version.ts'

export const wellKnown = createRouter()

wellKnown.get('/vouch', async (c) => {
  const logId = await logIdentity(c.env, c.req.url)
  const witnessId = await witnessIdentity(c.env, c.req.url)
  return c.json({
    protocol: PROTOCOL_VERSION,
    software: SOFTWARE,
    // Every limit in force (PROTOCOL §7), the configured ones included.
    // batchItems and pageMax are this relay's caps from its CPU budget; peers honour them (§6.7).
    limits: {
      ...LIMITS,
      futureSkewMs: c.var.config.futureSkewMs,
      blobBytes: c.var.config.blobMaxBytes,
      batchItems: c.var.config.batchItems,
      pageMax: c.var.config.pageMax,
      cpuBudgetMs: c.var.config.cpuBudgetMs,
      statementsPerDay: c.var.config.quotaStatementsPerDay,
      blobBytesPerDay: c.var.config.quotaBlobBytesPerDay,
      peerStatementsPerDay: c.var.config.peerStatementsPerDay,
      ...RATE_LIMITS,
    },
    // Who may write here (PROTOCOL §7): open, trusted or closed, and from which roots.
    admission: { mode: c.var.config.admission, operatorKeys: c.var.config.operatorKeys, admitDepth: c.var.config.admitDepth },
    relay: selfUrl(c.env, c.req.url),
    // The key this relay signs its requests to peers with (PROTOCOL §6.7); null without RELAY_KEY.
    key: (await relayIdentity(c.env))?.did ?? null,
    peers: await listPeers(c.env),
    gossip: stats,
    endpoints: { statements: '/v1/statements', feed: '/v1/feed', openapi: '/openapi.json' },
    // The feed as a transparency log (PROTOCOL "Log"); null without RELAY_KEY.
    log: logId ? { origin: logId.origin, verifierKey: logId.verifierKey, prefix: LOG_PREFIX } : null,
    // This relay as a tlog-witness of its peers' logs (PROTOCOL §6.11); null when WITNESS is off or without RELAY_KEY.
    witness: witnessId ? { name: witnessId.key.name, verifierKey: witnessId.verifierKey, prefix: '/v1/witness' } : null,
  })
})
