import { Hono } from 'hono'
import type { AppEnv } from './app.ts'
import { ConfigError, configOf, type RelayEnv } from './config.ts'
import { pullAll } from './gossip/index.ts'
import { integrateLog, LOG_PREFIX } from './log/index.ts'
import { ApiError, notFound, onError } from './http/errors.ts'
import { peerAuth } from './gossip/peer-auth.ts'
import { rateLimit } from './http/limits.ts'
import { admin } from './routes/admin.ts'
import { blobs } from './routes/blobs.ts'
import { feed } from './routes/feed.ts'
import { log } from './routes/log.ts'
import { openapi } from './routes/openapi.ts'
import { pages } from './routes/pages.tsx'
import { statements } from './routes/statements.ts'
import { bindBodies } from './store/bodies.ts'
import { bindIndex, refuseResharding, shardsOf } from './store/shards.ts'
import { dayOf, pruneUsage } from './store/usage.ts'
import { wellKnown } from './routes/well-known.ts'
import { witness } from './routes/witness.ts'
import { collectCosignatures } from './witness/index.ts'

export const app = new Hono<AppEnv>()
  .use(async (c, next) => {
    await next()
    // Nothing this relay serves should ever be content-sniffed into something executable.
    if (!c.res.headers.has('x-content-type-options')) c.res.headers.set('x-content-type-options', 'nosniff')
  })
  .use(async (c, next) => {
    // A relay with an unusable setting answers nothing rather than run with a check switched off.
    try {
      c.set('config', configOf(c.env))
      if (shardsOf(c.env.DB)) await refuseResharding(c.env.DB, (variable, rule) => new ConfigError(variable, rule))
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      throw new ApiError(500, 'bad_config', `the relay's configuration is invalid: ${e.message}; the operator must fix it`, { variable: e.variable })
    }
    await next()
  })
  .use('/v1/*', peerAuth)
  // After the peer-signature check (which sets c.var.peer), before any route does work.
  .use(rateLimit)
  .route('/v1/statements', statements)
  .route('/v1/feed', feed)
  .route(LOG_PREFIX, log)
  .route('/v1/witness', witness)
  .route('/v1/blobs', blobs)
  .route('/v1/admin', admin)
  .route('/.well-known', wellKnown)
  .route('/openapi.json', openapi)
  .route('/', pages)

app.onError(onError)
app.notFound(notFound)

export default {
  fetch(request: Request, env: RelayEnv, ctx: ExecutionContext) {
    // The store's readers take D1 alone; statement bodies in the log's bundles come from this R2 bucket.
    bindBodies(env.DB, env.BLOBS)
    bindIndex(env)
    return app.fetch(request, env, ctx)
  },
  /** Cron: pull from every peer, repairing whatever push lost; integrate the log's backlog. */
  async scheduled(_controller, env, ctx) {
    bindBodies(env.DB, env.BLOBS)
    bindIndex(env)
    let config
    try {
      config = configOf(env)
      if (shardsOf(env.DB)) await refuseResharding(env.DB, (variable, rule) => new ConfigError(variable, rule))
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      console.error(`pull skipped: ${e.message}`)
      return
    }
    ctx.waitUntil(pullAll(env, config.relayUrl))
    // Quotas read only today; yesterday's row is kept for the day boundary's stragglers.
    ctx.waitUntil(pruneUsage(env.DB, dayOf(Date.now()) - 1))
    // Integration first, so the checkpoint witnesses cosign covers this run's tiles.
    ctx.waitUntil(
      integrateLog(env)
        .then(() => collectCosignatures(env, (p) => ctx.waitUntil(p)))
        .catch((e) => console.error('log integration or cosignature collection failed', e)),
    )
  },
} satisfies ExportedHandler<RelayEnv>
