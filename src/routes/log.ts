import { createRouter } from '../app.ts'
import { ApiError } from '../http/errors.ts'
import { checkpoint, logIdentity, readTile } from '../log/index.ts'
import { parseTilePath } from '../verify/index.ts'
import { withCosignatures } from '../witness/index.ts'

/**
 * The feed as a transparency log (PROTOCOL "Log"), laid out exactly as C2SP tlog-tiles: so Go's
 * sumdb/tlog, witnesses and monitors read it unchanged.
 */
export const log = createRouter()

/** A tile name never changes its bytes (partial tiles included: `.p/W` names W fixed hashes). */
const IMMUTABLE = 'public, max-age=31536000, immutable'

log.use(async (c, next) => {
  if (!(await logIdentity(c.env, c.req.url))) throw new ApiError(404, 'no_log', 'this relay publishes no log: it has no RELAY_KEY to sign checkpoints with')
  await next()
})

log.get('/checkpoint', async (c) => {
  const id = (await logIdentity(c.env, c.req.url))!
  // With the cosignatures collected for this very checkpoint, when there are any (PROTOCOL §6.11).
  const note = await withCosignatures(c.env, await checkpoint(c.env, id, (p) => c.executionCtx.waitUntil(p)))
  return c.body(note, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'public, max-age=1' })
})

log.get('/tile/:path{.+}', async (c) => {
  const path = new URL(c.req.url).pathname
  const rest = path.slice(path.indexOf('/tile/') + 1)
  // The longest canonical path (`tile/entries/` + six groups + `.p/255`) is under 60 characters.
  const t = rest.length <= 80 ? parseTilePath(rest) : undefined
  if (!t) throw new ApiError(400, 'bad_tile_path', 'a tile path is tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], N in x-prefixed 3-digit groups (C2SP tlog-tiles)')
  const bytes = await readTile(c.env, t)
  if (!bytes) throw new ApiError(404, 'no_tile', `this log has no ${rest} yet`)
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream', 'cache-control': IMMUTABLE })
})
