/**
 * The latest witnessed checkpoint as the witness requirement's fallback (issue 16 follow-up,
 * PROTOCOL §6.11): a relay's witnesses cosign once a cron round (~1 min), so on a busy log its
 * newest checkpoint usually has no cosignatures yet. The client then believes the newest tree
 * only as far as the latest witnessed checkpoint reaches, once that checkpoint is proven to be a
 * prefix of it. Believing the whole newest tree because a witnessed prefix is consistent with it
 * would let the relay show this client alone a fork of the unwitnessed tail: only the prefix counts.
 */
import {
  consistencyProof,
  decodeStrictUtf8,
  evidencePath,
  formatEvidence,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  rebuildConsistency,
  verifyConsistency,
  type Checkpoint,
  type CosignerKey,
  type Evidence,
} from '../verify/index.ts'
import { LogForkError, RelayProblemError } from './errors.ts'
import { readCapped, send, timeoutOf, type RequestOptions } from './http.ts'
import type { BeliefRefusal, SignedCheckpoint } from './log.ts'
import { tileSubtrees, type TileCache } from './tiles.ts'
import { countWitnesses } from './witnessed.ts'

/** A witnessed checkpoint is a checkpoint plus a few signature lines (NOTE_MAX_SIGNATURES at most). */
const NOTE_BYTES = 64 * 1024

/** A note with its log's signature line only (witness cosignatures are not the evidence, and cost meta bytes). */
export function logOnly(note: string, name: string): string {
  const split = note.lastIndexOf('\n\n')
  const lines = note.slice(split + 2, -1).split('\n').filter((l) => l.startsWith(`— ${name} `))
  return `${note.slice(0, split + 2)}${lines.map((l) => `${l}\n`).join('')}`
}

/** Belief in the leaves below `size` only: those a witnessed checkpoint (`note`) consistent with this one holds (PROTOCOL §6.11). */
export interface PrefixBelief {
  size: number
  note: string
  /** Why a leaf at or beyond `size` is refused. */
  tail: (index: number) => string
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * `c`'s relay's latest witnessed checkpoint (`GET <log>/witnessed`), when it is signed by the same
 * log key as `c`, has k valid cosignatures of named witnesses, and is consistent with `c`: `true`
 * when it covers all of `c`'s tree, a PrefixBelief for the leaves below its size otherwise, or a
 * refusal that says why not (`why` is the current checkpoint's own shortfall). Two checkpoints of
 * one key that are not consistent are a fork: LogForkError, with portable evidence when the
 * relay's own hashes rebuild the larger root (as the LogChecker's reconcile reports it).
 */
export async function witnessedPrefix(
  c: SignedCheckpoint,
  keys: readonly CosignerKey[],
  req: { k: number; clockSkewMs?: number; maxAgeSeconds?: number },
  nowMs: number,
  why: string,
): Promise<true | PrefixBelief | BeliefRefusal> {
  const cur = c.checkpoint
  const refuse = (more: string): BeliefRefusal => ({ code: 'not_witnessed', message: `${why}, and ${more}. Its answers were dropped` })
  const { base, tiles } = c.log!
  const o = c.log!.request ?? {}
  const url = `${base}/witnessed`
  const timeout = AbortSignal.timeout(timeoutOf(o))
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
  let note: string | undefined
  try {
    const res = await send(url, { headers: { 'cache-control': 'no-cache' } }, { ...o, signal })
    const body = await readCapped(res, url, NOTE_BYTES, signal)
    if (res.status === 404) return refuse('it has no witnessed checkpoint yet')
    if (res.status !== 200) return refuse(`${url} answered HTTP ${res.status}`)
    note = decodeStrictUtf8(body)
  } catch (e) {
    if (o.signal?.aborted || !(e instanceof RelayProblemError)) throw e
    return refuse(`its latest witnessed checkpoint could not be had (${e.message})`)
  }
  const verifier = parseVerifierKey(c.verifierKey)!
  let w: Checkpoint | undefined
  try {
    const opened = note === undefined ? undefined : await openNote(note, verifier)
    w = opened?.verified ? parseCheckpoint(opened.text) : undefined
  } catch {
    w = undefined
  }
  if (!w || w.origin !== cur.origin) return refuse(`its latest witnessed checkpoint (${url}) is not a checkpoint of ${cur.origin} signed by its key`)
  const count = await countWitnesses(note!, keys, req.k, { nowMs, clockSkewMs: req.clockSkewMs, maxAgeSeconds: req.maxAgeSeconds }).catch((e: unknown) => {
    if (e instanceof RangeError) return undefined
    throw e
  })
  if (!count) return refuse(`its latest witnessed checkpoint cannot be read for cosignatures`)
  if (!count.ok) return refuse(`its latest witnessed checkpoint (${w.size} leaves) has ${count.cosigners.length} of them`)
  await proveConsistent(c, note!, w, tiles, o)
  if (w.size >= cur.size) return true
  const names = count.cosigners.map((x) => x.name).join(', ')
  return {
    size: w.size,
    note: note!,
    tail: (index) =>
      `leaf ${index} of ${c.relay}'s log ${cur.origin} is not witnessed yet: the latest checkpoint its witnesses cosigned (${names}) has ${w.size === 1 ? '1 leaf' : `${w.size} leaves`}, ` +
      `its current one ${cur.size} and no cosignatures of its own; retry after the relay's next witness round (about a minute)`,
  }
}

/** Throws LogForkError unless the witnessed checkpoint `w` and the current one are one history. */
async function proveConsistent(c: SignedCheckpoint, note: string, w: Checkpoint, tiles: TileCache, o: RequestOptions) {
  const cur = c.checkpoint
  const base = c.log!.base
  const [small, big] = w.size <= cur.size ? [w, cur] : [cur, w]
  const notes = (): [string, string] => {
    const [a, b] = [logOnly(note, cur.origin), logOnly(c.note, cur.origin)]
    return w.size <= cur.size ? [a, b] : [b, a]
  }
  const fork = (reason: string, equivocation?: Evidence) =>
    new LogForkError({ relay: c.relay, origin: cur.origin, verifierKey: c.verifierKey, kept: note, received: c.note, reason, ...(equivocation && { equivocation }) })
  if (small.size === big.size) {
    if (!equal(small.root, big.root)) throw fork(`its latest witnessed checkpoint and its current one are two different trees of ${big.size} leaves`, formatEvidence(...notes(), []))
    return
  }
  if (small.size === 0) return
  const h = tileSubtrees(base, big.size, tiles, o)
  let proof: Uint8Array[]
  try {
    proof = await consistencyProof(small.size, big.size, h)
  } catch (e) {
    if (e instanceof RangeError) throw new RelayProblemError({ kind: 'invalid', code: 'bad_tile', message: `${base}: ${e.message}` })
    throw e
  }
  if (verifyConsistency(small.size, big.size, proof, small.root, big.root)) return
  const path = await evidencePath(small.size, big.size, proof, h).catch(() => undefined)
  const rebuilt = path && rebuildConsistency(small.size, big.size, path)
  const equivocation = rebuilt && equal(rebuilt.newRoot, big.root) && !equal(rebuilt.oldRoot, small.root) ? formatEvidence(...notes(), path!) : undefined
  tiles.forget(`${base}/`)
  throw fork(`its latest witnessed checkpoint of ${w.size} leaves and its current checkpoint of ${cur.size} are not one history`, equivocation)
}
