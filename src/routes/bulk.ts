import { stats } from '../gossip/index.ts'
import { ApiError } from '../http/errors.ts'
import { LIMITS, type Json } from '../verify/index.ts'
import { pageLimit, parseCursor, parseTermParam } from './params.ts'

/** Subjects and objects per bulk request, together: a lockfile of 2,000 packages is two requests (PROTOCOL §6.4b). */
export const BULK_SUBJECTS = 1000
/** Claims per bulk request: the vocabulary is small; more is a mistake, not a need. */
export const BULK_CLAIMS = 32

export interface BulkQuery {
  subjects: string[]
  /** Terms asked for as objects (a package's `author` grants name the package as object). */
  objects: string[]
  claims: string[] | undefined
  after: number
  limit: number
}

const bad = (code: string, message: string) => new ApiError(400, code, message)
const KNOWN = ['subjects', 'objects', 'claims', 'limit', 'cursor']

/**
 * Checks a bulk query body at the door: every field is named, typed and bounded, hashes are
 * normalised to SRI as in a GET query, and an unknown member is refused so a typo (`subject`)
 * cannot turn into a different question.
 */
export function parseBulkQuery(body: Json, pageMax: number): BulkQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('bad_bulk', 'send {"subjects": ["pkg:npm/x@1.0.0", …], "objects": [optional], "claims": [optional], "limit": n, "cursor": "…"}')
  const o = body as Record<string, Json>
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw bad('unknown_parameter', `unknown member ${JSON.stringify(k)}; known: ${KNOWN.join(', ')}`)
  const terms = (field: 'subjects' | 'objects', code: string) => {
    const list = o[field]
    if (list === undefined) return []
    if (!Array.isArray(list)) throw bad('bad_bulk', `${field} must be an array of strings`)
    return list.map((v, i) => {
      if (typeof v !== 'string') throw bad(code, `${field}[${i}] is not a string`)
      if (v.length > LIMITS.termBytes || new TextEncoder().encode(v).length > LIMITS.termBytes) throw bad(code, `${field}[${i}] is longer than ${LIMITS.termBytes} bytes`)
      return v
    })
  }
  const rawSubjects = terms('subjects', 'bad_subject')
  const rawObjects = terms('objects', 'bad_object')
  if (rawSubjects.length + rawObjects.length === 0) throw bad('bad_bulk', 'subjects or objects must be a non-empty array of strings')
  if (rawSubjects.length + rawObjects.length > BULK_SUBJECTS) {
    stats.overCap++
    throw new ApiError(413, 'too_many_items', `at most ${BULK_SUBJECTS} subjects and objects together per request; got ${rawSubjects.length + rawObjects.length}`)
  }
  const subjects = rawSubjects.map((v, i) => parseTermParam(v, `subjects[${i}]`)!)
  const objects = rawObjects.map((v, i) => parseTermParam(v, `objects[${i}]`)!)
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
    objects,
    claims,
    after: parseCursor(o.cursor ?? undefined, 'cursor'),
    limit: pageLimit(o.limit === undefined ? undefined : String(o.limit), pageMax),
  }
}
