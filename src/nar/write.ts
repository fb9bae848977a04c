/** The NAR serialiser: a tree (`NarNode`) in, the one canonical byte stream out. Pure, no I/O. */
import { badName, badTarget, childWhere, compareBytes, encoder, padding, ROOT, show, type NarDirectory, type NarNode } from './tree.ts'

/** A token framed as a NAR string, computed once. */
function frame(s: string): Uint8Array {
  const b = encoder.encode(s)
  const out = new Uint8Array(8 + b.length + padding(b.length))
  out[0] = b.length
  out.set(b, 8)
  return out
}

/** The NAR's fixed tokens, framed (src/nar/fs-hash.ts writes the same bytes without a NarNode tree). */
export const TOKENS = {
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
const T = TOKENS

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
