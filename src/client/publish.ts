/** Publishing: one POST per relay, at once, and a quorum of relays that hold every statement. */
import { LIMITS, verifyStatement, type Statement, type VerifiedStatement } from '../verify/index.ts'
import { ClientError, failureFrom, RelayProblemError, type RelayReport } from './errors.ts'
import { checkRelays, eachRelay, requestJson, type RequestOptions } from './http.ts'
import { isSignedHere } from './sign.ts'

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
        ? isSignedHere(s)
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
