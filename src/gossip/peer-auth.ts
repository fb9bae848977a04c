import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app.ts'
import { configuredPeerOf } from './identity.ts'
import { stats } from './stats.ts'
import { LIMITS, ProtocolError, signatureKeyId, verifyRequest } from '../verify/index.ts'
import { readBodyBytes } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'

/**
 * Tells configured peers from everyone else. A request signed by a relay (RFC 9421, PROTOCOL
 * §6.7) whose key belongs to one of this relay's configured peers sets `c.var.peer` to that key;
 * peers get their own budget and, on a closed relay, the right to bring others' statements.
 *
 * - No signature, or one whose `keyid` is not a configured peer's key: an anonymous request,
 *   `peer` undefined, and the signature is not checked (another relay that lists us but that we
 *   do not list is an ordinary client).
 * - A signature naming a configured peer's key that is malformed, stale or does not verify: 401
 *   `bad_request_signature`, so a request that claims to be a peer and is not is refused, never
 *   served as anonymous.
 *
 * A signed body is read here (at most the statement body limit) to check its Content-Digest, and
 * handed on to the route as the request's body.
 */
export const peerAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('peer', undefined)
  const raw = c.req.raw
  // Only a request that names a configured peer's key is worth a body read and a signature check:
  // anything else is anonymous whatever it carries, so a stranger's (or a forger's) signature
  // headers cost one header parse and are then rate limited like any client.
  const keyid = signatureKeyId(raw.headers)
  if (keyid === undefined || !(await configuredPeerOf(c.env, keyid))) return next()
  let body: Uint8Array | undefined
  if (raw.body) {
    body = await readBodyBytes(c, LIMITS.bodyBytes)
    c.req.raw = new Request(raw, { body })
  }
  let did: string | undefined
  try {
    did = await verifyRequest({ method: raw.method, url: raw.url, headers: raw.headers, body })
  } catch (e) {
    if (e instanceof ProtocolError) {
      stats.badSignatures++
      throw new ApiError(401, e.code, e.message)
    }
    throw e
  }
  if (did === keyid) c.set('peer', did), stats.peerRequests++
  return next()
}
