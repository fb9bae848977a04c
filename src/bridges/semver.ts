/**
 * Version ranges with npm's meaning, because the npm bridge selects versions the way npm would:
 * node-semver (npm's own) does the matching, so `^1.2.3`, `1.x || >=3`, hyphen ranges and the
 * prerelease rule (a prerelease matches only a range that names one of the same
 * major.minor.patch) mean here exactly what they mean to npm. Strict, not `loose`: a version
 * such as `01.2.3` matches nothing.
 *
 * What this wrapper adds is the door: node-semver answers "no match" for a range it cannot read,
 * and the bridge must not turn a typo (`latest`, `git+…`, `^^1`) into an empty selection, so
 * anything that is not a range is a RangeError here.
 */
import semver from 'semver'

export type Range = semver.Range

/** Longer than any range a person types; bounds the work of parsing an untrusted one. */
const RANGE_MAX = 1024

/** Parses a range; throws RangeError for anything that is not one. */
export function parseRange(range: string): Range {
  if (typeof range !== 'string') throw new TypeError('range must be a string')
  if (range.length > RANGE_MAX) throw new RangeError(`range is longer than ${RANGE_MAX} characters`)
  try {
    return new semver.Range(range)
  } catch (e) {
    throw new RangeError(`not a version range: ${JSON.stringify(range)}`, { cause: e })
  }
}

/** True when `version` (strict semver) is in `range`. A version that is not semver matches nothing. */
export function satisfies(version: string, range: string | Range): boolean {
  const r = typeof range === 'string' ? parseRange(range) : range
  return typeof version === 'string' && r.test(version)
}
