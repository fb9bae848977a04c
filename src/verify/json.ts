import { ProtocolError } from './errors.ts'

/** The JSON values the protocol admits: no floats, no integers beyond 2^53 - 1. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface ParseOptions {
  /** Maximum nesting of arrays and objects; the top-level value is depth 1. */
  maxDepth: number
  /**
   * Most members (elements or keys) one array or object may hold; unlimited if absent. Refused
   * with `too_many_members` as soon as it is passed: an object of 400,000 keys costs V8 more to
   * build than any honest body does to verify, whoever parses it.
   */
  maxMembers?: number
  /**
   * `'protocol'` (default): integers within ±(2^53 - 1) only, as signed content must be. `'any'`:
   * any RFC 8259 number, as the nearest double, for foreign documents (an npm packument) whose
   * numbers are never signed. Duplicate keys, depth and surrogates stay strict either way.
   */
  numbers?: 'protocol' | 'any'
}

/**
 * A strict JSON parser (RFC 8259) for hostile input.
 *
 * Hand-written because `JSON.parse` silently keeps the last of duplicate keys (two readers of
 * one signed document could then see different facts), turns 2^53 + 1 into 2^53, and has no
 * nesting limit. We refuse all three, plus lone surrogates, which RFC 8785 cannot canonicalise.
 * Numbers must be integers written plainly: `1.0`, `1e0` and `1.5` are refused, because their
 * canonical forms differ between languages and `1.0` would otherwise be read as the integer 1.
 */
export function parseJson(text: string, options: ParseOptions): Json {
  if (typeof text !== 'string') throw new TypeError('text must be a string')
  if (!Number.isInteger(options.maxDepth) || options.maxDepth < 1 || options.maxDepth > 512) {
    throw new RangeError('maxDepth must be an integer from 1 to 512 (the parser recurses)')
  }
  const maxMembers = options.maxMembers ?? Infinity
  if (maxMembers !== Infinity && (!Number.isSafeInteger(maxMembers) || maxMembers < 0)) {
    throw new RangeError('maxMembers must be a non-negative integer')
  }
  const p = new Parser(text, options.maxDepth, maxMembers, options.numbers === 'any')
  p.ws()
  const value = p.value(1)
  p.ws()
  if (p.i !== text.length) p.err('malformed_json', 'unexpected data after the JSON value')
  return value
}

const isSafe = Number.isSafeInteger

class Parser {
  i = 0
  constructor(
    readonly s: string,
    readonly maxDepth: number,
    readonly maxMembers: number,
    readonly anyNumber = false,
  ) {}

  err(code: string, message: string): never {
    throw new ProtocolError(code, `${message} at offset ${this.i}`)
  }

  ws(): void {
    const s = this.s
    let i = this.i
    for (;;) {
      const c = s.charCodeAt(i)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++
      else break
    }
    this.i = i
  }

  value(depth: number): Json {
    const c = this.s.charCodeAt(this.i)
    switch (c) {
      case 0x7b: // {
        return this.object(depth)
      case 0x5b: // [
        return this.array(depth)
      case 0x22: // "
        return this.string()
      case 0x74: // t
        return this.literal('true', true)
      case 0x66: // f
        return this.literal('false', false)
      case 0x6e: // n
        return this.literal('null', null)
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number()
        if (Number.isNaN(c)) this.err('malformed_json', 'unexpected end of input')
        return this.err('malformed_json', `unexpected character ${JSON.stringify(this.s[this.i])}`)
    }
  }

  literal<T extends Json>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.err('malformed_json', 'invalid literal')
    this.i += word.length
    return v
  }

  enter(depth: number): void {
    if (depth > this.maxDepth) this.err('too_deep', `nesting deeper than ${this.maxDepth}`)
  }

  member(count: number): void {
    if (count > this.maxMembers) this.err('too_many_members', `more than ${this.maxMembers} members in one array or object`)
  }

  object(depth: number): JsonObject {
    this.enter(depth)
    this.i++
    const out: JsonObject = {}
    this.ws()
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++
      return out
    }
    for (let count = 1; ; count++) {
      this.member(count)
      if (this.s.charCodeAt(this.i) !== 0x22) this.err('malformed_json', 'expected a string key')
      const key = this.string()
      if (Object.hasOwn(out, key)) this.err('duplicate_key', `duplicate key ${JSON.stringify(key)}`)
      this.ws()
      if (this.s.charCodeAt(this.i) !== 0x3a) this.err('malformed_json', 'expected ":"')
      this.i++
      this.ws()
      const v = this.value(depth + 1)
      // "__proto__" through defineProperty, so it is data, never a prototype change. Any other
      // key by assignment, which V8 does several times faster for objects with many keys
      // (Object.prototype has no other setter an assignment could reach).
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
      else out[key] = v
      this.ws()
      const c = this.s.charCodeAt(this.i)
      this.i++
      if (c === 0x2c) {
        this.ws()
        continue
      }
      if (c === 0x7d) return out
      this.i--
      this.err('malformed_json', 'expected "," or "}"')
    }
  }

  array(depth: number): Json[] {
    this.enter(depth)
    this.i++
    const out: Json[] = []
    this.ws()
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++
      return out
    }
    for (let count = 1; ; count++) {
      this.member(count)
      out.push(this.value(depth + 1))
      this.ws()
      const c = this.s.charCodeAt(this.i)
      this.i++
      if (c === 0x2c) {
        this.ws()
        continue
      }
      if (c === 0x5d) return out
      this.i--
      this.err('malformed_json', 'expected "," or "]"')
    }
  }

  string(): string {
    const s = this.s
    const start = ++this.i
    const i = skipRun(s, start)
    const c = s.charCodeAt(i)
    // Fast path: no escapes.
    if (c === 0x22) {
      this.i = i + 1
      return checkWellFormed(this, s.slice(start, i))
    }
    if (c !== 0x5c) this.badChar(i, c)
    return checkWellFormed(this, this.escaped(start, i))
  }

  /** At `i`, the end of input or a control character inside a string. */
  private badChar(i: number, c: number): never {
    this.i = i
    if (Number.isNaN(c)) this.err('malformed_json', 'unterminated string')
    return this.err('malformed_json', 'control character in string')
  }

  /** Code units of escapes and short raw runs, decoded a chunk at a time. */
  private units: Uint16Array | undefined

  /**
   * The rest of a string from its first backslash at `i`. Linear in the input, whatever the mix:
   * escapes and the short runs between them are copied into a code-unit buffer, decoded CHUNK
   * units at a time; a run of SHORT_RUN or more is scanned natively and sliced whole. Appending
   * one character at a time instead made 4 MiB of `\n` cost 50x JSON.parse.
   */
  private escaped(start: number, i: number): string {
    const s = this.s
    const buf = (this.units ??= new Uint16Array(CHUNK + SHORT_RUN))
    const parts: string[] = []
    let n = 0
    // The text before the first backslash, already scanned by the fast path.
    if (i - start < SHORT_RUN) for (let k = start; k < i; k++) buf[n++] = s.charCodeAt(k)
    else parts.push(s.slice(start, i))
    for (;;) {
      const runStart = i
      let c = s.charCodeAt(i)
      // c >= 0x20 is false for NaN (the end of input) too.
      while (c !== 0x22 && c !== 0x5c && c >= 0x20 && i - runStart < SHORT_RUN) {
        buf[n++] = c
        c = s.charCodeAt(++i)
      }
      if (i - runStart >= SHORT_RUN) {
        n -= i - runStart
        i = skipRun(s, i)
        c = s.charCodeAt(i)
        if (n) parts.push(decodeUnits(buf, n)), (n = 0)
        parts.push(s.slice(runStart, i))
      }
      if (c === 0x22) {
        if (n) parts.push(decodeUnits(buf, n))
        this.i = i + 1
        return parts.length === 1 ? parts[0]! : parts.join('')
      }
      if (c !== 0x5c) this.badChar(i, c)
      const e = s.charCodeAt(i + 1)
      if (e === 0x75) {
        let v = 0
        for (let k = i + 2; k < i + 6; k++) {
          const h = hexValue(s.charCodeAt(k))
          if (h < 0) {
            this.i = i + 2
            this.err('malformed_json', 'invalid \\u escape')
          }
          v = (v << 4) | h
        }
        buf[n++] = v
        i += 6
      } else {
        const v = e < 0x80 ? ESCAPES[e]! : -1
        if (v < 0) {
          this.i = i
          this.err('malformed_json', 'invalid escape')
        }
        buf[n++] = v
        i += 2
      }
      if (n >= CHUNK) {
        // A high surrogate at the end waits for its partner in the next chunk.
        const keep = isHigh(buf[n - 1]!) ? 1 : 0
        parts.push(decodeUnits(buf, n - keep))
        if (keep) buf[0] = buf[n - 1]!
        n = keep
      }
    }
  }

  number(): number {
    const s = this.s
    const start = this.i
    let i = start
    const negative = s.charCodeAt(i) === 0x2d
    if (negative) i++
    const d0 = s.charCodeAt(i)
    // The value is accumulated while scanning: exact while below 2^53, and a value at or beyond
    // 2^53 can only round to one at or beyond it, which isSafe refuses.
    let value = 0
    if (d0 === 0x30) i++
    else if (d0 >= 0x31 && d0 <= 0x39) {
      for (let c = d0; isDigit(c); c = s.charCodeAt(++i)) value = value * 10 + (c - 0x30)
    } else {
      this.i = i
      this.err('malformed_json', 'invalid number')
    }
    let integer = true
    if (s.charCodeAt(i) === 0x2e) {
      integer = false
      i++
      if (!isDigit(s.charCodeAt(i))) (this.i = i), this.err('malformed_json', 'invalid number')
      while (isDigit(s.charCodeAt(i))) i++
    }
    const e = s.charCodeAt(i)
    if (e === 0x65 || e === 0x45) {
      integer = false
      i++
      const sign = s.charCodeAt(i)
      if (sign === 0x2b || sign === 0x2d) i++
      if (!isDigit(s.charCodeAt(i))) (this.i = i), this.err('malformed_json', 'invalid number')
      while (isDigit(s.charCodeAt(i))) i++
    }
    if (this.anyNumber && (!integer || !isSafe(negative ? -value : value))) {
      this.i = i
      return Number(s.slice(start, i))
    }
    if (!integer) {
      this.err('bad_number', 'numbers must be integers, written without fraction or exponent; write other numbers as strings')
    }
    const n = negative ? -value : value
    if (!isSafe(n)) {
      this.err('number_out_of_range', 'number beyond the safe integer range (2^53 - 1)')
    }
    this.i = i
    return n
  }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39

/** Characters that may stand in a string as they are; sticky, so it scans from `lastIndex`. */
const RUN = /[^"\\\u0000-\u001f]*/y

/** The index of the first quote, backslash or control character from `i` (or the end). */
function skipRun(s: string, i: number): number {
  // The regular expression engine scans in native code, several times faster than a loop.
  RUN.lastIndex = i
  RUN.test(s)
  return RUN.lastIndex
}

/** Escaped code units decoded in one go; small enough for `String.fromCharCode.apply`. */
const CHUNK = 4096
/** Runs shorter than this between escapes are copied as units rather than sliced. */
const SHORT_RUN = 64

/** The code unit each single-character escape stands for, by the character after `\\`; -1 if none. */
const ESCAPES = new Int32Array(0x80).fill(-1)
for (const [ch, unit] of Object.entries({ '"': 0x22, '\\': 0x5c, '/': 0x2f, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 })) {
  ESCAPES[ch.charCodeAt(0)] = unit
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1
}

const isHigh = (u: number) => u >= 0xd800 && u <= 0xdbff
const isLow = (u: number) => u >= 0xdc00 && u <= 0xdfff

/**
 * A fatal UTF-16 decoder is the fast way from many code units to a string, but it refuses lone
 * surrogates where we must keep them for checkWellFormed to report; undefined where the
 * runtime lacks UTF-16 decoding.
 */
const utf16 = (() => {
  try {
    return new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true })
  } catch {
    return undefined
  }
})()
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

function decodeUnits(buf: Uint16Array, n: number): string {
  const units = buf.subarray(0, n)
  // A surrogate at either edge may pair with its neighbour outside the chunk, so the decoder
  // must not judge it; inside the chunk, a decoder error means a lone surrogate, which
  // fromCharCode keeps so that checkWellFormed refuses the whole string.
  if (utf16 && littleEndian && n > 64 && !isLow(units[0]!) && !isHigh(units[n - 1]!)) {
    try {
      return utf16.decode(units)
    } catch {
      // fall through
    }
  }
  return String.fromCharCode.apply(null, units as unknown as number[])
}

function checkWellFormed(p: Parser, str: string): string {
  if (!str.isWellFormed()) p.err('invalid_unicode', 'string contains a lone surrogate')
  return str
}

/**
 * RFC 8785 (JCS) canonical form. For the values the protocol admits (strings, safe integers,
 * booleans, null, arrays, objects) JCS is exactly ECMAScript serialisation with object keys
 * sorted by UTF-16 code units, which is what the default string comparison does.
 */
export function canonicalize(value: Json): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('canonicalize: non-finite number')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`
  const keys = Object.keys(value).sort()
  let out = '{'
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!
    if (k) out += ','
    out += `${JSON.stringify(key)}:${canonicalize(value[key]!)}`
  }
  return `${out}}`
}
