import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryIndex } from '../../src/cli/check-source.ts'
import type { StatementFilter } from '../../src/policy/index.ts'
import type { VerifiedStatement } from '../../src/verify/index.ts'

const pick = (xs: string[]) => fc.constantFrom(...xs)
const ACTORS = ['did:key:a', 'did:key:b', 'did:key:c']
const SUBJECTS = ['pkg:npm/x@1', 'pkg:npm/y@1', 'did:key:b']
const OBJECTS = ['pkg:npm/x', 'sha512-AA==', 'sha512-BB==']
const CLAIMS = ['author', 'trusted-builder', 'published', 'source']

describe('MemoryIndex: the check source answering the gatherer from memory', () => {
  it('property: find answers exactly what filtering every statement by every field of the filter does, each statement once', () => {
    const statement = fc.record({ actor: pick(ACTORS), subject: pick(SUBJECTS), claim: pick(CLAIMS), object: fc.option(pick(OBJECTS), { nil: undefined }), n: fc.nat(5) })
    const filter = fc
      .record({ actor: fc.option(pick(ACTORS), { nil: undefined }), subject: fc.option(pick(SUBJECTS), { nil: undefined }), claim: fc.option(pick(CLAIMS), { nil: undefined }), object: fc.option(pick(OBJECTS), { nil: undefined }) })
      .filter((f) => f.actor !== undefined || f.subject !== undefined || f.object !== undefined)
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 40 }), fc.array(filter, { minLength: 1, maxLength: 10 }), (raw, filters) => {
        const all: VerifiedStatement[] = raw.map((r) => {
          const id = `sha256-${JSON.stringify(r)}`
          const { n: _n, object, ...rest } = r
          return { id, canonical: '', statement: { v: 1, time: 0, sig: '', ...rest, ...(object !== undefined && { object }) } }
        })
        const index = new MemoryIndex()
        index.add(all.slice(0, 20))
        index.add(all.slice(10))
        const once = [...new Map(all.map((s) => [s.id, s])).values()]
        for (const raw of filters) {
          const f = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as StatementFilter
          const want = once.filter((s) => Object.entries(f).every(([k, v]) => (s.statement as unknown as Record<string, unknown>)[k] === v))
          expect(index.find(f).map((s) => s.id).sort()).toEqual(want.map((s) => s.id).sort())
        }
      }),
      { numRuns: 500 },
    )
  })
})
