import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeStrictUtf8, decodeUtf8, parseJsonBytes, ProtocolError } from '../../src/verify/index.ts'

/** The one bytes → text rule (docs/PROTOCOL.md §4): valid UTF-8, no byte order mark. */
describe('strict UTF-8', () => {
  const bom = new Uint8Array([0xef, 0xbb, 0xbf])
  const cat = (...p: Uint8Array[]) => new Uint8Array(p.flatMap((x) => [...x]))
  const enc = (s: string) => new TextEncoder().encode(s)

  it('refuses a leading BOM with invalid_utf8, in text and in JSON', () => {
    expect(() => decodeUtf8(cat(bom, enc('{}')))).toThrow(expect.objectContaining({ code: 'invalid_utf8' }))
    expect(() => parseJsonBytes(cat(bom, enc('{"a":1}')), { maxDepth: 4 })).toThrow(ProtocolError)
    expect(decodeStrictUtf8(cat(bom, enc('x')))).toBeUndefined()
    expect(decodeStrictUtf8(bom)).toBeUndefined()
  })

  it('keeps a U+FEFF that is not at the start (inside a string it is ordinary text)', () => {
    expect(parseJsonBytes(enc('{"a":"x\uFEFFy"}'), { maxDepth: 4 })).toEqual({ a: 'x\uFEFFy' })
  })

  it('refuses invalid UTF-8: stray continuation, overlong form, surrogate, truncation', () => {
    for (const b of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff]]) {
      expect(decodeStrictUtf8(new Uint8Array(b)), String(b)).toBeUndefined()
    }
    expect(() => decodeUtf8('text' as unknown as Uint8Array)).toThrow(TypeError)
  })

  it('round-trips every well-formed string that does not start with U+FEFF', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        fc.pre(!s.startsWith('\uFEFF'))
        expect(decodeUtf8(enc(s))).toBe(s)
      }),
    )
  })
})
