/** The NAR parser: a byte stream in, entries out; strict, streaming, memory bounded. Pure, no I/O. */
import { badName, badTarget, childWhere, compareBytes, NAR_LIMITS, padding, ROOT, show } from './tree.ts'

/** A NAR that is not the one canonical encoding of a tree. `offset` is where reading stopped. */
export class NarParseError extends Error {
  override readonly name = 'NarParseError'
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`)
  }
}

export type NarEntry =
  | { type: 'directory'; path: Uint8Array[] }
  | { type: 'symlink'; path: Uint8Array[]; target: Uint8Array }
  | {
      type: 'regular'
      path: Uint8Array[]
      executable: boolean
      size: number
      /**
       * Read it (once) before asking for the next entry; it is skipped otherwise. Chunks are
       * views of the input's chunks, not copies.
       */
      contents: AsyncIterable<Uint8Array>
    }

export interface NarParseOptions {
  /** Directories nested inside the root; default NAR_LIMITS.depth. */
  maxDepth?: number
  /** Bytes of the whole NAR; default unlimited (the caller's stream may cap it instead). */
  maxBytes?: number
}

const EMPTY = new Uint8Array(0)
const TOKEN_MAX = 16

/**
 * Pulls bytes from an async iterable, keeping at most one input chunk plus one string (names and
 * targets are capped, see NAR_LIMITS) in hand, however long the input.
 */
class Reader {
  private readonly it: AsyncIterator<Uint8Array>
  private chunk: Uint8Array = EMPTY
  private pos = 0
  private received = 0
  private readonly scratch = new Uint8Array(8 + NAR_LIMITS.targetBytes + 8)
  /** Bytes consumed so far. */
  offset = 0

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly maxBytes: number,
  ) {
    if (source === null || typeof (source as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] !== 'function') {
      throw new TypeError('NAR source must be an AsyncIterable<Uint8Array>')
    }
    this.it = source[Symbol.asyncIterator]()
  }

  fail(message: string): never {
    throw new NarParseError(message, this.offset)
  }

  /** Makes sure some unread bytes are in hand; false at the end of the input. */
  private async fill(): Promise<boolean> {
    while (this.pos === this.chunk.length) {
      const r = await this.it.next()
      if (r.done) return false
      if (!(r.value instanceof Uint8Array)) throw new TypeError('NAR source must yield Uint8Array chunks')
      this.received += r.value.length
      if (this.received > this.maxBytes) this.fail(`NAR is larger than ${this.maxBytes} bytes`)
      this.chunk = r.value
      this.pos = 0
    }
    return true
  }

  /** Up to `max` (> 0) bytes, as a view of the current input chunk. */
  async take(max: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill())) this.fail(`NAR is truncated in ${what}`)
    const n = Math.min(max, this.chunk.length - this.pos)
    const out = this.chunk.subarray(this.pos, this.pos + n)
    this.pos += n
    this.offset += n
    return out
  }

  /** Exactly n bytes (n <= scratch size); a view that is valid until the next read. */
  private async exact(n: number, what: string): Promise<Uint8Array> {
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n)
      this.pos += n
      this.offset += n
      return out
    }
    let have = 0
    while (have < n) {
      const part = await this.take(n - have, what)
      this.scratch.set(part, have)
      have += part.length
    }
    return this.scratch.subarray(0, n)
  }

  async u64(what: string): Promise<number> {
    const b = await this.exact(8, what)
    const lo = (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 2 ** 24
    const hi = (b[4]! | (b[5]! << 8) | (b[6]! << 16)) + b[7]! * 2 ** 24
    if (hi >= 2 ** 21) this.fail(`${what} is larger than 2^53`)
    return hi * 2 ** 32 + lo
  }

  async padding(len: number, what: string): Promise<void> {
    const n = padding(len)
    if (n === 0) return
    const b = await this.exact(n, `padding of ${what}`)
    if (b.some((x) => x !== 0)) {
      this.offset -= n
      this.fail(`non-zero padding after ${what}`)
    }
  }

  /** A string of at most `max` bytes; refused from its length alone, before reading it. */
  async string(max: number, what: string): Promise<Uint8Array> {
    const len = await this.u64(`length of ${what}`)
    if (len > max) {
      this.offset -= 8
      this.fail(`${what} is ${len} bytes, more than ${max}`)
    }
    const b = (await this.exact(len, what)).slice()
    await this.padding(len, what)
    return b
  }

  async token(): Promise<string> {
    const b = await this.string(TOKEN_MAX, 'token')
    return String.fromCharCode(...b)
  }

  async expect(token: string, context: string): Promise<void> {
    const start = this.offset
    const got = await this.token()
    if (got !== token) {
      this.offset = start
      this.fail(`expected ${JSON.stringify(token)} ${context}, got ${JSON.stringify(got)}`)
    }
  }

  async end(): Promise<void> {
    if (await this.fill()) this.fail('trailing data after the NAR')
  }
}

/** A regular file's contents, read at most once, and only while the parser waits on it. */
class Contents implements AsyncIterable<Uint8Array> {
  private remaining: number
  private state: 'ready' | 'reading' | 'done' = 'ready'

  constructor(
    private readonly reader: Reader,
    readonly size: number,
    private readonly where: string,
  ) {
    this.remaining = size
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.state !== 'ready') throw new Error(`contents of ${this.where} can be read only once, before the next entry`)
    this.state = 'reading'
    while (this.remaining > 0) {
      const chunk = await this.reader.take(this.remaining, `contents of ${this.where}`)
      this.remaining -= chunk.length
      yield chunk
      if ((this.state as string) === 'done') throw new Error(`contents of ${this.where} were read after the parser moved on`)
    }
  }

  /** Skips what the consumer did not read, then the padding. */
  async finish(): Promise<void> {
    this.state = 'done'
    while (this.remaining > 0) this.remaining -= (await this.reader.take(this.remaining, `contents of ${this.where}`)).length
    await this.reader.padding(this.size, `contents of ${this.where}`)
  }
}

/**
 * Parses a NAR stream into entries, parents before children, in archive order. Strict: it
 * accepts only the canonical encoding (the one `narChunks` and Nix write), so an accepted NAR
 * re-serialises to the same bytes and its hash is the hash of the tree it unpacks to. Refused:
 * unknown or misplaced tokens, tokens in another order (Nix's own parser tolerates some), entries
 * not strictly sorted (which also refuses duplicates), names that could escape a directory,
 * non-zero padding, strings over their limits (refused from the length, before reading), sizes
 * beyond 2^53, truncation and trailing bytes.
 *
 * Memory is bounded by one input chunk and one name; contents are streamed.
 */
export async function* parseNar(source: AsyncIterable<Uint8Array>, options: NarParseOptions = {}): AsyncGenerator<NarEntry, void, undefined> {
  const maxDepth = options.maxDepth ?? NAR_LIMITS.depth
  const maxBytes = options.maxBytes ?? Infinity
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) throw new RangeError(`maxDepth must be a safe integer >= 0, got ${maxDepth}`)
  if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a number >= 0, got ${maxBytes}`)
  const r = new Reader(source, maxBytes)

  await r.expect('nix-archive-1', 'at the start (not a NAR)')
  const stack: { path: Uint8Array[]; where: string; prev: Uint8Array | undefined }[] = []
  let pending: { path: Uint8Array[]; where: string } | undefined = { path: [], where: ROOT }

  for (;;) {
    if (pending) {
      const { path, where } = pending
      pending = undefined
      await r.expect('(', `to open the node at ${where}`)
      await r.expect('type', `in the node at ${where}`)
      const start = r.offset
      const type = await r.token()
      if (type === 'regular') {
        let executable = false
        let tok = await r.token()
        if (tok === 'executable') {
          executable = true
          if ((await r.u64(`executable marker of ${where}`)) !== 0) r.fail(`executable marker of ${where} is not empty`)
          tok = await r.token()
        }
        if (tok !== 'contents') r.fail(`expected "contents" in the regular file at ${where}, got ${JSON.stringify(tok)}`)
        const size = await r.u64(`size of ${where}`)
        if (size > maxBytes) r.fail(`size of ${where} is ${size} bytes, more than the NAR may hold`)
        const contents = new Contents(r, size, where)
        yield { type: 'regular', path, executable, size, contents }
        await contents.finish()
        await r.expect(')', `to close the regular file at ${where}`)
      } else if (type === 'symlink') {
        await r.expect('target', `in the symlink at ${where}`)
        const target = await r.string(NAR_LIMITS.targetBytes, `symlink target of ${where}`)
        const why = badTarget(target)
        if (why) r.fail(`symlink target of ${where} ${why}`)
        await r.expect(')', `to close the symlink at ${where}`)
        yield { type: 'symlink', path, target }
      } else if (type === 'directory') {
        if (stack.length >= maxDepth + 1) r.fail(`directories are nested deeper than ${maxDepth} at ${where}`)
        stack.push({ path, where, prev: undefined })
        yield { type: 'directory', path: [...path] }
        continue
      } else {
        r.offset = start
        r.fail(`unknown node type ${JSON.stringify(type)} at ${where}`)
      }
      if (stack.length === 0) break
      await r.expect(')', `to close the entry ${where}`)
    }

    const top = stack.at(-1)!
    const where = top.where
    const start = r.offset
    const tok = await r.token()
    if (tok === ')') {
      stack.pop()
      if (stack.length === 0) break
      await r.expect(')', `to close the entry ${where}`)
    } else if (tok === 'entry') {
      await r.expect('(', `to open an entry in ${where}`)
      await r.expect('name', `in an entry in ${where}`)
      const nameAt = r.offset
      const name = await r.string(NAR_LIMITS.nameBytes, `entry name in ${where}`)
      const why = badName(name)
      if (why) {
        r.offset = nameAt
        r.fail(`entry name ${show(name)} in ${where} ${why}`)
      }
      if (top.prev && compareBytes(top.prev, name) >= 0) {
        r.offset = nameAt
        r.fail(`entry ${show(name)} in ${where} is not after ${show(top.prev)}: entries must be sorted and unique`)
      }
      top.prev = name
      await r.expect('node', `after the name ${show(name)} in ${where}`)
      pending = { path: [...top.path, name], where: childWhere(where, name) }
    } else {
      r.offset = start
      r.fail(`expected "entry" or ")" in the directory ${where}, got ${JSON.stringify(tok)}`)
    }
  }
  await r.end()
}
