import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ensureGitoid, ensureStatementShape, formatGitoid, GIT_OBJECT_FORMATS, GIT_OBJECT_TYPES, gitoidFromHex, hex, isGitoid, parseGitoid, ProtocolError, type Gitoid } from '../../src/verify/index.ts'

const gitoid: fc.Arbitrary<Gitoid> = fc
  .record({ type: fc.constantFrom(...GIT_OBJECT_TYPES), format: fc.constantFrom('sha1' as const, 'sha256' as const) })
  .chain(({ type, format }) => fc.uint8Array({ minLength: GIT_OBJECT_FORMATS[format], maxLength: GIT_OBJECT_FORMATS[format] }).map((b) => ({ type, format, hex: hex.encode(b) })))

const EMPTY_TREE = 'gitoid:tree:sha1:4b825dc642cb6eb9a060e54bf8d69288fbee4904'
const statement = (object: string) => ({ v: 1, actor: 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp', subject: 'pkg:generic/mylib@1.2.3', claim: 'git-tree', object, time: 0, sig: 'A'.repeat(86) })

describe('gitoid', () => {
  it('parses what it formats, and formats what it parses', () => {
    fc.assert(fc.property(gitoid, (g) => {
      const s = formatGitoid(g)
      expect(parseGitoid(s)).toEqual(g)
      expect(isGitoid(s)).toBe(true)
    }))
  })

  it('has one spelling: any changed character that keeps the string a gitoid changes the object', () => {
    fc.assert(
      fc.property(gitoid, fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (g, at, ch) => {
        const s = formatGitoid(g)
        const i = at % s.length
        const t = s.slice(0, i) + ch + s.slice(i + 1)
        const p = parseGitoid(t)
        if (t === s) expect(p).toEqual(g)
        else if (p) expect(formatGitoid(p)).toBe(t) // another valid object, never a second spelling of g
      }),
    )
  })

  it('refuses uppercase, abbreviated, mis-sized, unknown type or format, with the part named', () => {
    const bad: [string, RegExp][] = [
      [EMPTY_TREE.replace('4b825dc', '4B825DC'), /40 lowercase hex/],
      [EMPTY_TREE.slice(0, 24), /40 lowercase hex/],
      [EMPTY_TREE.replace('sha1', 'sha256'), /64 lowercase hex/],
      [EMPTY_TREE.replace('tree', 'dir'), /type must be/],
      [EMPTY_TREE.replace('sha1', 'md5'), /object format/],
      [`${EMPTY_TREE}:x`, /gitoid:<type>/],
      ['gitoid:', /gitoid:<type>/],
    ]
    for (const [s, why] of bad) {
      expect(isGitoid(s)).toBe(false)
      expect(() => ensureGitoid(s)).toThrow(why)
      expect(() => ensureStatementShape(statement(s))).toThrow(ProtocolError)
      try {
        ensureStatementShape(statement(s))
      } catch (e) {
        expect((e as ProtocolError).code).toBe('bad_hash')
      }
    }
    expect(() => ensureGitoid(42)).toThrow(TypeError)
    expect(ensureStatementShape(statement(EMPTY_TREE)).object).toBe(EMPTY_TREE)
  })

  it('takes ids as git prints them at the edges', () => {
    expect(gitoidFromHex('tree', 'sha1', '4B825DC642CB6EB9A060E54BF8D69288FBEE4904')).toBe(EMPTY_TREE)
    expect(gitoidFromHex('tree', 'sha256', '4b825dc642cb6eb9a060e54bf8d69288fbee4904')).toBeUndefined()
    expect(gitoidFromHex('commit', 'sha1', 'zz'.repeat(20))).toBeUndefined()
  })
})
