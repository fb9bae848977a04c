import { createRouter } from '../app.ts'
import { ApiError } from '../http/errors.ts'
import { checkpoint, logIdentity, readTile, witnessedFor } from '../log/index.ts'
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

/**
 * The witnessed history (PROTOCOL §6.13): the latest witnessed checkpoint, or with `?index=N` the
 * earliest one whose tree includes leaf N, with its cosignature lines. The checkpoint an index
 * names never changes; a later cron run may still add a late witness's line to it, so the answer
 * is cached for minutes, not forever.
 */
log.get('/witnessed', async (c) => {
  const url = new URL(c.req.url)
  const bad = [...url.searchParams.keys()].find((k) => k !== 'index')
  if (bad !== undefined) throw new ApiError(400, 'bad_query', `unknown parameter ${JSON.stringify(bad.slice(0, 40))}; only index is accepted`)
  const given = url.searchParams.getAll('index')
  const canonical = given.length === 0 || (given.length === 1 && /^(0|[1-9][0-9]{0,15})$/.test(given[0]!) && Number.isSafeInteger(Number(given[0])))
  if (!canonical) {
    throw new ApiError(400, 'bad_index', 'index must be one leaf index: a non-negative integer without sign, spaces or leading zeros')
  }
  const index = given.length ? Number(given[0]) : undefined
  const note = await witnessedFor(c.env.DB, index)
  if (note === undefined) throw new ApiError(404, 'not_witnessed', index === undefined ? 'no checkpoint of this log has been cosigned by a witness yet' : `no witnessed checkpoint of this log includes leaf ${index} yet`)
  return c.body(note, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': index === undefined ? 'public, max-age=60' : 'public, max-age=300' })
})
