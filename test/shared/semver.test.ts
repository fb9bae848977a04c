import fc from 'fast-check'
import semver from 'semver'
import { describe, expect, it } from 'vitest'
import { parseRange, satisfies } from '../../src/bridges/semver.ts'

// Shared: runs in workerd and Node, so the range matcher is shown to bundle and behave alike in both.
describe('semver ranges', () => {
  const table: [string, string, boolean][] = [
    ['1.2.3', '1.2.3', true],
    ['1.2.4', '=1.2.3', false],
    ['1.2.3', 'v1.2.3', true],
    ['1.9.9', '^1.2.3', true],
    ['2.0.0', '^1.2.3', false],
    ['0.2.9', '^0.2.3', true],
    ['0.3.0', '^0.2.3', false],
    ['0.0.4', '^0.0.3', false],
    ['1.2.9', '~1.2.3', true],
    ['1.3.0', '~1.2.3', false],
    ['1.9.0', '~1', true],
    ['1.4.0', '1.x', true],
    ['2.0.0', '1.x', false],
    ['1.2.7', '1.2.*', true],
    ['5.0.0', '*', true],
    ['5.0.0', '', true],
    ['1.3.0-beta', '^1.2.3', false],
    ['1.3.0-beta', '>=1.3.0-alpha <2', true],
    ['1.3.0', '>=1.2.0 <1.3.0', false],
    ['1.2.9', '>=1.2.0 <1.3.0', true],
    ['1.9.9', '<=1.9', true],
    ['2.0.0', '<=1.9', false],
    ['2.0.0', '>1', true],
    ['1.9.0', '>1', false],
    ['3.0.0', '1.x || >=3', true],
    ['2.5.0', '1.2.3 - 2.3', false],
    ['2.3.9', '1.2.3 - 2.3', true],
    ['1.2.3+build.5', '1.2.3', true],
    ['01.2.3', '*', false],
  ]
  it.each(table)('%s in %j is %s', (v, r, want) => expect(satisfies(v, r)).toBe(want))

  it('refuses what is not a range, instead of matching nothing', () => {
    for (const bad of ['latest', 'git+https://x', '1.2.3.4', '^^1', '>=', 'x.1.2-beta']) expect(() => parseRange(bad), bad).toThrow(RangeError)
  })

  // The matching is node-semver's own; what these properties guard is the door in front of it
  // (a range npm cannot read is an error, never an empty match) and how the bridge passes versions on.
  it('property: agrees with node-semver (npm’s own) on generated versions and ranges', () => {
    const n = fc.integer({ min: 0, max: 3 })
    const pre = fc.option(fc.constantFrom('alpha', 'beta.1', '0', 'rc.2'), { nil: undefined })
    const version = fc.tuple(n, n, n, pre).map(([a, b, c, p]) => `${a}.${b}.${c}${p ? `-${p}` : ''}`)
    const part = fc.oneof(n.map(String), fc.constant('x'))
    const partial = fc.oneof(version, fc.tuple(n, part).map(([a, b]) => `${a}.${b}`), n.map(String))
    const comparator = fc.tuple(fc.constantFrom('', '^', '~', '>=', '>', '<', '<=', '='), partial).map(([op, v]) => `${op}${v}`)
    const set = fc.oneof(fc.array(comparator, { minLength: 1, maxLength: 2 }).map((c) => c.join(' ')), fc.tuple(partial, partial).map(([a, b]) => `${a} - ${b}`))
    const range = fc.array(set, { minLength: 1, maxLength: 2 }).map((s) => s.join(' || '))
    fc.assert(
      fc.property(version, range, (v, r) => {
        expect(satisfies(v, r), `${v} in ${r}`).toBe(semver.satisfies(v, r))
      }),
      { numRuns: 3000 },
    )
  })

  it('property: refuses exactly the ranges npm cannot read, and never throws for a bad version', () => {
    const token = fc.constantFrom('1', '1.2', '1.2.3', 'x', '*', '^', '~', '>=', '<', '=', '-', '||', ' ', 'v', '01', '1.2.3-rc.1', 'latest', 'git+', ':', '^^', '.', 'beta', '+b')
    const range = fc.array(token, { maxLength: 8 }).map((t) => t.join(''))
    const version = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('1.2.3', '01.2.3', '1.2', 'v1.2.3', '1.2.3-beta'))
    fc.assert(
      fc.property(range, version, (r, v) => {
        const valid = semver.validRange(r) !== null
        if (!valid) expect(() => parseRange(r), r).toThrow(RangeError)
        else expect(satisfies(v, parseRange(r)), `${v} in ${r}`).toBe(semver.satisfies(v, r))
      }),
      { numRuns: 3000 },
    )
  })
})
