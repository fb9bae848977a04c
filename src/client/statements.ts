import {
  encodeDidKey,
  ensureStatementShape,
  formatSri,
  hexForm,
  LIMITS,
  parseHashParam,
  ProtocolError,
  sign as ed25519Sign,
  signingBytes,
  verifyStatement,
  base64url,
  type JsonObject,
  type KeyPair,
  type Statement,
  type UnsignedStatement,
  type VerifiedStatement,
} from '../verify/index.ts'
import { ClientError, failureFrom, RelayProblemError, type RelayReport } from './errors.ts'
import { checkRelays, eachRelay, requestJson, type RequestOptions } from './http.ts'

/** What a caller states; the client fills in `v` and, unless given, `time`. */
export interface StatementFields {
  actor: string
  subject: string
  claim: string
  object?: string
  /** `true` for the negative form ("IS NOT"); `false` or absent for a positive claim. */
  not?: boolean
  meta?: JsonObject
  /** Milliseconds since the epoch; default now. */
  time?: number
}

/**
 * Builds an unsigned statement and checks its shape now, so a mistake (a hash in the wrong form,
 * an unknown DID method, a claim with capitals) is reported before anything is signed or sent.
 * Throws ProtocolError with the code a relay would give.
 */
export function createStatement(fields: StatementFields): UnsignedStatement {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('fields must be an object')
  const s: UnsignedStatement = {
    v: 1,
    actor: fields.actor,
    subject: fields.subject,
    claim: fields.claim,
    ...(fields.object !== undefined && { object: fields.object }),
    ...(fields.not === true && { not: true as const }),
    time: fields.time ?? Date.now(),
    ...(fields.meta !== undefined && { meta: fields.meta }),
  }
  if (fields.not !== undefined && typeof fields.not !== 'boolean') throw new TypeError('not must be a boolean')
  ensureStatementShape({ ...s, sig: 'A'.repeat(86) })
  return s
}

/**
 * Something that can sign for an actor: a key in memory, an ssh-agent, a hardware token.
 * `sign` receives the exact signing input (domain prefix + canonical statement) and returns the
 * 64-byte Ed25519 signature.
 */
export interface Signer {
  did: string
  sign(message: Uint8Array): Promise<Uint8Array>
}

export function keySigner(key: KeyPair): Signer {
  if (!(key?.secretKey instanceof Uint8Array) || !(key.publicKey instanceof Uint8Array)) throw new TypeError('key must be a KeyPair')
  const secretKey = key.secretKey
  return { did: encodeDidKey(key.publicKey), sign: (m) => ed25519Sign(m, secretKey) }
}

const isSigner = (x: unknown): x is Signer =>
  typeof x === 'object' && x !== null && typeof (x as Signer).did === 'string' && typeof (x as Signer).sign === 'function'

/**
 * Results of `sign` in this process: verified once, frozen (their `canonical` and `id`, which are
 * what `publish` sends, cannot be reassigned), so `publish` need not verify them again. A WeakSet
 * cannot be forged into; any other object is verified.
 */
const signedHere = new WeakSet<VerifiedStatement>()

/**
 * Signs a statement and verifies the result with the same checks a relay runs, so a signer that
 * misbehaves (a wrong key in an agent, a clock far ahead) fails here and not on every relay.
 */
export async function sign(statement: UnsignedStatement, signer: Signer | KeyPair): Promise<VerifiedStatement> {
  const s = isSigner(signer) ? signer : keySigner(signer)
  if (statement.actor !== s.did) throw new RangeError(`statement actor ${statement.actor} is not the signer's key ${s.did}`)
  const { sig: _ignored, ...body } = statement as Statement
  ensureStatementShape({ ...body, sig: 'A'.repeat(86) })
  const sig = await s.sign(signingBytes(body))
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new TypeError('signer must return a 64-byte signature')
  try {
    const v = Object.freeze(await verifyStatement({ ...body, sig: base64url.encode(sig) }, { now: Date.now() }))
    signedHere.add(v)
    return v
  } catch (e) {
    if (e instanceof ProtocolError && e.code === 'bad_signature') throw new ProtocolError('bad_signature', `the signer for ${s.did} produced a signature that does not verify`, { cause: e })
    throw e
  }
}

// ---------------------------------------------------------------------------------------------
// publish

export interface PublishOptions extends RequestOptions {
  /** Relays that must take every statement for publish to succeed; default 1. */
  quorum?: number
}

export type ItemStatus = 'accepted' | 'duplicate' | 'rejected'

export interface PublishReport extends RelayReport {
  /** Per statement, in input order (absent when the relay gave no usable answer). */
  results?: { id: string; status: ItemStatus; error?: { code: string; message: string } }[]
}

export interface PublishResult {
  /** Statement ids, in input order (computed here, never taken from a relay). */
  ids: string[]
  relays: PublishReport[]
  /** Relays that hold every statement now. */
  took: number
}

const POST_ANSWER_BYTES = 1024 * 1024

/**
 * POSTs the statements to every relay at once and succeeds when at least `quorum` relays hold
 * all of them (accepted or already held). Other relays' failures are in the result, to be shown
 * as warnings. Throws ClientError `rejected` when relays refused a statement (it is wrong, and
 * retrying will not help), `quorum` or `unreachable` otherwise.
 */
export async function publish(relays: readonly string[], statements: readonly (Statement | VerifiedStatement)[], o: PublishOptions = {}): Promise<PublishResult> {
  const targets = checkRelays(relays)
  if (!Array.isArray(statements) || statements.length === 0) throw new RangeError('statements must be a non-empty array')
  if (statements.length > LIMITS.batchItems) throw new RangeError(`at most ${LIMITS.batchItems} statements per publish`)
  const quorum = o.quorum ?? 1
  if (!Number.isSafeInteger(quorum) || quorum < 1) throw new RangeError(`quorum must be a positive integer, got ${quorum}`)
  if (quorum > targets.length) throw new RangeError(`quorum ${quorum} is more than the ${targets.length} relays given`)

  // Verified here first: a relay must never be the first to notice a statement is bad.
  const verified = await Promise.all(
    statements.map((s) =>
      'statement' in s && 'id' in s
        ? signedHere.has(s)
          ? s
          : verifyStatement(s.statement, { now: Date.now() })
        : verifyStatement(s, { now: Date.now() }),
    ),
  )
  const ids = verified.map((v) => v.id)
  const body = `[${verified.map((v) => v.canonical).join(',')}]`

  const answers = await eachRelay(targets, async (relay) => {
    const url = `${relay}/v1/statements`
    const { json } = await requestJson(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }, { ...o, maxBytes: POST_ANSWER_BYTES, maxDepth: 6, okStatuses: [200, 422] })
    return readPostAnswer(json, ids, url)
  })
  o.signal?.throwIfAborted()
  const reports: PublishReport[] = answers.map((a) => {
    if (!a.ok) return { relay: a.relay, ok: false, problem: a.problem }
    const rejected = a.value.filter((r) => r.status === 'rejected')
    const problem = rejected.length
      ? { kind: 'http' as const, code: rejected[0]!.error?.code ?? 'rejected', status: 422, message: `${a.relay} refused ${rejected.length} of ${ids.length}: ${rejected[0]!.error?.code}: ${rejected[0]!.error?.message}` }
      : undefined
    return { relay: a.relay, ok: !problem, results: a.value, ...(problem && { problem }) }
  })
  const took = reports.filter((r) => r.ok).length
  if (took >= quorum) return { ids, relays: reports, took }
  if (reports.some((r) => r.results?.some((x) => x.status === 'rejected'))) {
    const first = reports.find((r) => r.results?.some((x) => x.status === 'rejected'))!
    throw new ClientError('rejected', `the statement was refused: ${first.problem!.message}`, reports)
  }
  if (took === 0) throw failureFrom('publish', reports)
  throw new ClientError('quorum', `only ${took} of ${targets.length} relays took the statements; the quorum is ${quorum}`, reports)
}

function readPostAnswer(json: unknown, ids: string[], url: string): NonNullable<PublishReport['results']> {
  const bad = (why: string) => new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} gave an answer that is not a statement POST result (${why})` })
  const results = (json as { results?: unknown })?.results
  if (!Array.isArray(results) || results.length !== ids.length) throw bad('wrong number of results')
  return results.map((r: unknown, i) => {
    const x = r as { index?: unknown; id?: unknown; status?: unknown; error?: { code?: unknown; message?: unknown } }
    if (x?.index !== i || (x.status !== 'accepted' && x.status !== 'duplicate' && x.status !== 'rejected')) throw bad(`result ${i}`)
    if (x.status !== 'rejected' && x.id !== ids[i]) throw bad(`result ${i} names id ${String(x.id)}, not ${ids[i]}`)
    const error = x.status === 'rejected' ? { code: String(x.error?.code ?? 'rejected'), message: String(x.error?.message ?? '') } : undefined
    return { id: ids[i]!, status: x.status, ...(error && { error }) }
  })
}

// ---------------------------------------------------------------------------------------------
// query

export interface Filter {
  subject?: string
  claim?: string
  object?: string
  actor?: string
}

export interface QueryOptions extends RequestOptions {
  /** Statements read from each relay at most (following cursors); default 1000. */
  limit?: number
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
  const merged = new Map<string, QueriedStatement>()

  const answers = await eachRelay(targets, async (relay) => {
    const dropped: Dropped[] = []
    const good: VerifiedStatement[] = []
    let cursor: string | null = null
    let read = 0
    do {
      const params = new URLSearchParams()
      for (const k of FILTER_KEYS) if (f[k] !== undefined) params.set(k, f[k]!)
      params.set('limit', String(Math.min(LIMITS.pageMax, limit - read)))
      if (cursor !== null) params.set('cursor', cursor)
      const url = `${relay}/v1/statements?${params}`
      const { json } = await requestJson(url, {}, { ...o, maxBytes: PAGE_BYTES, maxDepth: 8 })
      const page = json as { statements?: unknown; cursor?: unknown }
      if (!Array.isArray(page?.statements) || !(page.cursor === null || typeof page.cursor === 'string')) {
        throw new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} did not answer with {statements, cursor}` })
      }
      if (page.statements.length > LIMITS.pageMax) throw new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} sent a page larger than ${LIMITS.pageMax}` })
      for (const raw of page.statements) {
        read++
        const v = await verifyOne(raw, f)
        if ('code' in v) dropped.push(v)
        else good.push(v)
      }
      if (page.statements.length === 0 && page.cursor !== null && page.cursor === cursor) break // a relay that does not advance
      cursor = page.cursor
    } while (cursor !== null && read < limit)
    return { good, dropped, truncated: cursor !== null }
  })
  o.signal?.throwIfAborted()

  const reports: QueryReport[] = answers.map((a) => {
    if (!a.ok) return { relay: a.relay, ok: false, problem: a.problem, received: 0, dropped: [], truncated: false }
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
    return { relay: a.relay, ok: !problem, received: a.value.good.length, dropped, truncated: a.value.truncated, ...(problem && { problem }) }
  })
  if (!reports.some((r) => r.problem?.kind !== 'network' && r.problem?.kind !== 'http')) throw failureFrom('query', reports)
  const statements = [...merged.values()].sort((a, b) => a.statement.time - b.statement.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { statements, relays: reports }
}

async function verifyOne(raw: unknown, f: Filter): Promise<VerifiedStatement | Dropped> {
  let v: VerifiedStatement
  try {
    v = await verifyStatement(raw, { now: Date.now() })
  } catch (e) {
    if (e instanceof ProtocolError) return { code: e.code, message: e.message }
    throw e
  }
  if (!matches(v.statement, f)) return { id: v.id, code: 'not_matching', message: 'the statement does not match the query' }
  return v
}

// ---------------------------------------------------------------------------------------------
// getStatement

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
export async function getStatement(relays: readonly string[], id: string, o: RequestOptions = {}): Promise<GetResult> {
  const targets = checkRelays(relays)
  if (typeof id !== 'string') throw new TypeError('id must be a string')
  const d = parseHashParam(id)
  if (!d || d.alg !== 'sha256') throw new RangeError(`a statement id is a SHA-256 hash (sha256-<base64> or sha256:<hex>), got ${JSON.stringify(id)}`)
  const want = formatSri(d)
  const reports: RelayReport[] = []
  for (const relay of targets) {
    const url = `${relay}/v1/statements/${hexForm(d)}`
    try {
      const { json } = await requestJson(url, {}, { ...o, maxBytes: LIMITS.statementBytes + 1024, maxDepth: 6 })
      let v: VerifiedStatement
      try {
        v = await verifyStatement(json, { now: Date.now() })
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e
        throw new RelayProblemError({ kind: 'invalid', code: e.code, message: `${relay} served a statement that fails verification (${e.code}: ${e.message})` })
      }
      if (v.id !== want) throw new RelayProblemError({ kind: 'invalid', code: 'id_mismatch', message: `${relay} served a different statement (${v.id}) for ${want}` })
      return { ...v, relay, relays: reports }
    } catch (e) {
      if (!(e instanceof RelayProblemError)) throw e
      o.signal?.throwIfAborted()
      reports.push({ relay, ok: false, problem: e.problem })
    }
  }
  throw failureFrom(`statement ${want}`, reports)
}
