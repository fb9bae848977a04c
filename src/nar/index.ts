/**
 * Nix ARchive (NAR): the serialisation Nix hashes to name a directory (`nix-hash`, `nix hash path`,
 * the `narHash` of a narinfo). Unlike tar it has exactly one encoding per tree: no timestamps,
 * owners or permissions beyond one executable bit, and directory entries sorted by name bytes.
 * So "the NAR hash of a directory" is a content address that two machines compute alike.
 *
 * Pure, no I/O: runs in Workers and Node. The tree is abstract (`NarNode`); src/nar/fs.ts adapts
 * the file system to it.
 *
 * Wire format (Eelco Dolstra's thesis, fig. 5.2; Nix src/libutil/archive.cc): every string is a
 * u64 little-endian length, the bytes, then zero padding to a multiple of 8.
 *   nar       = "nix-archive-1" node
 *   node      = "(" "type" ( regular | symlink | directory ) ")"
 *   regular   = "regular" [ "executable" "" ] "contents" <u64 size> <bytes> <padding>
 *   symlink   = "symlink" "target" <target>
 *   directory = "directory" { "entry" "(" "name" <name> "node" node ")" }
 */

/** Names and symlink targets are byte strings in a NAR; a JS string stands for its UTF-8. */
export type NarBytes = string | Uint8Array

export interface NarRegular {
  type: 'regular'
  executable: boolean
  /** Written before the contents, so it must be known up front; the contents must match it. */
  size: number
  contents: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

export interface NarSymlink {
  type: 'symlink'
  target: NarBytes
}

export type NarEntries = AsyncIterable<readonly [NarBytes, NarNode]> | Iterable<readonly [NarBytes, NarNode]>

export interface NarDirectory {
  type: 'directory'
  /** In any order: the serialiser sorts them by name bytes, as Nix does. */
  entries: () => NarEntries | Promise<NarEntries>
}

export type NarNode = NarRegular | NarSymlink | NarDirectory

/**
 * Limits every NAR we write or read must respect. They are those of Linux (NAME_MAX, PATH_MAX),
 * so anything within them can be unpacked, and anything a file system holds can be packed; the
 * parser enforces the same ones, so what we write we can also read back.
 */
export const NAR_LIMITS = {
  /** Bytes of one entry name. */
  nameBytes: 255,
  /** Bytes of a symlink target. */
  targetBytes: 4095,
  /** Directories nested inside the root (the parser's default; deeper trees cannot be unpacked). */
  depth: 1024,
} as const

// ---------------------------------------------------------------------------------------------
// Shared helpers

const encoder = new TextEncoder()
const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

const padding = (n: number) => (8 - (n % 8)) % 8

/** A byte string for messages: JSON-quoted, invalid UTF-8 shown as U+FFFD. */
const show = (b: Uint8Array): string => JSON.stringify(lossy.decode(b))

const ROOT = '(root)'

/** A path for messages, relative to the NAR's root. */
export function narPathString(path: readonly Uint8Array[]): string {
  return path.length === 0 ? ROOT : path.map((p) => lossy.decode(p)).join('/')
}
/** A child's path for messages, built from its parent's in O(1) (V8 concatenates lazily). */
const childWhere = (parent: string, name: Uint8Array) => (parent === ROOT ? lossy.decode(name) : `${parent}/${lossy.decode(name)}`)

/** Byte-wise comparison, the order of C++ `std::string` that Nix's `std::map` sorts by. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/**
 * Why a name cannot be a NAR entry, or undefined if it can. The same rules as Nix's parser
 * (empty, ".", "..", "/" or NUL), plus NAME_MAX.
 */
function badName(name: Uint8Array): string | undefined {
  if (name.length === 0) return 'is empty'
  if (name.length > NAR_LIMITS.nameBytes) return `is longer than ${NAR_LIMITS.nameBytes} bytes`
  if (name.length <= 2 && name.every((c) => c === 0x2e)) return 'is "." or ".."'
  if (name.includes(0x2f)) return 'contains "/"'
  if (name.includes(0)) return 'contains NUL'
  return undefined
}

/** Why a symlink target cannot be written to a file system, or undefined if it can. */
function badTarget(target: Uint8Array): string | undefined {
  if (target.length === 0) return 'is empty'
  if (target.length > NAR_LIMITS.targetBytes) return `is longer than ${NAR_LIMITS.targetBytes} bytes`
  if (target.includes(0)) return 'contains NUL'
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Serialiser

/** A token framed as a NAR string, computed once. */
function frame(s: string): Uint8Array {
  const b = encoder.encode(s)
  const out = new Uint8Array(8 + b.length + padding(b.length))
  out[0] = b.length
  out.set(b, 8)
  return out
}

const T = {
  magic: frame('nix-archive-1'),
  open: frame('('),
  close: frame(')'),
  type: frame('type'),
  regular: frame('regular'),
  executable: frame('executable'),
  empty: frame(''),
  contents: frame('contents'),
  symlink: frame('symlink'),
  target: frame('target'),
  directory: frame('directory'),
  entry: frame('entry'),
  name: frame('name'),
  node: frame('node'),
}

/**
 * Collects framing bytes so a tree of small files yields one chunk per file rather than one per
 * token. Each `take()` hands the bytes off and starts a fresh buffer: a consumer may keep them.
 */
class Framer {
  private buf = new Uint8Array(1024)
  length = 0

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n))
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  raw(b: Uint8Array): void {
    this.room(b.length)
    this.buf.set(b, this.length)
    this.length += b.length
  }

  num(n: number): void {
    this.room(8)
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 8)
    v.setUint32(0, n >>> 0, true)
    v.setUint32(4, Math.floor(n / 2 ** 32), true)
    this.length += 8
  }

  str(b: Uint8Array): void {
    this.num(b.length)
    this.raw(b)
    this.zeros(padding(b.length))
  }

  zeros(n: number): void {
    this.room(n)
    this.buf.fill(0, this.length, this.length + n)
    this.length += n
  }

  take(): Uint8Array {
    const out = this.buf.subarray(0, this.length)
    this.buf = new Uint8Array(1024)
    this.length = 0
    return out
  }
}

function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string or Uint8Array`)
  // A lone surrogate would be encoded as U+FFFD, so two different names could become one.
  if (!value.isWellFormed()) throw new RangeError(`${what} ${JSON.stringify(value)} is not well-formed UTF-16`)
  return encoder.encode(value)
}

function checkNode(node: unknown, where: string): asserts node is NarNode {
  if (typeof node !== 'object' || node === null) throw new TypeError(`NAR node at ${where} must be an object`)
  const n = node as Partial<Record<string, unknown>>
  switch (n.type) {
    case 'regular':
      if (typeof n.executable !== 'boolean') throw new TypeError(`executable of ${where} must be a boolean`)
      if (typeof n.size !== 'number') throw new TypeError(`size of ${where} must be a number`)
      if (!Number.isSafeInteger(n.size) || n.size < 0) throw new RangeError(`size of ${where} must be a safe integer >= 0, got ${n.size}`)
      if (typeof n.contents !== 'function') throw new TypeError(`contents of ${where} must be a function`)
      return
    case 'symlink':
      return
    case 'directory':
      if (typeof n.entries !== 'function') throw new TypeError(`entries of ${where} must be a function`)
      return
    default:
      throw new TypeError(`NAR node at ${where} has unknown type ${JSON.stringify(n.type)}`)
  }
}

async function sortedEntries(dir: NarDirectory, where: string): Promise<[Uint8Array, NarNode][]> {
  const list: [Uint8Array, NarNode][] = []
  for await (const item of await dir.entries()) {
    if (!Array.isArray(item) || item.length !== 2) throw new TypeError(`entries of ${where} must be [name, node] pairs`)
    const name = toBytes(item[0], `entry name in ${where}`)
    const why = badName(name)
    if (why) throw new RangeError(`entry name ${show(name)} in ${where} ${why}`)
    list.push([name, item[1] as NarNode])
  }
  list.sort((a, b) => compareBytes(a[0], b[0]))
  for (let i = 1; i < list.length; i++) {
    if (compareBytes(list[i - 1]![0], list[i]![0]) === 0) throw new RangeError(`entry name ${show(list[i]![0])} appears twice in ${where}`)
  }
  return list
}

interface WriteFrame {
  where: string
  entries: [Uint8Array, NarNode][]
  next: number
}

/**
 * The NAR of a tree, as a stream of chunks. Contents chunks are passed through as the tree gives
 * them (not copied); framing comes in fresh buffers. Throws if a file's contents do not add up to
 * its declared size: the size was already written, so the archive would be wrong.
 *
 * Walks the tree with an explicit stack, so depth costs neither call stack nor per-chunk
 * delegation through nested generators.
 */
export async function* narChunks(root: NarNode): AsyncGenerator<Uint8Array, void, undefined> {
  const out = new Framer()
  out.raw(T.magic)
  const stack: WriteFrame[] = []
  let pending: { node: unknown; where: string } | undefined = { node: root, where: ROOT }

  for (;;) {
    if (pending) {
      const { node, where } = pending
      pending = undefined
      checkNode(node, where)
      out.raw(T.open)
      out.raw(T.type)
      if (node.type === 'regular') {
        out.raw(T.regular)
        if (node.executable) {
          out.raw(T.executable)
          out.raw(T.empty)
        }
        out.raw(T.contents)
        out.num(node.size)
        if (node.size > 0) yield out.take()
        let seen = 0
        for await (const chunk of node.contents()) {
          if (!(chunk instanceof Uint8Array)) throw new TypeError(`contents of ${where} must yield Uint8Array chunks`)
          if (chunk.length > node.size - seen) throw new RangeError(`contents of ${where} are longer than its size ${node.size}`)
          seen += chunk.length
          if (chunk.length > 0) yield chunk
        }
        if (seen !== node.size) throw new RangeError(`contents of ${where} are ${seen} bytes, not its size ${node.size}`)
        out.zeros(padding(node.size))
        out.raw(T.close)
      } else if (node.type === 'symlink') {
        const target = toBytes(node.target, `symlink target of ${where}`)
        const why = badTarget(target)
        if (why) throw new RangeError(`symlink target of ${where} ${why}`)
        out.raw(T.symlink)
        out.raw(T.target)
        out.str(target)
        out.raw(T.close)
      } else {
        out.raw(T.directory)
        stack.push({ where, entries: await sortedEntries(node, where), next: 0 })
      }
    }

    const top = stack.at(-1)
    if (!top) break
    if (top.next > 0) out.raw(T.close) // closes the previous "entry" "(", whose node is done
    if (top.next < top.entries.length) {
      const [name, node] = top.entries[top.next++]!
      out.raw(T.entry)
      out.raw(T.open)
      out.raw(T.name)
      out.str(name)
      out.raw(T.node)
      pending = { node, where: childWhere(top.where, name) }
      if (out.length >= 64 * 1024) yield out.take()
    } else {
      out.raw(T.close) // the directory node
      stack.pop()
    }
  }
  yield out.take()
}

// ---------------------------------------------------------------------------------------------
// Parser

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
