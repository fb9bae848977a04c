import { stats } from '../gossip/index.ts'
import { ApiError } from '../http/errors.ts'
import { LIMITS, type Json } from '../verify/index.ts'
import { pageLimit, parseCursor, parseTermParam } from './params.ts'

/** Subjects per bulk request: a lockfile of 2,000 packages is two requests (PROTOCOL §6.4b). */
export const BULK_SUBJECTS = 1000
/** Claims per bulk request: the vocabulary is small; more is a mistake, not a need. */
export const BULK_CLAIMS = 32

export interface BulkQuery {
  subjects: string[]
  claims: string[] | undefined
  after: number
  limit: number
}

const bad = (code: string, message: string) => new ApiError(400, code, message)
const KNOWN = ['subjects', 'claims', 'limit', 'cursor']

/**
 * Checks a bulk query body at the door: every field is named, typed and bounded, hashes are
 * normalised to SRI as in a GET query, and an unknown member is refused so a typo (`subject`)
 * cannot turn into a different question.
 */
export function parseBulkQuery(body: Json, pageMax: number): BulkQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('bad_bulk', 'send {"subjects": ["pkg:npm/x@1.0.0", …], "claims": [optional], "limit": n, "cursor": "…"}')
  const o = body as Record<string, Json>
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw bad('unknown_parameter', `unknown member ${JSON.stringify(k)}; known: ${KNOWN.join(', ')}`)
  const list = o.subjects
  if (!Array.isArray(list) || list.length === 0) throw bad('bad_bulk', 'subjects must be a non-empty array of strings')
  if (list.length > BULK_SUBJECTS) {
    stats.overCap++
    throw new ApiError(413, 'too_many_items', `at most ${BULK_SUBJECTS} subjects per request; got ${list.length}`)
  }
  const subjects = list.map((v, i) => {
    if (typeof v !== 'string') throw bad('bad_subject', `subjects[${i}] is not a string`)
    if (v.length > LIMITS.termBytes || new TextEncoder().encode(v).length > LIMITS.termBytes) throw bad('bad_subject', `subjects[${i}] is longer than ${LIMITS.termBytes} bytes`)
    return parseTermParam(v, `subjects[${i}]`)!
  })
  let claims: string[] | undefined
  if (o.claims !== undefined) {
    if (!Array.isArray(o.claims) || o.claims.length === 0 || o.claims.length > BULK_CLAIMS) throw bad('bad_bulk', `claims, when given, is an array of 1 to ${BULK_CLAIMS} claim names`)
    claims = o.claims.map((v, i) => {
      if (typeof v !== 'string' || v.length === 0 || v.length > LIMITS.claimLength) throw bad('bad_parameter', `claims[${i}] must be a string of 1 to ${LIMITS.claimLength} characters`)
      return v
    })
  }
  if (o.limit !== undefined && typeof o.limit !== 'number') throw bad('bad_limit', `limit must be an integer from 1 to ${LIMITS.pageMax}`)
  if (o.cursor !== undefined && o.cursor !== null && typeof o.cursor !== 'string') throw bad('bad_cursor', 'cursor is the string from the previous page')
  return {
    subjects,
    claims,
    after: parseCursor(o.cursor ?? undefined, 'cursor'),
    limit: pageLimit(o.limit === undefined ? undefined : String(o.limit), pageMax),
  }
}
