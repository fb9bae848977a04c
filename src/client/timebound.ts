/**
 * Time a stolen key cannot fake (issue 16.6, PROTOCOL §6.13). A statement's own `time` is its
 * key's word. A witness cosignature carries the witness's own clock, so a checkpoint that k named
 * witnesses cosigned, and that includes the statement, proves the statement existed by the k-th
 * earliest of their times: fewer than k colluding witnesses cannot move that earlier.
 */
import { canonicalize, consistencyProof, decodeStrictUtf8, inclusionProof, leafHash, openNote, parseCheckpoint, parseCosignerKey, utf8, verifyConsistency, type Checkpoint, type CosignerKey, type Json, type Statement } from '../verify/index.ts'
import { RelayProblemError } from './errors.ts'
import { readCapped, send, timeoutOf, type RequestOptions } from './http.ts'
import { ProvenTree } from './inclusion.ts'
import type { LogChecker } from './log.ts'
import { tileSubtrees } from './tiles.ts'
import { countWitnesses } from './witnessed.ts'

export interface TimeBound {
  /** When k named witnesses had cosigned a checkpoint that includes the statement (ms): the end of the second the k-th earliest cosignature names. */
  at: number
  /** Those k witnesses, earliest first. */
  by: string[]
  relay: string
  /** The witnessed checkpoint's tree size. */
  size: number
  /** The witnessed checkpoint (signed note with its cosignatures) and the statement's leaf in it: what a bundle carries. */
  note: string
  index: number
}

/** Why a relay gave no bound: the statement then has none from it (and a revoked key's claim does not count). */
export interface NoBound {
  relay: string
  code: 'no_log' | 'not_witnessed' | 'bad_witnessed' | 'not_consistent' | 'not_included' | 'unreachable' | 'over_budget'
  message: string
}

export interface BoundRequirement {
  witnesses: readonly CosignerKey[]
  k: number
  /** How far in the future a cosignature's time may be; default 5 minutes. */
  clockSkewMs?: number
  now?: () => number
}

/** A witnessed checkpoint is a checkpoint plus a few signature lines. */
const NOTE_BYTES = 64 * 1024
/** The statements of revoked keys one verdict proves bounds for; beyond, the rest get none (and do not count). */
export const MAX_BOUNDED = 100
const CONCURRENCY = 8
/**
 * Time-bound requests (a witnessed checkpoint each, and the tiles its proofs need) one command
 * makes of one relay, over all its verdicts. A relay serving many statements of a revoked key
 * (a thief holding it mints as many as it likes) would otherwise cost MAX_BOUNDED requests per
 * verdict, and a lockfile has a verdict per package.
 */
export const BOUNDS_PER_RELAY = 100

/** One command's time-bound requests per relay, and the witnessed checkpoints already checked, shared by its verdicts. */
export class BoundBudget {
  readonly memo = new Map<string, Promise<Witnessed | NoBound>>()
  private readonly used = new Map<string, number>()
  private readonly refused = new Map<string, number>()
  constructor(readonly perRelay: number = BOUNDS_PER_RELAY) {
    if (!Number.isSafeInteger(perRelay) || perRelay < 0) throw new RangeError(`perRelay must be a whole number, got ${perRelay}`)
  }

  /** Whether one more request to `relay` is within the budget (and counts it). */
  take(relay: string): boolean {
    const n = this.used.get(relay) ?? 0
    if (n < this.perRelay) return this.used.set(relay, n + 1), true
    this.refused.set(relay, (this.refused.get(relay) ?? 0) + 1)
    return false
  }

  /** Why `relay` gave no bound: the budget was spent. */
  spent(relay: string): NoBound {
    return { relay, code: 'over_budget', message: `${relay} was already asked for ${this.perRelay} time bounds in this command; no bound from this relay for the rest` }
  }

  /** One line per relay whose budget ran out, with how many statements then got no bound from it. */
  problems(): string[] {
    return [...this.refused].map(([relay, n]) => `${relay} was asked for ${this.perRelay} time bounds in this command; ${n} more statement${n === 1 ? '' : 's'} of revoked keys got no bound from it`)
  }
}

/** Every command has one LogChecker, so its budget hangs off it: each caller of witnessedTimes shares it without passing it around. */
const budgets = new WeakMap<LogChecker, BoundBudget>()
export const boundBudget = (log: LogChecker): BoundBudget => budgets.get(log) ?? (budgets.set(log, new BoundBudget()), budgets.get(log)!)

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * The time bound `relay`'s log gives the statement at leaf `index`: its witnessed checkpoint for
 * that index, signed by the log key the checker trusts, with k valid cosignatures of named
 * witnesses, a tree that includes the leaf and is consistent with the relay's checkpoint this
 * command checked. Proofs come from the relay's tiles at the larger of the two sizes (every
 * complete subtree a smaller tree needs is one of the larger tree). Anything a hostile relay
 * serves ends in a NoBound, never a throw; only the caller's abort throws.
 */
export async function proveTimeBound(
  log: LogChecker,
  relay: string,
  leaf: { index: number; canonical: string },
  req: BoundRequirement,
  o: RequestOptions = {},
  memo: Map<string, Promise<Witnessed | NoBound>> = new Map(),
): Promise<TimeBound | NoBound> {
  const no = (code: NoBound['code'], message: string): NoBound => ({ relay, code, message })
  try {
    const view = await log.view(relay, o)
    if (!view) return no('no_log', `${relay} publishes no log`)
    const url = `${view.base}/witnessed?index=${leaf.index}`
    const timeout = AbortSignal.timeout(timeoutOf(o))
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout
    const res = await send(url, {}, { ...o, signal })
    const body = await readCapped(res, url, NOTE_BYTES, signal)
    if (res.status === 404) return no('not_witnessed', `${relay} has no witnessed checkpoint that includes leaf ${leaf.index}`)
    if (res.status !== 200) return no('bad_witnessed', `${url}: HTTP ${res.status}`)
    const note = decodeStrictUtf8(body)
    if (note === undefined) return no('bad_witnessed', `${url} is not UTF-8`)
    // Statements near each other share a witnessed checkpoint: its signatures and consistency are checked once.
    const key = `${relay}\n${note}`
    let checked = memo.get(key)
    if (!checked) memo.set(key, (checked = witnessedCheckpoint(view, relay, note, req, o)))
    const w = await checked
    if ('code' in w) return w
    if (w.cp.size <= leaf.index) return no('not_included', `${url} names a tree of ${w.cp.size} leaves, which cannot hold leaf ${leaf.index}`)
    if (!(await w.tree.includes(leaf.index, leafHash(utf8(leaf.canonical))))) {
      view.tiles.forget(`${view.base}/`)
      return no('not_included', `${relay}'s witnessed checkpoint of ${w.cp.size} leaves does not hold this statement at leaf ${leaf.index}`)
    }
    return { at: w.at, by: w.by, relay, size: w.cp.size, note, index: leaf.index }
  } catch (e) {
    if (o.signal?.aborted) throw e
    const code = e instanceof RelayProblemError && e.problem.kind === 'network' ? 'unreachable' : 'bad_witnessed'
    return no(code, `${relay}: ${(e as Error).message}`)
  }
}

/** A witnessed checkpoint that passed every check but inclusion, with the bound it gives. */
export interface Witnessed {
  cp: Checkpoint
  tree: ProvenTree
  at: number
  by: string[]
}

type View = NonNullable<Awaited<ReturnType<LogChecker['view']>>>

async function witnessedCheckpoint(view: View, relay: string, note: string, req: BoundRequirement, o: RequestOptions): Promise<Witnessed | NoBound> {
  const no = (code: NoBound['code'], message: string): NoBound => ({ relay, code, message })
  const opened = await openNote(note, view.verifier)
  const cp = opened.verified ? parseCheckpoint(opened.text) : undefined
  if (!cp || cp.origin !== view.origin) return no('bad_witnessed', `${relay}'s witnessed checkpoint is not a checkpoint of ${view.origin} signed by its key`)
  const count = await countWitnesses(note, req.witnesses, req.k, { nowMs: (req.now ?? Date.now)(), clockSkewMs: req.clockSkewMs })
  if (!count.ok) return no('not_witnessed', `${relay}'s witnessed checkpoint of ${cp.size} leaves has ${count.cosigners.length} of the ${req.k} valid cosignatures the policy requires`)
  const first = count.cosigners.sort((a, b) => a.time - b.time).slice(0, req.k)
  const cur = view.cp
  const h = tileSubtrees(view.base, Math.max(cp.size, cur.size), view.tiles, o)
  if (cp.size === cur.size ? !equal(cp.root, cur.root) : !(await consistent(cp, cur, h))) {
    // Tiles are data until a proof from them ends at a signed root; these did not, so none is kept.
    view.tiles.forget(`${view.base}/`)
    return no('not_consistent', `${relay}'s witnessed checkpoint of ${cp.size} leaves is not consistent with its checkpoint of ${cur.size}`)
  }
  // A cosignature's time is whole seconds: the witness saw the checkpoint by the end of that second.
  return { cp, tree: new ProvenTree(cp.size, cp.root, h), at: (first[req.k - 1]!.time + 1) * 1000, by: first.map((c) => c.name) }
}

async function consistent(a: { size: number; root: Uint8Array }, b: { size: number; root: Uint8Array }, h: Parameters<typeof consistencyProof>[2]): Promise<boolean> {
  const [small, big] = a.size < b.size ? [a, b] : [b, a]
  if (small.size === 0) return true
  return verifyConsistency(small.size, big.size, await consistencyProof(small.size, big.size, h), small.root, big.root)
}

/**
 * Facts with `witnessedAt` set, for a policy's "witnessed" revocation: only the statements of
 * `actors` (the keys the policy sees revoked; usually a handful of statements) are bounded, at
 * most MAX_BOUNDED of them, each from every relay whose log the checker proved it in, keeping the
 * earliest bound, within the command's BoundBudget per relay (by default the one of `log`). The
 * checker must have been told `keepEvidence()` before the reads.
 */
export async function witnessedTimes<F extends { id: string; statement: Statement }>(
  log: LogChecker,
  facts: readonly F[],
  actors: ReadonlySet<string>,
  req: BoundRequirement,
  o: RequestOptions & { budget?: BoundBudget } = {},
): Promise<{ facts: (F & { witnessedAt?: number; witnessedBy?: string[] })[]; bounds: Map<string, TimeBound>; refused: { id: string; reasons: NoBound[] }[] }> {
  const bounds = new Map<string, TimeBound>()
  const refused: { id: string; reasons: NoBound[] }[] = []
  const todo = facts.filter((f) => actors.has(f.statement.actor))
  const budget = o.budget ?? boundBudget(log)
  const one = async (f: F, i: number) => {
    const where = [...(log.leaves(f.id) ?? [])]
    if (i >= MAX_BOUNDED || !where.length) {
      refused.push({ id: f.id, reasons: [{ relay: '', code: 'not_witnessed', message: i >= MAX_BOUNDED ? `more than ${MAX_BOUNDED} statements of revoked keys; this one was not checked` : 'no relay proved this statement in its log' }] })
      return
    }
    // The leaf is the statement's canonical bytes (PROTOCOL §6.10), whose hash is its id.
    const canonical = canonicalize(f.statement as unknown as Json)
    const got = await Promise.all(where.map(([relay, index]) => (budget.take(relay) ? proveTimeBound(log, relay, { index, canonical }, req, o, budget.memo) : budget.spent(relay))))
    const ok = got.filter((g): g is TimeBound => 'at' in g).sort((a, b) => a.at - b.at)
    if (ok[0]) bounds.set(f.id, ok[0])
    else refused.push({ id: f.id, reasons: got as NoBound[] })
  }
  // A few at a time: each is a round trip to the relay, and the proofs share tiles and checkpoints.
  let next = 0
  const worker = async () => {
    while (next < todo.length) {
      const i = next++
      await one(todo[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker))
  return { facts: facts.map((f) => (bounds.has(f.id) ? { ...f, witnessedAt: bounds.get(f.id)!.at, witnessedBy: bounds.get(f.id)!.by } : f)), bounds, refused }
}

/**
 * For a bundle (docs/POLICY.md "Offline bundles"): the bound's inclusion proof in its witnessed
 * tree, and the consistency proof between that tree and the checker's checkpoint of its relay
 * (the smaller first; none at one size), from the tiles the bound was proven with.
 */
export async function boundProofs(log: LogChecker, b: TimeBound, o: RequestOptions = {}): Promise<{ inclusion: Uint8Array[]; consistency: Uint8Array[] } | undefined> {
  const view = await log.view(b.relay, o)
  if (!view) return undefined
  const [m, n] = b.size < view.cp.size ? [b.size, view.cp.size] : [view.cp.size, b.size]
  const h = tileSubtrees(view.base, n, view.tiles, o)
  return { inclusion: await inclusionProof(b.index, b.size, h), consistency: m === n ? [] : await consistencyProof(m, n, h) }
}

/** Parses a policy's witness keys once, so a bad key is a clear error before any relay is asked. */
export function boundRequirement(l: { witnesses: readonly { key: string }[]; k: number }, clockSkewMs?: number): BoundRequirement {
  const witnesses = l.witnesses.map((w) => {
    const key = parseCosignerKey(w.key)
    if (!key) throw new RangeError(`witness key ${JSON.stringify(w.key.slice(0, 100))} is not a cosignature/v1 verifier key`)
    return key
  })
  return { witnesses, k: l.k, ...(clockSkewMs !== undefined && { clockSkewMs }) }
}
