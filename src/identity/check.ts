import { OutboundError } from '../net/index.ts'
import { decodeDidKey } from '../verify/index.ts'
import { bskyProof } from './bsky.ts'
import { PROOF_TTL } from './cache.ts'
import { dnsProof } from './dns.ts'
import { forgejoProof, githubProof, sourcehutProof } from './forges.ts'
import { httpsProof } from './https.ts'
import { type ProofMethod, ProofFailure } from './method.ts'
import { type IdentityOptions, type ResolvedOptions, resolveOptions } from './options.ts'
import type { AliasCheck, AliasProof } from './types.ts'

export type { AliasCheck } from './types.ts'

/** Proof methods by alias scheme (the text before the first `:`). */
export const METHODS: Readonly<Record<string, ProofMethod>> = {
  dns: dnsProof,
  https: httpsProof,
  http: httpsProof, // only with allowPrivate (local tests); refused otherwise
  github: githubProof,
  forgejo: forgejoProof,
  sourcehut: sourcehutProof,
  bsky: bskyProof,
}

function checkArgs(did: unknown, alias: unknown): Uint8Array {
  if (typeof did !== 'string') throw new TypeError('did must be a string')
  if (typeof alias !== 'string') throw new TypeError('alias must be a string')
  const publicKey = decodeDidKey(did)
  if (!publicKey) throw new RangeError(`did must be a did:key (got ${JSON.stringify(did.slice(0, 64))})`)
  return publicKey
}

/**
 * Whether `did` proves `alias`, checked by the method of the alias's scheme.
 *
 * Network and proof failures are results, not exceptions: a site that is down, slow, too large,
 * redirecting or malformed gives `ok: false` with a detail saying so. So does a malformed or
 * unknown alias, since aliases come from other people's statements. Only wrong arguments throw
 * (TypeError for a type, RangeError for a value, including a did that is not a did:key).
 */
export async function checkAlias(did: string, alias: string, options: IdentityOptions = {}): Promise<AliasCheck> {
  const publicKey = checkArgs(did, alias)
  return check(did, publicKey, alias, resolveOptions(options))
}

async function check(did: string, publicKey: Uint8Array, alias: string, o: ResolvedOptions): Promise<AliasCheck> {
  const start = o.now()
  const cached = o.cache?.get(did, alias, start)
  if (cached) return cached
  const colon = alias.indexOf(':')
  const scheme = colon > 0 ? alias.slice(0, colon) : ''
  const method = Object.hasOwn(METHODS, scheme) ? METHODS[scheme] : undefined
  const done = (ok: boolean, detail: string, ttlSeconds?: number): AliasCheck => {
    const ms = !ok ? PROOF_TTL.failureMs : ttlSeconds === undefined ? PROOF_TTL.defaultMs : Math.min(ttlSeconds * 1000, PROOF_TTL.maxMs)
    const result = { ok, method: method?.name ?? scheme, alias, did, detail, expiresAt: o.now() + ms }
    o.cache?.set(result, o.now())
    return result
  }
  if (!method) return done(false, scheme ? `no proof method for scheme ${scheme}` : `${JSON.stringify(alias.slice(0, 64))} is not an alias (scheme:value)`)
  try {
    const r = await method.check(alias, alias.slice(colon + 1), { did, publicKey }, o)
    return done(r.ok, r.detail, r.ttlSeconds)
  } catch (e) {
    // A network failure reads the same whatever its cause: the detail is shown to whoever
    // published the alias, who must not learn which of our neighbours' ports answer.
    if (e instanceof OutboundError) return done(false, e.publicMessage)
    if (e instanceof ProofFailure) return done(false, e.message)
    throw e // a bug, not a failed proof
  }
}

export interface AliasChecks {
  /** The proofs that held, for the policy engine (`evaluate(…, { proofs })`). */
  proofs: AliasProof[]
  /** Every result, in the order of the claims, for explanations. */
  results: AliasCheck[]
}

/**
 * Checks many alias claims, at most `concurrency` (default 8) at a time. A claim repeated in the
 * list is checked once. Arguments are checked before any request is made.
 */
export async function checkAliases(claims: readonly { did: string; alias: string }[], options: IdentityOptions = {}): Promise<AliasChecks> {
  if (!Array.isArray(claims)) throw new TypeError('claims must be an array of {did, alias}')
  const keys = claims.map((c, i) => {
    if (typeof c !== 'object' || c === null) throw new TypeError(`claims[${i}] must be an object`)
    try {
      return checkArgs(c.did, c.alias)
    } catch (e) {
      if (e instanceof TypeError) throw new TypeError(`claims[${i}]: ${e.message}`)
      if (e instanceof RangeError) throw new RangeError(`claims[${i}]: ${e.message}`)
      throw e
    }
  })
  const o = resolveOptions(options)
  const unique = new Map<string, number>() // claim → index of its first occurrence
  claims.forEach((c, i) => unique.has(`${c.did}\n${c.alias}`) || unique.set(`${c.did}\n${c.alias}`, i))
  const firsts = [...unique.values()]
  const done = new Map<number, AliasCheck>()
  let next = 0
  const worker = async () => {
    while (next < firsts.length) {
      const i = firsts[next++]!
      done.set(i, await check(claims[i]!.did, keys[i]!, claims[i]!.alias, o))
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.concurrency, firsts.length) }, worker))
  const results = claims.map((c) => done.get(unique.get(`${c.did}\n${c.alias}`)!)!)
  const proofs = firsts.map((i) => done.get(i)!).filter((r) => r.ok).map(({ did, alias, method }) => ({ did, alias, method }))
  return { proofs, results }
}
