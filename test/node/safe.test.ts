import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonSafe, terminalSafe } from '../../src/cli/safe.ts'

/** What a terminal acts on or hides: C0 (but tab and newline), DEL, C1, bidi and invisible characters. */
const DANGEROUS = /[\x00-\x08\x0B-\x1F\x7F-\x9F\u061C\u115F\u1160\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/
const hostileChar = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }),
  fc.integer({ min: 0x7f, max: 0x9f }),
  fc.constantFrom(0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069, 0x2028, 0xfeff, 0x061c),
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0xa0, max: 0xd7ff }),
).map((c) => String.fromCharCode(c))
const hostile = fc.array(hostileChar, { maxLength: 80 }).map((a) => a.join(''))

describe('terminalSafe', () => {
  it('leaves nothing a terminal would act on, and a one-line value on one line', () => {
    fc.assert(
      fc.property(hostile, fc.boolean(), (s, multiline) => {
        const out = terminalSafe(s, multiline)
        expect(out).not.toMatch(DANGEROUS)
        if (!multiline) expect(out).not.toContain('\n')
      }),
      { numRuns: 2000 },
    )
  })

  it('changes nothing in text that is already safe (escaping is not mangling)', () => {
    const safe = hostile.map((s) => s.replace(new RegExp(DANGEROUS.source, 'g'), '').replace(/[\n\t]/g, ''))
    fc.assert(fc.property(safe, (s) => {
      expect(terminalSafe(s)).toBe(s)
    }), { numRuns: 1000 })
  })

  it('writes what it escaped, so a reader sees the attack', () => {
    expect(terminalSafe('\x1b]0;pwned\x07\x1b[2J\rpublished ok')).toBe('\\e]0;pwned\\x07\\e[2J\\rpublished ok')
    expect(terminalSafe('evil\u202Egnp.exe')).toBe('evil\\u202egnp.exe')
    expect(terminalSafe('a\nb')).toBe('a\\nb')
    expect(terminalSafe('a\nb', true)).toBe('a\nb')
    expect(terminalSafe('\x9b2J')).toBe('\\x9b2J')
  })

  it('jsonSafe keeps the JSON value and removes the dangerous characters from its text', () => {
    fc.assert(
      fc.property(fc.dictionary(hostile, hostile, { maxKeys: 4 }), (value) => {
        const text = jsonSafe(JSON.stringify(value, null, 2))
        expect(text).not.toMatch(DANGEROUS)
        expect(JSON.parse(text)).toEqual(value)
      }),
      { numRuns: 500 },
    )
  })
})
