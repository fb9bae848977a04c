import type { Statement } from '../verify/index.ts'

/**
 * Package names (PROTOCOL §2.3): a package with no ecosystem of its own is written as the purl
 * `pkg:generic/NAME@VERSION`; any other purl passes through unchanged. Names are
 * percent-encoded as purl requires, so `a+b@1.0+build` becomes `pkg:generic/a%2Bb@1.0%2Bbuild`.
 */
export function packageSubject(spec: string, version: 'required' | 'forbidden' | 'optional' = 'optional'): string {
  if (typeof spec !== 'string') throw new TypeError('package must be a string')
  let hasVersion: boolean
  let out: string
  if (spec.startsWith('pkg:')) {
    const path = spec.replace(/[?#].*$/, '')
    if (!/^pkg:[a-z][a-z0-9.+-]*\/[^\s]+$/.test(path)) throw new RangeError(`not a package URL: ${JSON.stringify(spec)} (pkg:TYPE/NAME@VERSION)`)
    hasVersion = /@[^/]+$/.test(path)
    out = spec
  } else {
    const m = /^([^@/:\s]+)(?:@([^@/\s]+))?$/.exec(spec)
    if (!m) throw new RangeError(`not a package name: ${JSON.stringify(spec)} (NAME@VERSION, or a purl such as pkg:npm/left-pad@1.3.0)`)
    hasVersion = m[2] !== undefined
    out = `pkg:generic/${encodeURIComponent(m[1]!)}${hasVersion ? `@${encodeURIComponent(m[2]!)}` : ''}`
  }
  if (version === 'required' && !hasVersion) throw new RangeError(`${JSON.stringify(spec)} has no version (write NAME@VERSION)`)
  if (version === 'forbidden' && hasVersion) throw new RangeError(`${JSON.stringify(spec)} names a version; write the package without one`)
  return out
}

export interface LiveClaim {
  object: string
  /** Actors whose positive claim stands. */
  actors: string[]
  /** Ids of the standing statements. */
  ids: string[]
}

/**
 * The objects claimed for a subject that still stand: a positive statement is withdrawn by a
 * negative one from the same actor with the same subject, claim and object, dated no earlier
 * (PROTOCOL §5: a yank withdraws the yanker's own source claim). Whether an actor is believed
 * at all is the caller's policy; this only applies each actor's own withdrawals.
 */
export function liveClaims(statements: readonly { id: string; statement: Statement }[]): LiveClaim[] {
  const key = (s: Statement) => JSON.stringify([s.actor, s.subject, s.claim, s.object ?? null])
  const withdrawn = new Map<string, number>()
  for (const { statement: s } of statements) {
    if (s.not) withdrawn.set(key(s), Math.max(withdrawn.get(key(s)) ?? -1, s.time))
  }
  const byObject = new Map<string, LiveClaim>()
  for (const { id, statement: s } of statements) {
    if (s.not || s.object === undefined) continue
    const w = withdrawn.get(key(s))
    if (w !== undefined && w >= s.time) continue
    const c = byObject.get(s.object) ?? { object: s.object, actors: [], ids: [] }
    if (!c.actors.includes(s.actor)) c.actors.push(s.actor)
    c.ids.push(id)
    byObject.set(s.object, c)
  }
  return [...byObject.values()]
}
