/**
 * Distrusting a relay whose log forked (docs/POLICY.md "Forked relays", PROTOCOL §6.12): before a
 * relay's checkpoint is believed, the configured relays are asked for `log-equivocation` claims
 * about its log key, and every one is proven again here with `proveEquivocation`. A claim is only
 * a carrier: neither its signer nor the relay that served it is believed, only the two signed
 * checkpoints and the hashes inside it.
 */
import { EQUIVOCATION_CLAIM, evidenceFromBlob, evidenceSource, EVIDENCE_LIMITS, ProtocolError, proveEquivocation, type ProvenEquivocation, type VerifiedStatement } from '../verify/index.ts'
import { fetchBlob } from './blobs.ts'
import { ClientError } from './errors.ts'
import type { RequestOptions } from './http.ts'
import type { BeliefRefusal, CheckpointBelief } from './log.ts'
import { query } from './query.ts'

/** The proof found against one log key: the statement that carried it and what it proves. */
export interface ProvenFork {
  statement: string
  proven: ProvenEquivocation
}

/**
 * Finds proven equivocation of the log whose note verifier key is `verifierKey`, asking `relays`
 * (all of them, not just the accused one: a forked relay would hide evidence against itself).
 * Claims whose evidence does not prove a fork are skipped. Undefined when none proves one, or when
 * no relay answered (then nothing is known either way, and the log checks still run).
 */
export async function findEquivocation(relays: readonly string[], verifierKey: string, o: RequestOptions = {}): Promise<ProvenFork | undefined> {
  let found: VerifiedStatement[]
  try {
    found = (await query(relays, { subject: verifierKey, claim: EQUIVOCATION_CLAIM }, { ...o, limit: 100 })).statements
  } catch (e) {
    if (e instanceof ClientError) return undefined
    throw e
  }
  for (const s of found) {
    try {
      const src = evidenceSource(s.statement)
      const evidence = src.kind === 'meta' ? src.evidence : await evidenceFromBlob(src.hash, await fetchBlob(relays, src.hash, { ...o, maxBytes: EVIDENCE_LIMITS.blobBytes }))
      return { statement: s.id, proven: await proveEquivocation(verifierKey, evidence) }
    } catch (e) {
      // Garbage evidence (or a blob no relay serves) proves nothing; the next claim may.
      if (e instanceof ProtocolError || e instanceof ClientError || e instanceof RangeError) continue
      throw e
    }
  }
  return undefined
}

/**
 * A checkpoint belief that first refuses a relay whose log key has proven equivocation (code
 * `equivocated`), then asks `inner`. Each log key is looked up once per belief, that is once per
 * command, however many reads go to the relay.
 */
export function distrustEquivocated(relays: readonly string[], inner: CheckpointBelief, o: RequestOptions = {}): CheckpointBelief {
  const known = new Map<string, Promise<ProvenFork | undefined>>()
  return async (c) => {
    let p = known.get(c.verifierKey)
    if (!p) {
      p = findEquivocation(relays, c.verifierKey, o)
      known.set(c.verifierKey, p)
      p.catch(() => known.delete(c.verifierKey))
    }
    const fork = await p
    if (fork) return refusal(c.relay, fork)
    return inner(c)
  }
}

function refusal(relay: string, f: ProvenFork): BeliefRefusal {
  const { origin, small, big, kind } = f.proven
  const how = kind === 'same-size' ? `two different trees of ${small.size} leaves` : `a tree of ${big.size} leaves that does not extend its tree of ${small.size}`
  return { code: 'equivocated', message: `${relay} forked its log ${origin} (proven by statement ${f.statement}: it signed ${how}); its answers are not used` }
}
