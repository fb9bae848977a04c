/** Bulk reading (PROTOCOL §6.4b): a lockfile's subjects from several relays at once, every statement verified here. */
import { LIMITS, type VerifiedStatement } from '../verify/index.ts'
import { RelayProblemError } from './errors.ts'
import { checkRelays, eachRelay, requestJson, type RequestOptions } from './http.ts'
import { mapInOrder } from './in-order.ts'
import { keepLogged, pageLeaves, type LogChecker } from './log.ts'
import { mergeAnswers, verifyAnswer, type Dropped, type QueriedStatement, type QueryReport } from './query.ts'

/** Subjects and objects per request, together: the protocol's cap, so 2,000 packages are two requests per relay. */
export const BULK_SUBJECTS = 1000
/** Statements read per asked term on average before the terms are called truncated (BulkOptions.perTerm). */
export const BULK_PER_TERM = 100
const PAGE_BYTES = LIMITS.pageMax * LIMITS.statementBytes + 64 * 1024

export interface BulkOptions extends RequestOptions {
  /** Only statements with these claims (e.g. `source`, `published`). */
  claims?: readonly string[]
  /** Pages followed per request of 1000 subjects at most, per relay; default 50. */
  maxPages?: number
  /**
   * Statements read per asked term on average, per relay and request, before the terms are called
   * truncated (and asked one by one, with their own caps); default 100. A relay may mint valid
   * statements about any subject, so without it one relay paging forever costs 50,000 signature
   * checks per request.
   */
  perTerm?: number
  /** Checks every statement against its relay's log (PROTOCOL §6.10); none when not given. */
  log?: LogChecker
  /** Also statements whose object is one of these (a package's `author` grants name it as object). */
  objects?: readonly string[]
}

export interface BulkResult {
  /** De-duplicated by id (computed here), oldest first. */
  statements: QueriedStatement[]
  relays: (QueryReport & { requests: number })[]
  /** Subjects some relay may hold more statements about than it sent (a page limit was hit). */
  truncated: Set<string>
  /** The same for `objects`. */
  truncatedObjects: Set<string>
}

/**
 * Asks every relay about all `subjects` (split into requests of 1000, each following its cursor),
 * verifies every statement (signature, shape, clock, and that its subject and claim were asked
 * for), and merges by id. A relay that fails or lies is reported; throws ClientError only when no
 * relay answered.
 */
export async function bulkQuery(relays: readonly string[], subjects: readonly string[], o: BulkOptions = {}): Promise<BulkResult> {
  const targets = checkRelays(relays)
  const objects = o.objects ?? []
  for (const [name, list] of [['subjects', subjects], ['objects', objects]] as const) {
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) throw new TypeError(`${name} must be an array of non-empty strings`)
  }
  const wanted = new Set(subjects)
  const wantedObjects = new Set(objects)
  const claims = o.claims?.length ? new Set(o.claims) : undefined
  const maxPages = o.maxPages ?? 50
  const perTerm = o.perTerm ?? BULK_PER_TERM
  if (!Number.isSafeInteger(perTerm) || perTerm < 1) throw new RangeError(`perTerm must be a positive whole number, got ${perTerm}`)
  // Subjects and objects share the per-request cap; each chunk is one question with its cursor.
  const terms = [...[...wanted].map((t) => ({ t, object: false })), ...[...wantedObjects].map((t) => ({ t, object: true }))]
  const chunks: { subjects: string[]; objects: string[] }[] = []
  for (let i = 0; i < terms.length; i += BULK_SUBJECTS) {
    const part = terms.slice(i, i + BULK_SUBJECTS)
    chunks.push({ subjects: part.filter((x) => !x.object).map((x) => x.t), objects: part.filter((x) => x.object).map((x) => x.t) })
  }
  const truncated = new Set<string>()
  const truncatedObjects = new Set<string>()

  const answers = await eachRelay(targets, async (relay) => {
    const verified: { v: VerifiedStatement; index: number | undefined }[] = []
    const dropped: Dropped[] = []
    const checking: Promise<{ v: VerifiedStatement | Dropped; index: number | undefined }[]>[] = []
    let requests = 0
    let cut = false
    // A statement served twice is checked once: repeats cost a relay's reader nothing but parsing.
    const seen = new Set<string>()
    for (const chunk of chunks) {
      let cursor: string | null = null
      let pages = 0
      let read = 0
      const budget = (chunk.subjects.length + chunk.objects.length) * perTerm
      do {
        const url = `${relay}/v1/statements/bulk`
        const body = JSON.stringify({ ...(chunk.subjects.length && { subjects: chunk.subjects }), ...(chunk.objects.length && { objects: chunk.objects }), ...(claims && { claims: [...claims] }), limit: LIMITS.pageMax, ...(cursor !== null && { cursor }) })
        requests++
        const { json } = await requestJson(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }, { ...o, maxBytes: PAGE_BYTES, maxDepth: 8 })
        const page = json as { statements?: unknown; cursor?: unknown; leaves?: unknown }
        if (!Array.isArray(page?.statements) || !(page.cursor === null || typeof page.cursor === 'string') || page.statements.length > LIMITS.pageMax) {
          throw new RelayProblemError({ kind: 'invalid', code: 'bad_answer', message: `${url} did not answer with {statements, cursor} of at most ${LIMITS.pageMax}` })
        }
        const leaves = pageLeaves(page, page.statements.length, url)
        const fresh: { raw: unknown; k: number }[] = []
        for (const [k, raw] of page.statements.entries()) {
          const key = JSON.stringify(raw)
          if (seen.has(key)) continue
          seen.add(key)
          fresh.push({ raw, k })
        }
        read += page.statements.length
        // A page's statements are verified several at once (src/client/in-order.ts: both cores)
        // while the next page is asked for; the results are taken in page order below.
        const check = mapInOrder(fresh, async ({ raw, k }) => ({ v: await verifyAsked(raw, wanted, wantedObjects, claims), index: leaves[k] }))
        check.catch(() => {}) // awaited below; a later request's failure must not leave it unhandled
        checking.push(check)
        // An honest relay never repeats a cursor or a whole page; more than the budget is left to per-term questions.
        if (page.cursor !== null && (page.cursor === cursor || fresh.length === 0 || read >= budget)) {
          cursor = page.cursor
          break
        }
        cursor = page.cursor
      } while (cursor !== null && ++pages < maxPages)
      if (cursor !== null) {
        cut = true
        for (const s of chunk.subjects) truncated.add(s)
        for (const s of chunk.objects) truncatedObjects.add(s)
      }
    }
    for (const page of await Promise.all(checking)) {
      for (const { v, index } of page) {
        if ('code' in v) dropped.push(v)
        else verified.push({ v, index })
      }
    }
    const logged = await keepLogged(o.log, relay, verified, o)
    return { good: logged.good, dropped: [...dropped, ...logged.dropped], requests, cut }
  })
  o.signal?.throwIfAborted()

  const { statements, reports } = mergeAnswers(answers, 'bulk query', (a) => ({ truncated: a?.cut ?? false, requests: a?.requests ?? 0 }))
  return { statements, relays: reports, truncated, truncatedObjects }
}

const verifyAsked = (raw: unknown, subjects: Set<string>, objects: Set<string>, claims: Set<string> | undefined) =>
  verifyAnswer(raw, (st) => (subjects.has(st.subject) || (st.object !== undefined && objects.has(st.object))) && (!claims || claims.has(st.claim)), 'the statement is not about a subject, object or claim that was asked for')
