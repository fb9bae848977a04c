import { bulkQuery, createStatement, publish, sign, type Statement, type VerifiedStatement } from '../client/index.ts'
import { LIMITS, parseJson, ProtocolError } from '../verify/index.ts'
import { changesUrl, CHANGES_MAX_BYTES, getRetrying, readChanges, sleep, type RetryOptions, type Seq } from './changes.ts'
import { BridgeError } from './errors.ts'
import { baseUrl, decodeText, mapLimit } from './http.ts'
import { DEFAULT_REGISTRY, npmClaim, npmPurl, PACKUMENT_DEPTH, PACKUMENT_MAX_BYTES, packumentUrl, parsePackageSpec, parsePackument } from './npm.ts'
import { standingObjects, type BridgePublishOptions, type Claim, type Prior } from './publish.ts'

/**
 * The npm bridge as a follower: reads a registry's changes feed from a checkpoint, fetches each
 * changed packument, and publishes what it says in batches; the checkpoint moves only after a
 * batch is taken by the relays (quorum). Restarting anywhere is safe because a packument always
 * yields the same statement bytes: every statement's time comes from the packument (the
 * version's publish time; `time.modified` for a deprecated version, whose deprecation has no
 * time of its own; the unpublish time for a withdrawal) and Ed25519 signing is deterministic
 * (RFC 8032), so a re-run can only repeat statements the relays already hold, which they answer
 * as duplicates. The code has no Node built-ins: the CLI and the bridge Worker run it alike.
 */

export interface FollowState {
  /** Feed position after the last accepted batch. */
  since?: Seq
  /** Packages that could not be bridged (newest last, at most `FAILED_KEPT`), for an operator to retry. */
  failed?: FailedChange[]
}

/** Where the checkpoint lives: a file for the CLI, KV for the Worker. `save` is called after each accepted batch. */
export interface CheckpointStore {
  load(): Promise<FollowState | undefined>
  save(state: FollowState): Promise<void>
}

export interface FailedChange {
  id: string
  seq: Seq
  code: string
  message: string
}

export interface FollowOptions extends Omit<BridgePublishOptions, 'dryRun'> {
  /** The changes feed, e.g. https://replicate.npmjs.com/registry/_changes. */
  changes: string
  registry?: string
  store: CheckpointStore
  /** Rows per feed page; default 100. */
  pageSize?: number
  /** Statements per publish batch (and checkpoint); default 1000, the protocol's batch. */
  batchStatements?: number
  /** Packuments fetched at once; default 8. */
  fetchConcurrency?: number
  /** Drain to the current end of the feed and return (cron, tests); otherwise poll. */
  once?: boolean
  /** Wait between polls at the end of the feed; default 30 s. */
  pollMs?: number
  /** Stop after this many changes (a Worker's bounded work per invocation). */
  maxChanges?: number
  /** Stop starting pages after this time (ms since the epoch). */
  deadline?: number
  retry?: RetryOptions
  /** Consecutive failed rounds (feed or relays) before giving up; default 5. */
  maxErrors?: number
  maxPackumentBytes?: number
  /** Timeout of each registry request (feed page, packument); default `timeoutMs`. */
  registryTimeoutMs?: number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  onBatch?: (b: BatchReport) => void
  onRetry?: (what: string, attempt: number, waitMs: number, error: BridgeError) => void
}

export interface BatchReport {
  checkpoint: Seq
  changes: number
  statements: number
  accepted: number
  duplicates: number
  withdrawn: number
}

export interface FollowReport {
  from?: Seq
  checkpoint?: Seq
  changes: number
  packages: number
  /** Statements signed and sent. */
  statements: number
  /** Of those, new to at least one relay. */
  accepted: number
  /** Held already by every relay that answered (a re-run's repeats). */
  duplicates: number
  withdrawn: number
  batches: number
  retries: number
  /** Changes whose package could not be bridged (at most 100 listed; `failedCount` counts all). */
  failed: FailedChange[]
  failedCount: number
  stopped: 'end' | 'signal' | 'limit' | 'deadline'
}

export const FAILED_KEPT = 100

/** Milliseconds from an ISO time in a packument, or undefined. */
function ms(x: unknown): number | undefined {
  if (typeof x !== 'string') return undefined
  const t = Date.parse(x)
  return Number.isFinite(t) && t > 0 ? t : undefined
}

interface Timed extends Claim {
  time: number
}

interface Planned {
  change: { seq: Seq; id: string }
  claims: Timed[]
  /** Versions gone from the registry, with the time of their going. */
  removed: { subject: string; time: number }[]
  failure?: FailedChange
}

/**
 * What one packument says, as claims with their times. Throws BridgeError for a packument the
 * bridge cannot vouch for (the caller records it and moves on).
 */
export function timedClaims(doc: unknown, name: string, registry: string, now = Date.now()): { claims: Timed[]; removed: { subject: string; time: number }[] } {
  const p = parsePackument(doc, name)
  const time = (doc as { time?: Record<string, unknown> }).time ?? {}
  const modified = ms(time.modified)
  const latest = now + LIMITS.futureSkewMs / 2
  const claims = p.versions.map((v) => {
    const t = v.deprecated !== undefined ? (modified ?? ms(time[v.version])) : (ms(time[v.version]) ?? ms(time.created) ?? modified)
    if (t === undefined) throw new BridgeError('malformed', 'no_time', `${name}@${v.version}: the packument gives no time for the version (time.${v.version}, time.modified)`)
    if (t > latest) throw new BridgeError('malformed', 'future_time', `${name}@${v.version}: the packument dates it in the future`)
    return { ...npmClaim(v, registry), time: t }
  })
  const unpublished = time.unpublished as { time?: unknown } | undefined
  const gone = ms(unpublished?.time) ?? modified
  const removed = p.removed.map((version) => ({ subject: npmPurl(p.name, version), time: Math.min(gone ?? now, latest) }))
  return { claims, removed }
}

/**
 * Follows the feed from the stored checkpoint. Returns when the feed is drained (`once`), the
 * signal aborts, `maxChanges` or `deadline` is reached; throws BridgeError when the feed or the
 * relays fail `maxErrors` times in a row. A package that cannot be bridged (malformed, too large,
 * still failing after the retries) is recorded in `failed` and skipped.
 */
export async function followNpm(o: FollowOptions): Promise<FollowReport> {
  const registry = baseUrl(o.registry ?? DEFAULT_REGISTRY, 'registry')
  const pageSize = o.pageSize ?? 100
  const batchMax = Math.min(o.batchStatements ?? LIMITS.batchItems, LIMITS.batchItems)
  const pause = o.sleep ?? sleep
  const state: FollowState = (await o.store.load()) ?? {}
  const report: FollowReport = { from: state.since, checkpoint: state.since, changes: 0, packages: 0, statements: 0, accepted: 0, duplicates: 0, withdrawn: 0, batches: 0, retries: 0, failed: [], failedCount: 0, stopped: 'end' }
  const fetchOpts = {
    fetch: o.fetch,
    timeoutMs: o.registryTimeoutMs ?? o.timeoutMs,
    signal: o.signal,
    retry: o.retry,
    sleep: pause,
    onRetry: (url: string, attempt: number, wait: number, e: BridgeError) => (report.retries++, o.onRetry?.(url, attempt, wait, e)),
  }
  let errors = 0
  /** Runs a round again after a back-off while it fails transiently, up to `maxErrors`. */
  const persist = async <T>(what: string, round: () => Promise<T>): Promise<T | undefined> => {
    for (;;) {
      try {
        const r = await round()
        errors = 0
        return r
      } catch (e) {
        if (o.signal?.aborted) return undefined
        if (!(e instanceof BridgeError) || e.kind !== 'network') throw e
        if (++errors >= (o.maxErrors ?? 5)) throw e
        const wait = Math.max(1000, (o.retry?.baseMs ?? 1000) * 2 ** errors)
        report.retries++
        o.onRetry?.(what, errors, Math.min(wait, o.retry?.capMs ?? 300_000), e)
        await pause(Math.min(wait, o.retry?.capMs ?? 300_000), o.signal)
        if (o.signal?.aborted) return undefined
      }
    }
  }

  while (!o.signal?.aborted) {
    if (o.deadline !== undefined && Date.now() >= o.deadline) return { ...report, stopped: 'deadline' }
    if (o.maxChanges !== undefined && report.changes >= o.maxChanges) return { ...report, stopped: 'limit' }
    const since = state.since
    const limit = o.maxChanges !== undefined ? Math.min(pageSize, o.maxChanges - report.changes) : pageSize
    const page = await persist('the changes feed', async () => readChanges((await getRetrying(changesUrl(o.changes, since, limit), CHANGES_MAX_BYTES, fetchOpts)).bytes, since))
    if (!page) break
    if (page.results.length === 0) {
      if (page.lastSeq !== since) await save(page.lastSeq, [], 0)
      if (o.once) return report
      await pause(o.pollMs ?? 30_000, o.signal)
      continue
    }
    // Several rows of one page may name one package: fetch it once, at its last row.
    const lastRow = new Map(page.results.map((c, i) => [c.id, i]))
    const rows = page.results.filter((c, i) => lastRow.get(c.id) === i && !c.id.startsWith('_design/'))
    const planned = await mapLimit(rows, o.fetchConcurrency ?? 8, (c) => plan(c))
    if (o.signal?.aborted) break // a page cut short by the stop is not half-recorded: it is read again next time

    if (planned.length === 0) await save(page.lastSeq, [], page.results.length)
    let pending: Planned[] = []
    let size = 0
    let counted = 0
    for (let i = 0; i < planned.length; i++) {
      pending.push(planned[i]!)
      size += planned[i]!.claims.length + planned[i]!.removed.length
      const last = i === planned.length - 1
      if (size >= batchMax || last) {
        if (o.signal?.aborted) return { ...report, stopped: 'signal' }
        const done = await persist('the relays', () => flush(pending))
        if (done === undefined) return { ...report, stopped: 'signal' }
        // The page's own end is its last_seq (it may lie past the last row, e.g. after filtered rows).
        const changes = last ? page.results.length - counted : pending.length
        counted += changes
        await save(last ? page.lastSeq : planned[i]!.change.seq, pending, changes, done)
        pending = []
        size = 0
      }
    }
    if (o.once && page.pending === 0) return report
  }
  return { ...report, stopped: 'signal' }

  async function plan(c: { seq: Seq; id: string; deleted: boolean }): Promise<Planned> {
    const change = { seq: c.seq, id: c.id }
    const fail = (code: string, message: string): Planned => ({ change, claims: [], removed: [], failure: { id: c.id, seq: c.seq, code, message } })
    try {
      parsePackageSpec(c.id)
    } catch {
      return fail('bad_name', `${JSON.stringify(c.id.slice(0, 120))} is not an npm package name`)
    }
    try {
      const got = await getRetrying(packumentUrl(registry, c.id), o.maxPackumentBytes ?? PACKUMENT_MAX_BYTES, fetchOpts)
      let doc: unknown
      try {
        // The npm bridge's strict reader: duplicate keys refused, floats in unread fields allowed.
        doc = parseJson(decodeText(got.bytes, `the packument of ${c.id}`), { maxDepth: PACKUMENT_DEPTH, numbers: 'any' })
      } catch (e) {
        if (e instanceof BridgeError) throw e
        if (!(e instanceof ProtocolError)) throw e
        throw new BridgeError('malformed', 'malformed_json', `the packument of ${c.id} is not JSON we can read exactly (${e.code}: ${e.message})`)
      }
      return { change, ...timedClaims(doc, c.id, registry) }
    } catch (e) {
      if (!(e instanceof BridgeError)) throw e
      // A deleted document the registry no longer serves at all: nothing is left to read versions from.
      if (c.deleted && e.kind === 'not_found') return { change, claims: [], removed: [] }
      return fail(e.code, e.message)
    }
  }

  /** Signs and publishes a batch's claims (withdrawals looked up first); returns the batch counts. */
  async function flush(batch: Planned[]): Promise<BatchReport> {
    const claims: Timed[] = batch.flatMap((p) => p.claims)
    const removed = batch.flatMap((p) => p.removed)
    const withdrawn = removed.length ? await withdrawals(removed) : []
    claims.push(...withdrawn)
    const unsigned = claims.map((c) => createStatement({ ...c, actor: o.signer.did }))
    const statements: VerifiedStatement[] = await mapLimit(unsigned, 32, (u) => sign(u, o.signer))
    let accepted = 0
    let duplicates = 0
    for (let i = 0; i < statements.length; i += LIMITS.batchItems) {
      const chunk = statements.slice(i, i + LIMITS.batchItems)
      const r = await publish(o.relays, chunk, { quorum: o.quorum, timeoutMs: o.timeoutMs, fetch: o.fetch }).catch((e: unknown) => {
        // Relays down or short of the quorum: worth another round; a refused statement is not.
        const code = (e as { code?: string }).code
        if (code === 'unreachable' || code === 'quorum') throw new BridgeError('network', code, (e as Error).message, { cause: e })
        throw e
      })
      const ok = r.relays.filter((x) => x.ok && x.results)
      chunk.forEach((_, j) => (ok.some((x) => x.results![j]!.status === 'accepted') ? accepted++ : duplicates++))
    }
    return { checkpoint: batch.at(-1)!.change.seq, changes: batch.length, statements: statements.length, accepted, duplicates, withdrawn: withdrawn.length }
  }

  /** IS NOT claims for what this key still claims about versions the registry has dropped. */
  async function withdrawals(removed: { subject: string; time: number }[]): Promise<Timed[]> {
    const found = await bulkQuery(o.relays, removed.map((r) => r.subject), { claims: ['published'], timeoutMs: o.timeoutMs, fetch: o.fetch })
    if (found.relays.every((r) => r.problem)) throw new BridgeError('network', 'unreachable', 'no relay answered the lookup of withdrawn versions')
    const prior: Prior = new Map()
    for (const { statement } of found.statements) {
      if (statement.actor !== o.signer.did) continue
      prior.set(statement.subject, [...(prior.get(statement.subject) ?? []), statement])
    }
    const newestFirst = (a: Statement, b: Statement) => b.time - a.time || (a.not ? -1 : 0) - (b.not ? -1 : 0)
    for (const list of prior.values()) list.sort(newestFirst)
    return removed.flatMap(({ subject, time }) =>
      standingObjects(prior, subject, 'published').map((s) => ({ subject, claim: 'published', object: s.object!, not: true as const, meta: { registry, reason: 'unpublished' }, time: Math.max(time, s.time) })),
    )
  }

  async function save(seq: Seq, batch: Planned[], changes: number, counts?: BatchReport): Promise<void> {
    const failures = batch.flatMap((p) => (p.failure ? [p.failure] : []))
    state.since = seq
    if (failures.length) state.failed = [...(state.failed ?? []), ...failures].slice(-FAILED_KEPT)
    await o.store.save({ ...state })
    report.checkpoint = seq
    report.changes += changes
    report.packages += batch.filter((p) => !p.failure).length
    report.failedCount += failures.length
    report.failed = [...report.failed, ...failures].slice(0, FAILED_KEPT)
    if (counts) {
      report.batches++
      report.statements += counts.statements
      report.accepted += counts.accepted
      report.duplicates += counts.duplicates
      report.withdrawn += counts.withdrawn
      o.onBatch?.({ ...counts, checkpoint: seq, changes })
    }
  }
}
