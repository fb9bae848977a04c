import { ProtocolError } from './errors.ts'

/** The JSON values the protocol admits: no floats, no integers beyond 2^53 - 1. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface ParseOptions {
  /** Maximum nesting of arrays and objects; the top-level value is depth 1. */
  maxDepth: number
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
  const p = new Parser(text, options.maxDepth)
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

  object(depth: number): JsonObject {
    this.enter(depth)
    this.i++
    const out: JsonObject = {}
    this.ws()
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++
      return out
    }
    for (;;) {
      if (this.s.charCodeAt(this.i) !== 0x22) this.err('malformed_json', 'expected a string key')
      const key = this.string()
      if (Object.hasOwn(out, key)) this.err('duplicate_key', `duplicate key ${JSON.stringify(key)}`)
      this.ws()
      if (this.s.charCodeAt(this.i) !== 0x3a) this.err('malformed_json', 'expected ":"')
      this.i++
      this.ws()
      const v = this.value(depth + 1)
      // defineProperty, so a "__proto__" key is data, never a prototype change.
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
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
    for (;;) {
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
    let i = start
    // Fast path: no escapes.
    for (;;) {
      const c = s.charCodeAt(i)
      if (c === 0x22) {
        this.i = i + 1
        return checkWellFormed(this, s.slice(start, i))
      }
      if (c === 0x5c) break
      if (c < 0x20 || Number.isNaN(c)) {
        this.i = i
        if (Number.isNaN(c)) this.err('malformed_json', 'unterminated string')
        this.err('malformed_json', 'control character in string')
      }
      i++
    }
    let out = s.slice(start, i)
    for (;;) {
      const c = s.charCodeAt(i)
      if (c === 0x22) {
        this.i = i + 1
        return checkWellFormed(this, out)
      }
      if (Number.isNaN(c)) {
        this.i = i
        this.err('malformed_json', 'unterminated string')
      }
      if (c < 0x20) {
        this.i = i
        this.err('malformed_json', 'control character in string')
      }
      if (c !== 0x5c) {
        out += s[i]
        i++
        continue
      }
      const e = s.charCodeAt(i + 1)
      i += 2
      switch (e) {
        case 0x22: out += '"'; break
        case 0x5c: out += '\\'; break
        case 0x2f: out += '/'; break
        case 0x62: out += '\b'; break
        case 0x66: out += '\f'; break
        case 0x6e: out += '\n'; break
        case 0x72: out += '\r'; break
        case 0x74: out += '\t'; break
        case 0x75: {
          const hex = s.slice(i, i + 4)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.i = i
            this.err('malformed_json', 'invalid \\u escape')
          }
          out += String.fromCharCode(parseInt(hex, 16))
          i += 4
          break
        }
        default:
          this.i = i - 2
          this.err('malformed_json', 'invalid escape')
      }
    }
  }

  number(): number {
    const s = this.s
    const start = this.i
    let i = start
    if (s.charCodeAt(i) === 0x2d) i++
    const d0 = s.charCodeAt(i)
    if (d0 === 0x30) i++
    else if (d0 >= 0x31 && d0 <= 0x39) while (isDigit(s.charCodeAt(i))) i++
    else {
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
    if (!integer) {
      this.err('bad_number', 'numbers must be integers, written without fraction or exponent; write other numbers as strings')
    }
    const n = Number(s.slice(start, i))
    if (!isSafe(n)) {
      this.err('number_out_of_range', 'number beyond the safe integer range (2^53 - 1)')
    }
    this.i = i
    return n
  }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39

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
