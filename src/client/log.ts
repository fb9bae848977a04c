/**
 * Checking a relay's log (PROTOCOL §6.10): every statement a verdict rests on is included in the
 * relay's signed checkpoint, and every checkpoint is consistent with the last one kept from that
 * log. Proofs are computed here from the relay's hash tiles, never taken from the relay.
 */
import {
  consistencyProof,
  evidencePath,
  formatEvidence,
  inclusionProof,
  leafHash,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  rebuildConsistency,
  utf8,
  verifyConsistency,
  type Checkpoint,
  type Evidence,
  type NoteVerifier,
  type OpenedNote,
} from '../verify/index.ts'
import { LogForkError, RelayProblemError, type ForkEvidence } from './errors.ts'
import { httpProblem, readCapped, requestJson, send, timeoutOf, type RequestOptions } from './http.ts'
import { ProvenTree } from './inclusion.ts'
import { TileCache, tileSubtrees, type TileSubtrees } from './tiles.ts'
import { memoryCheckpointStore, type CheckpointStore, type KeptCheckpoint } from './checkpoints.ts'
import { logOnly, type PrefixBelief } from './witnessed-prefix.ts'
export type { PrefixBelief } from './witnessed-prefix.ts'
export { memoryCheckpointStore, type CheckpointStore, type KeptCheckpoint } from './checkpoints.ts'

/** A checkpoint whose relay signature verified, before the belief policy has had its say. */
export interface SignedCheckpoint {
  relay: string
  /** The log's note verifier key, from the relay's /.well-known/vouch. */
  verifierKey: string
  note: string
  opened: OpenedNote
  checkpoint: Checkpoint
  /** Where its log's tiles are, for a belief that proves more from them (./witnessed-prefix.ts). */
  log?: { base: string; tiles: TileCache; request?: RequestOptions }
}

/** Why a checkpoint (or a relay without a log) is not believed: the relay's report carries this code. */
export interface BeliefRefusal {
  code: string
  message: string
}

/**
 * Whether a correctly signed checkpoint is believed: `true`, or why not (a string is reported as
 * `checkpoint_not_believed`). By default the relay's own signature suffices; a requirement of k
 * witness cosignatures (tlog-cosignature, PROTOCOL §6.11) is `witnessBelief` in ./witnessed.ts; a
 * PrefixBelief believes only the leaves a consistent witnessed checkpoint holds.
 */
export type CheckpointBelief = (c: SignedCheckpoint) => Promise<true | string | BeliefRefusal | PrefixBelief>
export const believeRelaySignature: CheckpointBelief = async () => true

export interface LogCheckOptions {
  store?: CheckpointStore
  believe?: CheckpointBelief
  /** Whether a relay that publishes no log is believed unchecked (the default), or refused. */
  unlogged?: (relay: string) => true | BeliefRefusal
  /**
   * How long to wait before asking once more for a checkpoint that covers a statement beyond the
   * current one: a relay recomputes its checkpoint at most once a second (§6.10). Default 1100 ms.
   */
  retryMs?: number
  tiles?: TileCache
}

/** One statement to check: its leaf index as the relay said, and its canonical bytes (`id` names it in `evidence`). */
export interface LeafClaim {
  index: number | undefined
  canonical: string
  id?: string
}

/**
 * A log's evidence for statements, to carry offline (a bundle's `log`, docs/POLICY.md): the
 * signed checkpoint they were checked against and, per statement, its leaf index and RFC 6962
 * inclusion proof in that checkpoint's tree.
 */
export interface LogEvidence {
  relay: string
  origin: string
  verifierKey: string
  /** The checkpoint, a C2SP signed note, verbatim. */
  checkpoint: string
  entries: { id: string; index: number; proof: Uint8Array[] }[]
}

/** Why a statement failed the log check (it is dropped from that relay's answer), or undefined. */
export type LeafVerdict = { code: 'no_leaf_index' | 'not_logged' | 'not_in_log' | 'not_witnessed'; message: string } | undefined

interface LogInfo {
  origin: string
  verifierKey: string
  verifier: NoteVerifier
  base: string
}

/** Where a relay stands: its log and the checkpoint checked against, or no log at all. */
type RelayLog = { log: LogInfo; cp: Checkpoint; note: string; h: TileSubtrees; tree: ProvenTree; prefix?: PrefixBelief } | { log: undefined }

const CHECKPOINT_BYTES = 64 * 1024
const WELL_KNOWN_BYTES = 256 * 1024
const invalid = (code: string, message: string) => new RelayProblemError({ kind: 'invalid', code, message })

/**
 * One command's view of the relays' logs. Each relay's checkpoint is fetched and reconciled with
 * the kept one once (and once more when a statement is newer than it), however many reads ask.
 */
export class LogChecker {
  readonly store: CheckpointStore
  private readonly believe: CheckpointBelief
  private readonly unlogged: (relay: string) => true | BeliefRefusal
  private readonly retryMs: number
  private readonly tiles: TileCache
  private readonly current = new Map<string, Promise<RelayLog>>()
  private readonly fresher = new Map<string, Promise<RelayLog>>()
  /** Statements (by id) that passed, per relay and leaf index: kept only after `keepEvidence()`. */
  private proven: Map<string, Map<string, number>> | undefined

  constructor(o: LogCheckOptions = {}) {
    this.store = o.store ?? memoryCheckpointStore()
    this.believe = o.believe ?? believeRelaySignature
    this.unlogged = o.unlogged ?? (() => true)
    this.retryMs = o.retryMs ?? 1100
    this.tiles = o.tiles ?? new TileCache()
    if (!(this.retryMs >= 0)) throw new RangeError(`retryMs must be a non-negative number, got ${this.retryMs}`)
  }

  /**
   * Checks that each statement is in `relay`'s log at the index the relay gave. Per-statement
   * failures come back in order (the caller drops those statements); a relay that cannot show a
   * believable log throws RelayProblemError, and one that forked throws LogForkError. A relay
   * that publishes no log, and never did to this store, passes unchecked (there is nothing to
   * check against); `checked` says which.
   */
  async check(relay: string, items: readonly LeafClaim[], o: RequestOptions = {}): Promise<{ checked: boolean; verdicts: LeafVerdict[] }> {
    let state = await this.relayLog(relay, o, this.current)
    if (!state.log) return { checked: false, verdicts: items.map(() => undefined) }
    // A statement just accepted may be newer than the checkpoint, recomputed once a second: ask once more.
    if (items.some((it) => it.index !== undefined && it.index >= (state as { cp: Checkpoint }).cp.size)) {
      await sleep(this.retryMs, o.signal)
      const fresh = this.relayLog(relay, o, this.fresher)
      state = await fresh
      // Later reads of this command use the fresher checkpoint rather than waiting for it again.
      this.current.set(relay, fresh)
      if (!state.log) throw invalid('log_changed', `${relay} stopped publishing its log`)
    }
    const { cp, tree, log, prefix } = state
    const verdicts: LeafVerdict[] = []
    for (const it of items) {
      if (it.index === undefined) verdicts.push({ code: 'no_leaf_index', message: `${relay} publishes a log but did not say where this statement is in it` })
      else if (!Number.isSafeInteger(it.index) || it.index < 0) verdicts.push({ code: 'not_in_log', message: `${relay} gave the leaf index ${it.index}` })
      else if (it.index >= cp.size) verdicts.push({ code: 'not_logged', message: `${relay}'s log does not reach leaf ${it.index} (its checkpoint has ${cp.size}) a second after it was asked again` })
      else if (prefix && it.index >= prefix.size) verdicts.push({ code: 'not_witnessed', message: prefix.tail(it.index) })
      else {
        if (await this.proof(log, () => tree.includes(it.index!, leafHash(utf8(it.canonical))))) {
          verdicts.push(undefined)
          if (this.proven && it.id !== undefined) mapOf(this.proven, it.id, () => new Map<string, number>()).set(relay, it.index)
        } else {
          this.tiles.forget(`${log.base}/`)
          verdicts.push({ code: 'not_in_log', message: `${relay}'s log ${log.origin} does not hold this statement at leaf ${it.index}` })
        }
      }
    }
    return { checked: true, verdicts }
  }

  /** From now on, remember which statements passed where, for `evidence` (a bundle needs it; a plain check does not). */
  keepEvidence(): void {
    this.proven ??= new Map()
  }

  /**
   * For the statements `ids` that passed `check` since `keepEvidence()`, each relay's evidence:
   * the checkpoint of this command and full inclusion proofs in it, from the cached tiles. One
   * group per relay; statements sorted by index.
   */
  async evidence(ids: Iterable<string>, o: RequestOptions = {}): Promise<LogEvidence[]> {
    if (!this.proven) throw new Error('evidence() needs keepEvidence() before the checks')
    const byRelay = new Map<string, { id: string; index: number }[]>()
    for (const id of new Set(ids)) for (const [relay, index] of this.proven.get(id) ?? []) mapOf(byRelay, relay, () => []).push({ id, index })
    const out: LogEvidence[] = []
    for (const [relay, leaves] of [...byRelay].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const state = await this.relayLog(relay, o, this.current)
      if (!state.log) continue
      const { log, cp, note, h } = state
      leaves.sort((a, b) => a.index - b.index || (a.id < b.id ? -1 : 1))
      const entries: LogEvidence['entries'] = []
      for (const { id, index } of leaves) entries.push({ id, index, proof: await this.proof(log, () => inclusionProof(index, cp.size, h)) })
      out.push({ relay, origin: log.origin, verifierKey: log.verifierKey, checkpoint: note, entries })
    }
    return out
  }

  /** Where statements passed `check` since `keepEvidence()` (relay → leaf index), and this command's view of a relay's log: for ./timebound.ts. */
  leaves = (id: string): ReadonlyMap<string, number> | undefined => this.proven?.get(id)
  async view(relay: string, o: RequestOptions = {}) {
    const s = await this.relayLog(relay, o, this.current)
    return s.log && { ...s.log, cp: s.cp, tiles: this.tiles }
  }

  /** A proof from tiles; a tile that cannot be had is the relay's failure, not the statement's. */
  private async proof<T>(log: LogInfo, make: () => Promise<T>): Promise<T> {
    try {
      return await make()
    } catch (e) {
      if (e instanceof RangeError) throw invalid('bad_tile', `${log.base}: ${e.message}`)
      throw e
    }
  }

  private relayLog(relay: string, o: RequestOptions, memo: Map<string, Promise<RelayLog>>): Promise<RelayLog> {
    let p = memo.get(relay)
    if (!p) {
      p = this.load(relay, o)
      memo.set(relay, p)
      // A network failure is not remembered: the next read of this command may reach the relay.
      p.catch(() => memo.delete(relay))
    }
    return p
  }

  private async load(relay: string, o: RequestOptions): Promise<RelayLog> {
    const log = await this.logInfo(relay, o)
    const pinned = await this.store.relayLog(relay)
    if (!log) {
      if (pinned) throw invalid('log_changed', `${relay} served the log ${pinned} before and now publishes none`)
      const u = this.unlogged(relay)
      if (u !== true) throw invalid(u.code, u.message)
      return { log: undefined }
    }
    const kept = await this.store.checkpoint(log.origin)
    if (kept && kept.verifierKey !== log.verifierKey) throw invalid('log_changed', `${relay}'s log ${log.origin} is now signed by ${log.verifierKey}, not ${kept.verifierKey} as before`)
    const signed = await this.fetchCheckpoint(relay, log, o)
    const belief = await this.believe({ ...signed, log: { base: log.base, tiles: this.tiles, request: o } })
    if (typeof belief === 'string') throw invalid('checkpoint_not_believed', `${relay}'s checkpoint is not believed: ${belief}`)
    if (belief !== true && 'code' in belief) throw invalid(belief.code, belief.message)
    const { cp, note } = await this.reconcile(log, kept, signed, o)
    if (pinned !== log.origin) await this.store.keepRelayLog(relay, log.origin)
    const h = tileSubtrees(log.base, cp.size, this.tiles, o)
    return { log, cp, note, h, tree: new ProvenTree(cp.size, cp.root, h), ...(belief !== true && { prefix: belief }) }
  }

  /** `/.well-known/vouch`'s `log`, or undefined when the relay publishes none (or is no relay). */
  private async logInfo(relay: string, o: RequestOptions): Promise<LogInfo | undefined> {
    const url = `${relay}/.well-known/vouch`
    let json: unknown
    try {
      json = (await requestJson(url, { headers: { accept: 'application/json' } }, { ...o, maxBytes: WELL_KNOWN_BYTES, maxDepth: 12 })).json
    } catch (e) {
      if (e instanceof RelayProblemError && e.problem.kind !== 'network') return undefined
      throw e
    }
    const l = (json as { log?: { origin?: unknown; verifierKey?: unknown; prefix?: unknown } | null } | null)?.log
    if (l === null || l === undefined) return undefined
    const verifier = typeof l.verifierKey === 'string' ? parseVerifierKey(l.verifierKey) : undefined
    if (!verifier || verifier.name !== l.origin || typeof l.prefix !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(l.prefix)) {
      throw invalid('bad_log_info', `${url}: its log is not {origin, verifierKey named by the origin, prefix}`)
    }
    return { origin: l.origin, verifierKey: l.verifierKey as string, verifier, base: `${relay}${l.prefix}` }
  }

  private async fetchCheckpoint(relay: string, log: LogInfo, o: RequestOptions): Promise<SignedCheckpoint> {
    const url = `${log.base}/checkpoint`
    const timeout = AbortSignal.timeout(timeoutOf(o))
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
    const res = await send(url, { headers: { 'cache-control': 'no-cache' } }, { ...o, signal })
    const body = await readCapped(res, url, CHECKPOINT_BYTES, signal)
    if (res.status !== 200) throw httpProblem(url, res.status, body)
    const note = new TextDecoder().decode(body)
    let opened: OpenedNote
    try {
      opened = await openNote(note, log.verifier)
    } catch (e) {
      throw invalid('bad_checkpoint', `${url}: ${(e as Error).message}`)
    }
    if (!opened.verified) throw invalid('bad_checkpoint', `${url} is not signed by the log's key ${log.verifierKey}`)
    const checkpoint = parseCheckpoint(opened.text)
    if (!checkpoint || checkpoint.origin !== log.origin) throw invalid('bad_checkpoint', `${url} is not a checkpoint of ${log.origin}`)
    return { relay, verifierKey: log.verifierKey, note, opened, checkpoint }
  }

  /**
   * The checkpoint to check statements against, after proving the new one consistent with the
   * kept one. A larger one is kept from now on. A smaller one must be a prefix of the kept one (an
   * instance of the relay a second behind another), and the kept one stays in use. Anything else
   * is a fork: the kept checkpoint is never replaced by one inconsistent with it.
   */
  private async reconcile(log: LogInfo, kept: KeptCheckpoint | undefined, now: SignedCheckpoint, o: RequestOptions): Promise<{ cp: Checkpoint; note: string }> {
    const cur = now.checkpoint
    if (!kept) {
      await this.store.keepCheckpoint(log.origin, { verifierKey: log.verifierKey, note: now.note })
      return { cp: cur, note: now.note }
    }
    const old = await openKept(log, kept)
    const fork = (reason: string, equivocation?: Evidence): LogForkError => {
      const evidence: ForkEvidence = { relay: now.relay, origin: log.origin, verifierKey: log.verifierKey, kept: kept.note, received: now.note, reason, ...(equivocation && { equivocation }) }
      return new LogForkError(evidence)
    }
    // Both notes, the smaller tree's first, with only the log's own signature line kept: the evidence a claim carries.
    const notes = (): [string, string] => {
      const [a, b] = [logOnly(kept.note, log.origin), logOnly(now.note, log.origin)]
      return old.size <= cur.size ? [a, b] : [b, a]
    }
    if (old.size === cur.size) {
      if (!equal(old.root, cur.root)) throw fork(`two different roots for the tree of ${cur.size} leaves`, formatEvidence(...notes(), []))
      return { cp: cur, note: now.note }
    }
    const [small, big] = old.size < cur.size ? [old, cur] : [cur, old]
    if (small.size > 0) {
      const h = tileSubtrees(log.base, big.size, this.tiles, o)
      let proof: Uint8Array[]
      try {
        proof = await this.proof(log, () => consistencyProof(small.size, big.size, h))
      } catch (e) {
        // A relay that went back and no longer serves the tree it signed has rewound; one that
        // cannot serve the tiles of its new tree is just failing (nothing is kept from it).
        if (cur.size < old.size && e instanceof RelayProblemError && e.problem.code === 'bad_tile') throw fork(`it went back from ${old.size} leaves to ${cur.size} and no longer serves the tree of ${old.size} it signed (${e.message})`)
        throw e
      }
      if (!verifyConsistency(small.size, big.size, proof, small.root, big.root)) {
        // Portable only when the relay's own hashes rebuild its larger signed root (src/verify/equivocation.ts).
        const path = await evidencePath(small.size, big.size, proof, h).catch(() => undefined)
        const rebuilt = path && rebuildConsistency(small.size, big.size, path)
        const equivocation = rebuilt && equal(rebuilt.newRoot, big.root) && !equal(rebuilt.oldRoot, small.root) ? formatEvidence(...notes(), path!) : undefined
        this.tiles.forget(`${log.base}/`)
        throw fork(cur.size < old.size ? `it went back from ${old.size} leaves to ${cur.size}, and ${cur.size} is not a prefix of the tree it signed before` : `its tree of ${cur.size} leaves does not extend the tree of ${old.size} it signed before`, equivocation)
      }
    }
    if (cur.size > old.size) await this.store.keepCheckpoint(log.origin, { verifierKey: log.verifierKey, note: now.note })
    return big === cur ? { cp: cur, note: now.note } : { cp: old, note: kept.note }
  }
}

/** The kept checkpoint, checked again: a store is a file anyone may have edited. */
async function openKept(log: LogInfo, kept: KeptCheckpoint): Promise<Checkpoint> {
  const bad = () => invalid('bad_kept_checkpoint', `the checkpoint kept for ${log.origin} does not verify under its key; delete it (vouch keeps it under $VOUCH_HOME/logs) to start afresh`)
  let opened: OpenedNote
  try {
    opened = await openNote(kept.note, log.verifier)
  } catch {
    throw bad()
  }
  const cp = opened.verified ? parseCheckpoint(opened.text) : undefined
  if (!cp || cp.origin !== log.origin) throw bad()
  return cp
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

const mapOf = <K, V>(m: Map<K, V>, k: K, make: () => V): V => m.get(k) ?? (m.set(k, make()), m.get(k)!)

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted()
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true })
  })
}

/**
 * The `leaves` of a statements page (PROTOCOL §6.3), parallel to `statements`; all undefined when
 * the relay sent none (one without a log need not). Anything else malformed refuses the page.
 */
export function pageLeaves(page: { leaves?: unknown }, count: number, url: string): (number | undefined)[] {
  const l = page.leaves
  if (l === undefined) return Array.from({ length: count }, () => undefined)
  if (!Array.isArray(l) || l.length !== count || !l.every((i) => Number.isSafeInteger(i) && (i as number) >= 0)) {
    throw invalid('bad_answer', `${url}: leaves is not one leaf index per statement`)
  }
  return l as number[]
}

/**
 * Drops from one relay's verified statements those its log does not prove, as `dropped` entries.
 * Without a checker everything passes: the log check is the caller's choice (the CLI always makes it).
 */
export async function keepLogged<T extends { id: string; canonical: string }>(
  log: LogChecker | undefined,
  relay: string,
  items: { v: T; index: number | undefined }[],
  o: RequestOptions,
): Promise<{ good: T[]; dropped: { id: string; code: string; message: string }[] }> {
  if (!log || items.length === 0) return { good: items.map((i) => i.v), dropped: [] }
  const { verdicts } = await log.check(relay, items.map((i) => ({ index: i.index, canonical: i.v.canonical, id: i.v.id })), o)
  const good: T[] = []
  const dropped: { id: string; code: string; message: string }[] = []
  for (const [k, it] of items.entries()) {
    const bad = verdicts[k]
    if (bad) dropped.push({ id: it.v.id, ...bad })
    else good.push(it.v)
  }
  return { good, dropped }
}
