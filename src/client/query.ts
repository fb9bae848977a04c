/** Reading: queries merged across relays and single statements by id, every one verified here. */
import { formatSri, hexForm, LIMITS, parseHashParam, ProtocolError, verifyStatement, type Statement, type VerifiedStatement } from '../verify/index.ts'
import { failureFrom, RelayProblemError, type RelayReport } from './errors.ts'
import { checkRelays, eachRelay, requestJson, type RequestOptions } from './http.ts'
import { mapInOrder } from './in-order.ts'
import { keepLogged, pageLeaves, type LogChecker } from './log.ts'

export interface Filter {
  subject?: string
  claim?: string
  object?: string
  actor?: string
}

export interface QueryOptions extends RequestOptions {
  /** Statements read from each relay at most (following cursors); default 1000. */
  limit?: number
  /** Checks every statement against its relay's log (PROTOCOL §6.10); none when not given. */
  log?: LogChecker
}

export interface Dropped {
  id?: string
  code: string
  message: string
}

export interface QueryReport extends RelayReport {
  /** Verified statements this relay contributed (before de-duplication). */
  received: number
  /** Statements this relay sent that failed verification or did not match the filter. */
  dropped: Dropped[]
  /** True when the relay had more than `limit` matching statements. */
  truncated: boolean
}

export interface QueriedStatement extends VerifiedStatement {
  /** The relays that served it. */
  relays: string[]
}

export interface QueryResult {
  /** De-duplicated by id (computed here), oldest first. */
  statements: QueriedStatement[]
  relays: QueryReport[]
}

const FILTER_KEYS = ['subject', 'claim', 'object', 'actor'] as const
/** A statement's leaf index in the relay's log, on GET /v1/statements/{id} (PROTOCOL §6.2). */
const LEAF_HEADER = 'vouch-leaf-index'
// A page of at most 1000 statements of at most 4096 bytes, plus the envelope (PROTOCOL §6.4).
const PAGE_BYTES = LIMITS.pageMax * LIMITS.statementBytes + 64 * 1024

/** Hashes are compared in canonical SRI form, whatever form the caller wrote. */
function canonicalTerm(value: string): string {
  const d = parseHashParam(value)
  return d ? formatSri(d) : value
}

function checkFilter(filter: Filter): Filter {
  if (typeof filter !== 'object' || filter === null) throw new TypeError('filter must be an object')
  const out: Filter = {}
  for (const k of Object.keys(filter)) if (!(FILTER_KEYS as readonly string[]).includes(k)) throw new TypeError(`unknown filter field ${k}`)
  for (const k of FILTER_KEYS) {
    const v = filter[k]
    if (v === undefined) continue
    if (typeof v !== 'string' || v === '') throw new TypeError(`filter.${k} must be a non-empty string`)
    out[k] = k === 'subject' || k === 'object' ? canonicalTerm(v) : v
  }
  if (Object.keys(out).length === 0) throw new RangeError('a query needs at least one of subject, claim, object, actor')
  return out
}

const matches = (s: Statement, f: Filter) => FILTER_KEYS.every((k) => f[k] === undefined || s[k] === f[k])

/**
 * Asks every relay, verifies every statement locally (signature, shape, clock, and that it
 * matches the query), and merges the answers by id. A relay whose statements fail is reported
 * with what was dropped; its good statements still count. Throws ClientError only when no relay
 * answered at all.
 */
export async function query(relays: readonly string[], filter: Filter, o: QueryOptions = {}): Promise<QueryResult> {
  const targets = checkRelays(relays)
  const f = checkFilter(filter)
  const limit = o.limit ?? 1000
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`)
  const answers = await eachRelay(targets, async (relay) => {
    const dropped: Dropped[] = []
    const verified: { v: VerifiedStatement; index: number | undefined }[] = []
    let cursor: string | null = null
    let read = 0
    do {
      const params = new URLSearchParams()
      for (const k of FILTER_KEYS) if (f[k] !== undefined) params.set(k, f[k]!)
      params.set('limit', String(Math.min(LIMITS.pageMax, limit - read)))
      if (cursor !== null) params.set('cursor', cursor)
      const url = `${relay}/v1/statements?${params}`
      const { json } = await requestJson(url, {}, { ...o, maxBytes: PAGE_BYTES, maxDepth: 8 })
      const page = json as { statements?: unknown; cursor?: unknown; leaves?: unknown }
      if (!Array.isArray(page?.statements) || !(page.cursor === null || typeof page.cursor === 'string')) {
        throw new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} did not answer with {statements, cursor}` })
      }
      if (page.statements.length > LIMITS.pageMax) throw new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} sent a page larger than ${LIMITS.pageMax}` })
      const leaves = pageLeaves(page, page.statements.length, url)
      // Several at once (src/client/in-order.ts): both cores verify.
      const checked = await mapInOrder(page.statements, (raw) => verifyOne(raw, f))
      for (const [k, v] of checked.entries()) {
        read++
        if ('code' in v) dropped.push(v)
        else verified.push({ v, index: leaves[k] })
      }
      if (page.statements.length === 0 && page.cursor !== null && page.cursor === cursor) break // a relay that does not advance
      cursor = page.cursor
    } while (cursor !== null && read < limit)
    const logged = await keepLogged(o.log, relay, verified, o)
    return { good: logged.good, dropped: [...dropped, ...logged.dropped], truncated: cursor !== null }
  })
  o.signal?.throwIfAborted()

  const { statements, reports } = mergeAnswers(answers, 'query', (a) => ({ truncated: a?.truncated ?? false }))
  return { statements, relays: reports }
}

/** What one relay answered: the statements that verified and the ones dropped. */
export interface Answered {
  good: VerifiedStatement[]
  dropped: Dropped[]
}

type Answer<A> = { relay: string; ok: true; value: A } | { relay: string; ok: false; problem: RelayReport['problem'] & object }

/**
 * Merges the relays' verified answers by id (remembering every relay that served each statement),
 * oldest first, and reports each relay: a relay that sent statements failing verification is
 * named for it. Throws when no relay answered at all. `extra` adds a caller's own report fields.
 */
export function mergeAnswers<A extends Answered, X extends { truncated: boolean }>(
  answers: Answer<A>[],
  what: string,
  extra: (a: A | undefined) => X,
): { statements: QueriedStatement[]; reports: (QueryReport & X)[] } {
  const merged = new Map<string, QueriedStatement>()
  const reports = answers.map((a): QueryReport & X => {
    if (!a.ok) return { relay: a.relay, ok: false, problem: a.problem, received: 0, dropped: [], ...extra(undefined), truncated: false }
    for (const v of a.value.good) {
      const seen = merged.get(v.id)
      if (seen) {
        if (!seen.relays.includes(a.relay)) seen.relays.push(a.relay)
      } else merged.set(v.id, { ...v, relays: [a.relay] })
    }
    const { dropped } = a.value
    const problem = dropped.length
      ? { kind: 'invalid' as const, code: dropped[0]!.code, message: `${a.relay} sent ${dropped.length} statement${dropped.length === 1 ? '' : 's'} that failed verification (${dropped[0]!.code}: ${dropped[0]!.message}); dropped` }
      : undefined
    return { relay: a.relay, ok: !problem, received: a.value.good.length, dropped, ...extra(a.value), ...(problem && { problem }) }
  })
  if (!reports.some((r) => r.problem?.kind !== 'network' && r.problem?.kind !== 'http')) throw failureFrom(what, reports)
  const statements = [...merged.values()].sort((a, b) => a.statement.time - b.statement.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { statements, reports }
}

/**
 * Verifies one statement a relay sent (ids are recomputed, never believed) and checks that it is
 * one that was asked for: a relay that answers with other statements is named for it.
 */
export async function verifyAnswer(raw: unknown, asked: (s: Statement) => boolean, notAsked: string): Promise<VerifiedStatement | Dropped> {
  let v: VerifiedStatement
  try {
    v = await verifyStatement(raw, { now: Date.now() })
  } catch (e) {
    if (e instanceof ProtocolError) return { code: e.code, message: e.message }
    throw e
  }
  if (!asked(v.statement)) return { id: v.id, code: 'not_matching', message: notAsked }
  return v
}

const verifyOne = (raw: unknown, f: Filter) => verifyAnswer(raw, (st) => matches(st, f), 'the statement does not match the query')
export interface GetResult extends VerifiedStatement {
  /** The relay that served it. */
  relay: string
  /** Relays asked before it, and what went wrong with each. */
  relays: RelayReport[]
}

/**
 * One statement by id, from the first relay (in order) that serves one whose recomputed id is
 * the one asked for. A relay that serves anything else is reported and the next one asked.
 */
export async function getStatement(relays: readonly string[], id: string, o: RequestOptions & { log?: LogChecker } = {}): Promise<GetResult> {
  const targets = checkRelays(relays)
  if (typeof id !== 'string') throw new TypeError('id must be a string')
  const d = parseHashParam(id)
  if (!d || d.alg !== 'sha256') throw new RangeError(`a statement id is a SHA-256 hash (sha256-<base64> or sha256:<hex>), got ${JSON.stringify(id)}`)
  const want = formatSri(d)
  const reports: RelayReport[] = []
  for (const relay of targets) {
    const url = `${relay}/v1/statements/${hexForm(d)}`
    try {
      const { json, headers } = await requestJson(url, {}, { ...o, maxBytes: LIMITS.statementBytes + 1024, maxDepth: 6 })
      let v: VerifiedStatement
      try {
        v = await verifyStatement(json, { now: Date.now() })
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e
        throw new RelayProblemError({ kind: 'invalid', code: e.code, message: `${relay} served a statement that fails verification (${e.code}: ${e.message})` })
      }
      if (v.id !== want) throw new RelayProblemError({ kind: 'invalid', code: 'id_mismatch', message: `${relay} served a different statement (${v.id}) for ${want}` })
      const leaf = headers.get(LEAF_HEADER)
      const index = leaf !== null && /^(0|[1-9][0-9]{0,15})$/.test(leaf) ? Number(leaf) : undefined
      const { dropped } = await keepLogged(o.log, relay, [{ v, index }], o)
      if (dropped.length) throw new RelayProblemError({ kind: 'invalid', code: dropped[0]!.code, message: dropped[0]!.message })
      return { ...v, relay, relays: reports }
    } catch (e) {
      if (!(e instanceof RelayProblemError)) throw e
      o.signal?.throwIfAborted()
      reports.push({ relay, ok: false, problem: e.problem })
    }
  }
  throw failureFrom(`statement ${want}`, reports)
}
