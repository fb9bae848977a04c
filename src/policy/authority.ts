import { inForce, type Fact, type FactIndex } from './facts.ts'

/** A key's standing in one trust relation (authorship of a package, or being a trusted builder). */
export interface Standing {
  /** 0 for a root; n for n grants away from one. */
  depth: number
  /** The grant statements on the path that gave the standing (empty for a root). */
  via: Fact[]
  /** Time from which the standing is revoked, and the revoking statement. */
  revokedAt?: number
  revokedBy?: Fact
}

/**
 * Who holds a relation ("is an author of P", "is a trusted builder"), granted by statements
 * `(granter) claims (key) <claim> [object]`, starting from the roots, at most `maxDepth` grants deep.
 *
 * Revocation (the IS NOT form) is judged in three steps, so it never depends on itself:
 * 1. standings are computed from the grants ever made (up to the horizon), ignoring revocations;
 * 2. a revocation of key X counts if it comes from X itself, a root, or a key of smaller depth than
 *    X (a co-author, or a key X granted, cannot revoke X); X is revoked from the earliest such
 *    revocation's time. Roots are the user's own choice and cannot be revoked by the network;
 * 3. a grant counts only if made before its granter's revocation; standings are recomputed over
 *    the grants that count, and keep their revocation time.
 * A revocation is in force while it is the revoker's latest statement about the key: granting
 * again later withdraws it. `grantCounts` decides step 3: by default the grant's own time must be
 * before the revocation; the policy's "witnessed" mode asks for a witnessed time instead (engine.ts).
 */
export function authority(
  index: FactIndex,
  roots: ReadonlySet<string>,
  claim: string,
  object: string | undefined,
  maxDepth: number,
  horizon: number,
  grantCounts: (grant: Fact, revokedAt: number) => boolean = (f, at) => f.statement.time < at,
): Map<string, Standing> {
  // Per (granter, grantee): the earliest positive grant (the edge; a later IS NOT does not erase
  // that the grant was made) and the latest statement (a revocation when it is negative).
  const grantsBy = new Map<string, { edge?: Fact; latest: Fact }[]>()
  const grants = (g: string) => {
    let list = grantsBy.get(g)
    if (!list) {
      const own = index.byObject(g, claim, object).filter((f) => f.statement.object === object && f.statement.time <= horizon)
      const latest = inForce(own, horizon)
      list = latest.map((l) => {
        const positives = own.filter((f) => f.statement.subject === l.statement.subject && !f.statement.not)
        const edge = positives.reduce<Fact | undefined>((a, f) => (!a || f.statement.time < a.statement.time ? f : a), undefined)
        return { edge, latest: l }
      })
      grantsBy.set(g, list)
    }
    return list
  }
  const walk = (edgeOk: (f: Fact) => boolean): Map<string, Standing> => {
    const out = new Map<string, Standing>()
    for (const r of roots) out.set(r, { depth: 0, via: [] })
    let frontier = [...roots].sort()
    for (let depth = 1; depth <= maxDepth && frontier.length; depth++) {
      const next: string[] = []
      for (const g of frontier) {
        for (const { edge: f } of grants(g)) {
          if (!f) continue
          const x = f.statement.subject
          if (out.has(x) || !edgeOk(f)) continue
          out.set(x, { depth, via: [...out.get(g)!.via, f] })
          next.push(x)
        }
      }
      frontier = next.sort()
    }
    return out
  }

  const initial = walk(() => true)
  const revoked = new Map<string, Fact>()
  for (const r of initial.keys()) {
    for (const { latest: f } of grants(r)) {
      if (!f.statement.not) continue
      const x = f.statement.subject
      const sx = initial.get(x)
      if (!sx || sx.depth === 0) continue
      if (r !== x && initial.get(r)!.depth >= sx.depth) continue
      const cur = revoked.get(x)
      if (!cur || f.statement.time < cur.statement.time) revoked.set(x, f)
    }
  }
  const final = walk((f) => {
    const rev = revoked.get(f.statement.actor)
    return !rev || grantCounts(f, rev.statement.time)
  })
  for (const [x, st] of final) {
    const rev = revoked.get(x)
    if (rev) (st.revokedAt = rev.statement.time), (st.revokedBy = rev)
  }
  return final
}
