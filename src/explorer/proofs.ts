import type { AliasProofBases } from '../config.ts'
import { checkAliases, type AliasProof } from '../identity/index.ts'
import { cachedFor, readProofs, writeProofs, type CachedCheck } from '../store/proofs.ts'

/**
 * Alias proofs as the explorer shows them. A page view (GET) only reads the shared cache in KV, so
 * looking at a page never makes this relay open a connection; `check` (a POST, rate limited by the
 * route) fetches the proofs that have no fresh result and writes them to the cache.
 */

/** One alias claim and, when this relay has a fresh result for it, that result. */
export interface ShownCheck {
  did: string
  alias: string
  check?: CachedCheck
}

/** Each proof's deadline (one or two outbound requests). */
export const CHECK_TIMEOUT_MS = 4000
/** Proofs fetched per POST at most for one actor page (so at most ~10 × 4 s of waiting, 8 at a time). */
export const MAX_CHECKS_PER_ACTOR = 10

type Claim = { did: string; alias: string }

/** The cached results for `claims`, in their order. Reads KV only. */
export async function shownChecks(kv: KVNamespace, claims: readonly Claim[], now: number): Promise<ShownCheck[]> {
  const cache = await readProofs(kv, claims, now)
  return claims.map((c) => ({ did: c.did, alias: c.alias, check: cachedFor(cache, c.did, c.alias) }))
}

/** The claims among `shown` that have no fresh result, at most `max`. */
export const unchecked = (shown: readonly ShownCheck[], max = Infinity): Claim[] =>
  shown
    .filter((s) => !s.check)
    .slice(0, max)
    .map(({ did, alias }) => ({ did, alias }))

/**
 * Checks `claims` now and stores every result in the shared cache. Returns what was stored.
 * `bases` is the operator's ALIAS_PROOF_BASES (src/config.ts); it allows private addresses only
 * when the operator allowed them for peers too: an alias someone published must not otherwise
 * make this relay probe its own network.
 */
export async function checkAndStore(kv: KVNamespace, claims: readonly Claim[], bases: AliasProofBases = {}): Promise<CachedCheck[]> {
  if (claims.length === 0) return []
  const { results } = await checkAliases(claims, { ...bases, timeoutMs: CHECK_TIMEOUT_MS })
  return writeProofs(kv, results, Date.now())
}

/** `shown` with the results just stored filled in (read back from KV they might not show yet: KV is eventually consistent). */
export function withStored(shown: readonly ShownCheck[], stored: readonly CachedCheck[]): ShownCheck[] {
  const byClaim = new Map(stored.map((s) => [`${s.did}\n${s.alias}`, s]))
  return shown.map((s) => ({ ...s, check: byClaim.get(`${s.did}\n${s.alias}`) ?? s.check }))
}

/** Proofs that held, for the policy engine. */
export const heldProofs = (shown: readonly ShownCheck[]): AliasProof[] => shown.flatMap((s) => (s.check?.ok ? [{ did: s.did, alias: s.alias, method: s.check.method }] : []))
