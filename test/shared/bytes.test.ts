import fc from 'fast-check'
import { base64 as scureBase64, base64urlnopad } from '@scure/base'
import { describe, expect, it } from 'vitest'
import { base64, base64url, decodeBase64, decodeBase64ByReencode, decodeBase64url, decodeBase64urlByReencode } from '../../src/verify/index.ts'

describe('strict base64url', () => {
  it('the fast check agrees with decode + re-encode + compare on any string', () => {
    const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/='.split(''))
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 100 }).map((a) => a.join(''))), (s) => {
        expect(decodeBase64url(s)).toEqual(decodeBase64urlByReencode(s))
      }),
      { numRuns: 2000 },
    )
  })

  it('round-trips any bytes and refuses a last character with stray bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        const s = base64url.encode(b)
        expect(decodeBase64url(s)).toEqual(b)
        if (s.length % 4 !== 0) {
          // Flip the lowest bit of the last character's value: a second spelling of the same bytes.
          const last = s[s.length - 1]!
          const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
          const other = alpha[alpha.indexOf(last) ^ 1]!
          expect(decodeBase64url(s.slice(0, -1) + other)).toBeUndefined()
        }
      }),
    )
  })
})

describe('strict base64 (padded)', () => {
  const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/='.split(''))

  it('the one-pass decoder agrees with decode + re-encode + compare on any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 100 }).map((a) => a.join('')), fc.uint8Array({ maxLength: 80 }).map((b) => base64.encode(b))), (s) => {
        expect(decodeBase64(s)).toEqual(decodeBase64ByReencode(s))
      }),
      { numRuns: 2000 },
    )
  })

  it('round-trips any bytes; refuses stray bits, missing or extra padding and the url alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        const s = base64.encode(b)
        expect(decodeBase64(s)).toEqual(b)
        const pad = s.length - s.replace(/=+$/, '').length
        if (pad > 0) {
          const last = s[s.length - pad - 1]!
          const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
          expect(decodeBase64(s.slice(0, -pad - 1) + alpha[alpha.indexOf(last) ^ 1]! + '='.repeat(pad))).toBeUndefined()
          expect(decodeBase64(s.slice(0, -pad))).toBeUndefined()
        }
        expect(decodeBase64(`${s}====`)).toBeUndefined()
        if (/[+/]/.test(s)) expect(decodeBase64(s.replace(/\+/g, '-').replace(/\//g, '_'))).toBeUndefined()
      }),
    )
  })
})

describe('base64 encoding', () => {
  it('property: encodes any bytes exactly as @scure/base does, padded and url-safe', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(base64.encode(b)).toBe(scureBase64.encode(b))
        expect(base64url.encode(b)).toBe(base64urlnopad.encode(b))
      }),
      { numRuns: 1000 },
    )
  })
})
