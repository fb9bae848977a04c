import { createHash } from 'node:crypto'
import { configOf, statementsWithin, type RelayEnv } from '../config.ts'
import { LOG_PREFIX } from '../log/checkpoint.ts'
import { heldIds } from '../store/statements.ts'
import {
  decodeBundle,
  decodeDidKey,
  decodeStrictUtf8,
  HASH_SIZE,
  inclusionProof,
  LIMITS,
  leafHash,
  naiveRoot,
  noteKeyHash,
  openNote,
  parseCheckpoint,
  parseJson,
  tileHashReader,
  tilePath,
  TILE_HEIGHT,
  TILE_WIDTH,
  verifyInclusion,
  type Checkpoint,
  type Json,
  type SubtreeHash,
} from '../verify/index.ts'
import { peerKey } from './identity.ts'
import type { PeerState } from './peers.ts'
import { peerFetch, storePulled } from './pulled.ts'
import type { PullReport } from './pull.ts'
import { stats } from './stats.ts'

/**
 * Catch-up from a peer's log (PROTOCOL §6.10, "Catching up from a log"): a relay that is at least
 * one full entry bundle behind a peer copies the peer's immutable bundles (256 statements each,
 * served from R2 and cacheable at the edge) instead of feed pages, which cost the peer D1 reads.
 * The feed cursor is the leaf count (§6.10: the feed's seq is leaf index + 1), so one cursor per
 * peer says where both readers resume, and the feed pull reads the partial tail after this.
 *
 * A bundle is believed only once it hashes up to the peer's signed checkpoint: the entries'
 * subtree hash, with the peer's own tiles for the rest of the path, must reproduce the root. Then
 * each statement is still verified and admitted by the one ingest path, as a pull's are.
 */

/** Bundles per peer per round: 51,200 statements, about the 50 feed pages of 1000 a pull may read. */
export const BUNDLES_PER_RUN = 200
/** A full bundle of maximum-size statements, each with its 2-byte length. */
const BUNDLE_MAX_BYTES = TILE_WIDTH * (2 + LIMITS.statementBytes)
const TILE_MAX_BYTES = TILE_WIDTH * HASH_SIZE
/** A checkpoint is a few hundred bytes; cosignatures may add some lines. */
const CHECKPOINT_MAX_BYTES = 64 * 1024
/** After a bundle did not match its checkpoint, the peer's log is not read for this long (feed pages still are). */
export const LOG_FAULT_PAUSE_MS = 24 * 3600_000

/** A peer served log data that contradicts its own signed checkpoint: reported, nothing of it stored. */
export class LogMismatchError extends Error {
  override readonly name = 'LogMismatchError'
}

export interface TileCopy {
  state: PeerState
  /** `more`: bundles remain beyond this round's share, so the feed is not read this round. */
  outcome: 'skipped' | 'done' | 'more'
  /** Set when the round failed half-way; `state` keeps what was stored before. */
  error?: Error
}

/** The feed cursor as a leaf count, or undefined for a cursor that is not one (then tiles are not used). */
export function leafCursor(cursor: string): number | undefined {
  if (cursor === '') return 0
  return /^(0|[1-9][0-9]{0,15})$/.test(cursor) && Number.isSafeInteger(Number(cursor)) ? Number(cursor) : undefined
}

/**
 * Reads a peer's checkpoint note and checks it is signed by the key the peer publishes (as a
 * did:key at its /.well-known/vouch, read over the peer's URL): the note's key name is its origin.
 */
export async function openPeerCheckpoint(note: string, did: string): Promise<{ checkpoint: Checkpoint; note: string }> {
  const publicKey = decodeDidKey(did)
  const origin = note.slice(0, note.indexOf('\n'))
  let verified = false
  let text = ''
  try {
    if (publicKey) ({ verified, text } = await openNote(note, { name: origin, keyHash: noteKeyHash(origin, publicKey), publicKey }))
  } catch (e) {
    throw new LogMismatchError(`its checkpoint is not a signed note (${(e as Error).message})`)
  }
  const checkpoint = verified ? parseCheckpoint(text) : undefined
  if (!checkpoint) throw new LogMismatchError('its checkpoint is not signed by the key it publishes')
  return { checkpoint, note }
}

/**
 * Whether the 256 entries of full bundle `k` are leaves k·256 … k·256+255 of the signed tree:
 * an RFC 6962 inclusion proof of the bundle's first leaf whose lower eight hashes come from the
 * entries themselves (so the check covers every entry) and whose upper ones from the peer's tiles.
 */
export async function bundleMatches(k: number, leafHashes: Uint8Array[], c: Checkpoint, tiles: SubtreeHash): Promise<boolean> {
  const first = k * TILE_WIDTH
  const ours: SubtreeHash = async (level, index) => {
    const lo = index * 2 ** level
    if (level <= TILE_HEIGHT && lo >= first && lo < first + TILE_WIDTH) return naiveRoot(leafHashes.slice(lo - first, lo - first + 2 ** level))
    return tiles(level, index)
  }
  return verifyInclusion(first, c.size, leafHashes[0]!, await inclusionProof(first, c.size, ours), c.root)
}

/** SRI id of canonical statement bytes, without parsing them: held ones are not verified again. */
const idOf = (entry: Uint8Array) => `sha256-${createHash('sha256').update(entry).digest('base64')}`

/**
 * Copies full bundles from the peer's log, from the bundle holding leaf `state.cursor` up to its
 * checkpoint, at most BUNDLES_PER_RUN (fewer on a small CPU budget: a relay that cannot ingest 256
 * statements in one invocation reads feed pages only). Moves the cursor after each stored bundle.
 */
export async function copyFromTiles(env: RelayEnv, peer: string, self: string | undefined, state: PeerState, report: PullReport, now = Date.now()): Promise<TileCopy> {
  const skip: TileCopy = { state, outcome: 'skipped' }
  const start = leafCursor(state.cursor)
  const budget = Math.min(BUNDLES_PER_RUN, Math.floor(statementsWithin(configOf(env).cpuBudgetMs) / TILE_WIDTH))
  if (start === undefined || budget < 1 || (state.logFault && now - state.logFault.at < LOG_FAULT_PAUSE_MS)) return skip
  const did = await peerKey(env, peer)
  if (!did) return skip
  const base = `${peer}${LOG_PREFIX}`
  let note = ''
  let bundle = -1
  try {
    const res = await peerFetch(env, `${base}/checkpoint`, CHECKPOINT_MAX_BYTES, report)
    // No log (404), or one that cannot be read now: the feed serves everything the log would.
    if (res.status !== 200) return skip
    note = decodeStrictUtf8(res.bytes) ?? ''
    const { checkpoint: c } = await openPeerCheckpoint(note, did)
    const first = Math.floor(start / TILE_WIDTH)
    const end = Math.floor(c.size / TILE_WIDTH)
    // Less than a bundle of new leaves: a feed page of ids is cheaper than a bundle of bodies.
    if (end * TILE_WIDTH - start < TILE_WIDTH) return skip
    const last = Math.min(end, first + budget)
    const get = async (path: string, max: number) => {
      const r = await peerFetch(env, `${base}/${path}`, max, report)
      if (r.status !== 200) throw new Error(`${LOG_PREFIX}/${path} answered HTTP ${r.status} below its checkpoint's size ${c.size}`)
      return r.bytes
    }
    const tiles = tileHashReader(c.size, (level, index, width) => get(tilePath({ level, index, width }), TILE_MAX_BYTES))
    const fetchBundle = (k: number) => get(tilePath({ level: 'entries', index: k, width: TILE_WIDTH }), BUNDLE_MAX_BYTES)
    let next: Promise<Uint8Array> | undefined = fetchBundle(first)
    for (let k = first; k < last; k++) {
      bundle = k
      const bytes = await next!
      // The next bundle downloads while this one is checked and stored.
      next = k + 1 < last ? fetchBundle(k + 1) : undefined
      next?.catch(() => {})
      let entries: Uint8Array[]
      try {
        entries = decodeBundle(bytes)
      } catch (e) {
        throw new LogMismatchError(`bundle ${k} is malformed (${(e as Error).message})`)
      }
      if (entries.length !== TILE_WIDTH) throw new LogMismatchError(`bundle ${k} holds ${entries.length} entries, not ${TILE_WIDTH}`)
      if (!(await bundleMatches(k, entries.map(leafHash), c, tiles))) throw new LogMismatchError(`bundle ${k} does not hash to the root of its signed checkpoint (size ${c.size})`)
      report.bundles = (report.bundles ?? 0) + 1
      stats.pullBundles++
      const fresh = entries.slice(Math.max(0, start - k * TILE_WIDTH))
      const held = await heldIds(env.DB, fresh.map(idOf))
      const items: Json[] = []
      for (const e of fresh) {
        if (held.has(idOf(e))) continue
        const text = decodeStrictUtf8(e)
        let item: Json | undefined
        try {
          item = text === undefined ? undefined : parseJson(text, { maxDepth: LIMITS.bodyDepth + 1 })
        } catch {
          item = undefined
        }
        // A logged entry that is not JSON is dropped and counted, as an invalid statement in a page is.
        if (item === undefined) report.invalid++
        else items.push(item)
      }
      if (items.length) {
        let deferred: number
        ;({ state, deferred } = await storePulled(env, peer, self, items, report, state))
        // Refused for now (a quota): this bundle is read again next round.
        if (deferred) return { state, outcome: 'more' }
      }
      state = { ...state, cursor: String((k + 1) * TILE_WIDTH) }
    }
    return { state, outcome: last === end ? 'done' : 'more' }
  } catch (e) {
    if (!(e instanceof LogMismatchError)) return { state, outcome: 'more', error: e as Error }
    const message = `peer log: ${e.message}`
    console.warn(`peer ${peer}: ${message}; nothing from it stored, its log is not read for a day`)
    stats.logFaults++
    return { state: { ...state, logFault: { at: now, message, checkpoint: note, ...(bundle >= 0 && { bundle }) } }, outcome: 'more', error: e }
  }
}
