import type { Statement } from '../verify/index.ts'

/** A statement the client has already verified, with its id. The engine never verifies: it decides. */
export interface Fact {
  id: string
  statement: Statement
  /**
   * When k named witnesses had cosigned a checkpoint that includes the statement (ms), as the
   * client proved it (src/client/timebound.ts); only set for statements of revoked keys. The
   * statement's own `time` is its key's word; this one a thief with the key cannot back-date.
   */
  witnessedAt?: number
  /** The witnesses whose cosignatures gave `witnessedAt`. */
  witnessedBy?: readonly string[]
}

/**
 * Statements indexed by (subject, claim). Built once, queried per verdict: a verdict reads only
 * the statements about the package, its hashes and the keys on the trust paths, so it stays fast
 * however many statements are loaded.
 */
export class FactIndex {
  private readonly map = new Map<string, Fact[]>()
  private readonly actors = new Map<string, Fact[]>()
  private readonly grants = new Map<string, Fact[]>()
  size = 0

  constructor(facts: Iterable<Fact> = []) {
    for (const f of facts) this.add(f)
  }

  add(f: Fact): void {
    const k = `${f.statement.subject}\u0000${f.statement.claim}`
    const list = this.map.get(k)
    if (list) list.push(f)
    else this.map.set(k, [f])
    const a = `${f.statement.actor}\u0000${f.statement.claim}`
    const byActor = this.actors.get(a)
    if (byActor) byActor.push(f)
    else this.actors.set(a, [f])
    // By actor, claim and object: a root that granted authorship of many packages must not make
    // every verdict walk all of its grants.
    const g = `${a}\u0000${f.statement.object ?? ''}`
    const byGrant = this.grants.get(g)
    if (byGrant) byGrant.push(f)
    else this.grants.set(g, [f])
    this.size++
  }

  about(subject: string, claim: string): readonly Fact[] {
    return this.map.get(`${subject}\u0000${claim}`) ?? []
  }

  by(actor: string, claim: string): readonly Fact[] {
    return this.actors.get(`${actor}\u0000${claim}`) ?? []
  }

  /** Statements by `actor` with `claim` and exactly `object` (absent object = ""). */
  byObject(actor: string, claim: string, object: string | undefined): readonly Fact[] {
    return this.grants.get(`${actor}\u0000${claim}\u0000${object ?? ''}`) ?? []
  }
}

/**
 * Negation: for each (actor, subject, object) of one claim only the actor's latest statement is in force;
 * at equal times the negative wins (the cautious reading). Statements dated after `horizon`
 * (now + clock skew) are ignored, so a key cannot pre-empt a future revocation by post-dating.
 */
export function inForce(facts: readonly Fact[], horizon: number): Fact[] {
  const latest = new Map<string, Fact>()
  for (const f of facts) {
    const s = f.statement
    if (s.time > horizon) continue
    const k = `${s.actor}\u0000${s.subject}\u0000${s.object ?? ''}`
    const cur = latest.get(k)
    if (!cur || s.time > cur.statement.time || (s.time === cur.statement.time && s.not && !cur.statement.not)) latest.set(k, f)
  }
  return [...latest.values()]
}

/** `pkg:generic/mylib@1.2.3` → `pkg:generic/mylib`; the version follows the last "@" after the last "/". */
export function packageOf(subject: string): { pkg: string; version: string } | undefined {
  const slash = subject.lastIndexOf('/')
  const at = subject.lastIndexOf('@')
  if (!subject.startsWith('pkg:') || at <= slash || at === subject.length - 1) return undefined
  return { pkg: subject.slice(0, at), version: subject.slice(at + 1) }
}

/** The purl type: `pkg:npm/left-pad@1.2.3` → `npm`. */
export const purlType = (subject: string) => /^pkg:([a-z0-9.+-]+)\//.exec(subject)?.[1]
