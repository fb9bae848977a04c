import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { BodyFault, TooManyBundles } from '../store/bodies.ts'
import { ProtocolError } from '../verify/index.ts'

/** An error that becomes an HTTP response `{ "error": { "code", "message" } }` with its status. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } })

/** One place turns errors into responses. A bug is a 500 that shows no internals. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return c.json({ ...errorBody(err.code, err.message), ...err.extra }, err.status, err.headers)
  if (err instanceof ProtocolError) return c.json(errorBody(err.code, err.message), 400)
  // A stored body that is missing or fails its hash is never served: a clear fault, not wrong bytes.
  if (err instanceof BodyFault) return console.error('body fault', err), c.json(errorBody(err.code, 'a stored statement body is unavailable or failed its hash check; the operator is alerted'), 500)
  if (err instanceof TooManyBundles) return c.json(errorBody('too_many_bundles', `${err.message}: ask for fewer ids at once`), 413)
  console.error('internal error', err)
  return c.json(errorBody('internal', 'internal error'), 500)
}

export const notFound = (c: Context) => c.json(errorBody('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404)
