import type { StoredRow } from '../store/statements.ts'

/** Joins stored canonical bodies into a JSON page without parsing them again. */
export const pageJson = (rows: StoredRow[], cursor: string | null, extra = '') =>
  `{"statements":[${rows.map((r) => r.body).join(',')}],"cursor":${JSON.stringify(cursor)}${extra}}`

export const jsonResponse = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } })
