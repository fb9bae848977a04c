import { authority, type Standing } from './authority.ts'
import { FactIndex, type Fact } from './facts.ts'

/** The claim that admits a key to a relay in `trusted` mode (PROTOCOL §5, POLICY.md "Admission"). */
export const ADMIT_CLAIM = 'admit'

/**
 * The keys a relay in `trusted` mode accepts statements from: the operator's roots, and keys
 * reachable from them through `admit` grants (`(granter) claims (key) admit`, no object) at most
 * `maxDepth` grants deep. Revocation (`admit` with `"not": true`) follows the same rules as
 * authorship revocation (`authority`): a key is revoked by itself, a root, or a key nearer the
 * roots, and grants it made after its revocation do not count.
 *
 * This is the same pure engine that judges authorship; there are no alias proofs here, so deciding
 * whether a write is admitted never causes an outbound fetch.
 */
export function admittedKeys(facts: Iterable<Fact>, roots: Iterable<string>, maxDepth: number, now: number): Map<string, Standing> {
  const grants = [...facts].filter((f) => f.statement.claim === ADMIT_CLAIM && f.statement.object === undefined)
  const standings = authority(new FactIndex(grants), new Set(roots), ADMIT_CLAIM, undefined, maxDepth, now)
  for (const [k, s] of standings) if (s.revokedAt !== undefined && s.revokedAt <= now) standings.delete(k)
  return standings
}
