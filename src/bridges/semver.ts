/**
 * A small semver 2.0.0 range matcher with npm's meaning for the range forms people type:
 * exact (`1.2.3`, `=1.2.3`, `v1.2.3`), caret (`^1.2.3`), tilde (`~1.2.3`), x-ranges (`1.x`,
 * `1.2.*`, `*`, `` (any)), partial versions (`1`, `1.2`), comparators (`>=1.2.3`, `>1`, `<2`,
 * `<=1.4`), hyphen ranges (`1.2.3 - 2.3`), intersections (space-separated) and unions (`||`).
 *
 * As in npm (node-semver without `includePrerelease`), a prerelease version matches only if some
 * comparator in the same set names a prerelease of the same major.minor.patch: `^1.2.3` does not
 * match `1.3.0-beta`, but `>=1.3.0-alpha <2` does. node-semver's two simplifications are kept
 * too, so a range means here what it means to npm: `>=0.0.0` is dropped as "any", and a union
 * with a set that matches any release is that set alone. Build metadata is ignored. Anything else
 * (`latest`, `git+…`, `file:…`, loose versions such as `01.2.3`) is a RangeError, never a
 * silently empty match.
 */

export interface SemVer {
  major: number
  minor: number
  patch: number
  prerelease: (string | number)[]
}

const NUM = '0|[1-9]\\d*'
const PRE_ID = `(?:${NUM}|\\d*[A-Za-z-][0-9A-Za-z-]*)`
const BUILD_ID = '[0-9A-Za-z-]+'
const VERSION = new RegExp(`^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`)

/** Parses a strict semver 2.0.0 version (a leading `v` or `=` is allowed, as npm allows). */
export function parseVersion(s: string): SemVer | undefined {
  if (typeof s !== 'string' || s.length > 256) return undefined
  const m = VERSION.exec(s.trim().replace(/^[=v]+/, ''))
  if (!m) return undefined
  const nums = [m[1], m[2], m[3]].map(Number)
  if (!nums.every(Number.isSafeInteger)) return undefined
  const prerelease = m[4] === undefined ? [] : m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id))
  return { major: nums[0]!, minor: nums[1]!, patch: nums[2]!, prerelease }
}

export function compareVersions(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1
  const pa = a.prerelease
  const pb = b.prerelease
  if (pa.length === 0 || pb.length === 0) return pa.length === pb.length ? 0 : pa.length === 0 ? 1 : -1
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i]
    const y = pb[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    if (x === y) continue
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1
    if (typeof x === 'number') return -1 // numeric identifiers sort before alphanumeric ones
    if (typeof y === 'number') return 1
    return x < y ? -1 : 1
  }
  return 0
}

type Op = '<' | '<=' | '>' | '>=' | '='
interface Comparator {
  op: Op
  v: SemVer
}
/** A range: a union of intersections. An empty intersection matches every release. */
export type Range = Comparator[][]

const X = /^(?:[xX*]|)$/
const PARTIAL = /^[=v]*(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

interface Partial {
  major?: number
  minor?: number
  patch?: number
  prerelease: (string | number)[]
}

function parsePartial(s: string, range: string): Partial {
  const m = PARTIAL.exec(s)
  const bad = () => new RangeError(`not a version range: ${JSON.stringify(range)} (near ${JSON.stringify(s)})`)
  if (!m) throw bad()
  const part = (x: string | undefined) => (x === undefined || X.test(x) ? undefined : Number(x))
  const major = part(m[1])
  const minor = major === undefined ? undefined : part(m[2])
  const patch = minor === undefined ? undefined : part(m[3])
  for (const [x, n] of [[m[1], major], [m[2], minor], [m[3], patch]] as const) {
    if (x !== undefined && !X.test(x) && (!/^(0|[1-9]\d*)$/.test(x) || !Number.isSafeInteger(n))) throw bad()
  }
  let prerelease: (string | number)[] = []
  if (m[4] !== undefined) {
    if (patch === undefined) throw bad()
    const v = parseVersion(`${major}.${minor}.${patch}-${m[4]}`)
    if (!v) throw bad()
    prerelease = v.prerelease
  }
  return { major, minor, patch, prerelease }
}

const ver = (major: number, minor: number, patch: number, prerelease: (string | number)[] = []): SemVer => ({ major, minor, patch, prerelease })
const ZERO: (string | number)[] = [0]
const c = (op: Op, v: SemVer): Comparator => ({ op, v })

function expand(token: string, range: string): Comparator[] {
  const m = /^(\^|~>?|[<>]=?|=)?\s*(.*)$/.exec(token)!
  const op = m[1] ?? ''
  const p = parsePartial(m[2]!, range)
  const { major: M, minor: m2, patch: pt, prerelease: pre } = p
  if (M === undefined) return op === '<' || op === '>' ? [c('<', ver(0, 0, 0, ZERO))] : [] // `<*`, `>*` match nothing
  if (op === '^') {
    const lo = ver(M, m2 ?? 0, pt ?? 0, pre)
    if (M > 0 || m2 === undefined) return [c('>=', lo), c('<', ver(M + 1, 0, 0, ZERO))]
    if (m2 > 0 || pt === undefined) return [c('>=', lo), c('<', ver(0, m2 + 1, 0, ZERO))]
    return [c('>=', lo), c('<', ver(0, 0, pt + 1, ZERO))]
  }
  if (op === '~' || op === '~>') {
    const lo = ver(M, m2 ?? 0, pt ?? 0, pre)
    return m2 === undefined ? [c('>=', lo), c('<', ver(M + 1, 0, 0, ZERO))] : [c('>=', lo), c('<', ver(M, m2 + 1, 0, ZERO))]
  }
  if (op === '' || op === '=') {
    if (m2 === undefined) return [c('>=', ver(M, 0, 0)), c('<', ver(M + 1, 0, 0, ZERO))]
    if (pt === undefined) return [c('>=', ver(M, m2, 0)), c('<', ver(M, m2 + 1, 0, ZERO))]
    return [c('=', ver(M, m2, pt, pre))]
  }
  // Comparators with a partial version, as node-semver reads them.
  if (pt !== undefined) return [c(op as Op, ver(M, m2!, pt, pre))]
  if (op === '>') return [c('>=', m2 === undefined ? ver(M + 1, 0, 0) : ver(M, m2 + 1, 0))]
  if (op === '>=') return [c('>=', ver(M, m2 ?? 0, 0))]
  if (op === '<') return [c('<', ver(M, m2 ?? 0, 0, ZERO))]
  /* '<=' */ return [c('<', m2 === undefined ? ver(M + 1, 0, 0, ZERO) : ver(M, m2 + 1, 0, ZERO))]
}

function hyphen(a: string, b: string, range: string): Comparator[] {
  const lo = parsePartial(a, range)
  const hi = parsePartial(b, range)
  const out: Comparator[] = []
  if (lo.major !== undefined) out.push(c('>=', ver(lo.major, lo.minor ?? 0, lo.patch ?? 0, lo.prerelease)))
  if (hi.major !== undefined) {
    if (hi.minor === undefined) out.push(c('<', ver(hi.major + 1, 0, 0, ZERO)))
    else if (hi.patch === undefined) out.push(c('<', ver(hi.major, hi.minor + 1, 0, ZERO)))
    else out.push(c('<=', ver(hi.major, hi.minor, hi.patch, hi.prerelease)))
  }
  return out
}

/** Parses a range; throws RangeError for anything that is not one. */
export function parseRange(range: string): Range {
  if (typeof range !== 'string') throw new TypeError('range must be a string')
  if (range.length > 1024) throw new RangeError('range is longer than 1024 characters')
  // node-semver drops `>=0.0.0` (it means "any"), so it does not exclude 0.0.0's prereleases.
  const any = (c: Comparator) => c.op === '>=' && c.v.major === 0 && c.v.minor === 0 && c.v.patch === 0 && c.v.prerelease.length === 0
  const sets = range.split('||').map((set) => {
    const s = set.trim().replace(/(\^|~>?|[<>]=?|=)\s+/g, '$1')
    const h = /^(\S+)\s+-\s+(\S+)$/.exec(s)
    if (h) return hyphen(h[1]!, h[2]!, range).filter((c) => !any(c))
    return s === '' ? [] : s.split(/\s+/).flatMap((t) => expand(t, range)).filter((c) => !any(c))
  })
  if (sets.length === 1) return sets
  // As node-semver: sets that match nothing (`<0.0.0-0`) leave a union, and a union with a set
  // that matches any release is that set alone (so, like `*`, it no longer admits prereleases).
  const isNull = (set: Comparator[]) => set.length === 1 && set[0]!.op === '<' && compareVersions(set[0]!.v, ver(0, 0, 0, ZERO)) === 0
  const live = sets.filter((set) => !isNull(set))
  if (live.length === 0) return [sets[0]!]
  return live.some((set) => set.length === 0) ? [[]] : live
}

function test(cmp: Comparator, v: SemVer): boolean {
  const d = compareVersions(v, cmp.v)
  return cmp.op === '<' ? d < 0 : cmp.op === '<=' ? d <= 0 : cmp.op === '>' ? d > 0 : cmp.op === '>=' ? d >= 0 : d === 0
}

function testSet(set: Comparator[], v: SemVer): boolean {
  if (!set.every((cmp) => test(cmp, v))) return false
  if (v.prerelease.length === 0) return true
  // A prerelease matches only a set that opts in for its own major.minor.patch.
  return set.some((cmp) => cmp.v.prerelease.length > 0 && cmp.v.major === v.major && cmp.v.minor === v.minor && cmp.v.patch === v.patch)
}

/** True when `version` (strict semver) is in `range`. A version that is not semver matches nothing. */
export function satisfies(version: string, range: string | Range): boolean {
  const v = parseVersion(version)
  if (!v) return false
  const r = typeof range === 'string' ? parseRange(range) : range
  return r.some((set) => testSet(set, v))
}
