import type { StoredRow } from '../store/statements.ts'

/**
 * Joins stored canonical bodies into a JSON page without parsing them again. `leaves` is parallel
 * to `statements`: each one's leaf index in the relay's log (seq − 1, seq being dense from 1), so a
 * client can ask the log for its inclusion proof (PROTOCOL §6.3, §6.10). It is in the envelope
 * because statements refuse unknown fields.
 */
export const pageJson = (rows: StoredRow[], cursor: string | null, extra = '') =>
  `{"statements":[${rows.map((r) => r.body).join(',')}],"leaves":[${rows.map((r) => r.seq - 1).join(',')}],"cursor":${JSON.stringify(cursor)}${extra}}`

/** The response header that carries a single statement's leaf index (GET /v1/statements/{id}). */
export const LEAF_HEADER = 'vouch-leaf-index'

export const jsonResponse = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } })
