import type { RelayEnv } from '../config.ts'
import { selfUrl } from '../gossip/index.ts'
import { relayIdentity } from '../gossip/identity.ts'
import {
  decodeDidKey,
  encodeBundle,
  formatCheckpoint,
  formatVerifierKey,
  signNote,
  tileHashReader,
  TILE_WIDTH,
  treeRoot,
  type TileRef,
} from '../verify/index.ts'
import { integrate } from './integrate.ts'
import { getTile, leafEntries, leafTile, logSize } from './store.ts'

/** Where the log is served (tlog-tiles' URL prefix). */
export const LOG_PREFIX = '/v1/log'

/**
 * The checkpoint is recomputed at most this often per isolate. Between recomputations it names an
 * older size, so this is the integration delay a client sees after ingest (docs/PERFORMANCE.md).
 */
export const CHECKPOINT_TTL_MS = 1000

/** Completed level-0 tiles one checkpoint request may integrate; the cron takes more. */
export const TILES_PER_REQUEST = 8

export interface LogIdentity {
  /** The checkpoint's origin line, also the note key's name: `<relay host[/path]>/vouch-log`. */
  origin: string
  verifierKey: string
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/**
 * The log's origin comes from RELAY_URL when set, else the URL the request arrived at (as the
 * well-known `relay` field does), without its scheme, as C2SP origins are written. Undefined when
 * the relay has no RELAY_KEY: an unsigned log proves nothing, so none is served.
 */
export async function logIdentity(env: RelayEnv, requestUrl: string): Promise<LogIdentity | undefined> {
  const me = await relayIdentity(env)
  const base = selfUrl(env, requestUrl)
  if (!me || !base) return undefined
  const origin = `${base.replace(/^https?:\/\//, '').replace(/\/+$/, '')}/vouch-log`
  const publicKey = decodeDidKey(me.did)!
  return { origin, verifierKey: formatVerifierKey(origin, publicKey), publicKey, secretKey: me.secretKey }
}

/**
 * A tile's bytes, or undefined if the log does not have it (yet). Full tiles and bundles and all
 * upper tiles come from R2; level-0 tiles and bundles not there (partial, or not yet integrated)
 * are computed from at most 256 D1 rows.
 */
export async function readTile(env: RelayEnv, t: TileRef): Promise<Uint8Array | undefined> {
  const fromD1 = t.level === 0 || t.level === 'entries'
  if (t.width === TILE_WIDTH || !fromD1) {
    const stored = await getTile(env.BLOBS, t)
    if (stored || !fromD1) return stored
  }
  const entries = await leafEntries(env.DB, t.index * TILE_WIDTH, t.width)
  if (!entries) return undefined
  return t.level === 'entries' ? encodeBundle(entries) : leafTile(entries)
}

const cache = new WeakMap<object, Map<string, { at: number; note: Promise<string> }>>()

/** The signed checkpoint of the integrated log, cached per isolate for CHECKPOINT_TTL_MS. */
export function checkpoint(env: RelayEnv, id: LogIdentity, waitUntil: (p: Promise<unknown>) => void, now = Date.now()): Promise<string> {
  let byOrigin = cache.get(env)
  if (!byOrigin) cache.set(env, (byOrigin = new Map()))
  const hit = byOrigin.get(id.origin)
  if (hit && now - hit.at < CHECKPOINT_TTL_MS) return hit.note
  const note = computeCheckpoint(env, id, waitUntil)
  note.catch(() => byOrigin.delete(id.origin))
  byOrigin.set(id.origin, { at: now, note })
  return note
}

async function computeCheckpoint(env: RelayEnv, id: LogIdentity, waitUntil: (p: Promise<unknown>) => void): Promise<string> {
  const leaves = await logSize(env.DB)
  const { after } = await integrate(env, TILES_PER_REQUEST, leaves)
  // A backlog beyond this request's share is left to the cron (and later requests): the checkpoint
  // covers what is integrated plus at most one partial level-0 tile read from D1.
  const size = Math.min(leaves, after * TILE_WIDTH + TILE_WIDTH - 1)
  if (size < leaves && after * TILE_WIDTH + TILE_WIDTH <= leaves) waitUntil(integrate(env, TILES_PER_REQUEST * 8, leaves).catch((e) => console.error('log integration failed', e)))
  const root = await treeRoot(
    size,
    tileHashReader(size, async (level, index, width) => {
      const bytes = await readTile(env, { level, index, width })
      if (!bytes) throw new Error(`log tile ${level}/${index} (width ${width}) is missing`)
      return bytes
    }),
  )
  return signNote(formatCheckpoint({ origin: id.origin, size, root }), id.origin, id.publicKey, id.secretKey)
}
