/**
 * The NAR hash of a file or directory straight from the file system (Node only), as
 * `nix-hash --type sha256 PATH` and `nix hash path PATH` compute it.
 *
 * It writes the same bytes as `narChunks` over the tree `narStreamPath` walks (the tests hold
 * the two together and both to nix-hash), but not through a `NarNode` tree: on a tree of small
 * files the generic walk spent more time in per-entry promises, generators and small
 * `hash.update` calls than in the hash itself (docs/PERFORMANCE.md, "NAR hashing"). Here
 *
 * - framing and the bytes of files under 1 MiB go into one batch buffer (a file is read straight
 *   into it), and the hash sees one `update` per ~1 MiB, whatever the file sizes;
 * - a directory is one `readdir` with the entries' types (no `lstat` per entry), a file one
 *   `open`, `fstat`, `read` and `close`, all synchronous: the kernel answers them from its
 *   caches in microseconds, and a thread-pool hand-off would cost as much again;
 * - names and paths are latin1 strings, one character per byte: the default sort of such strings
 *   is the byte order Nix sorts by, with no call into C++ per comparison, and a name goes into
 *   the batch without a Buffer of its own;
 * - only directories, large files and the event-loop turns are asynchronous, so there is no
 *   promise per file.
 *
 * Memory stays bounded: the batch buffer and two read buffers for files of 1 MiB or more, which
 * are read in chunks, one read ahead so the disk works while the CPU hashes.
 */
import { createHash, type Hash } from 'node:crypto'
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readdirSync, readlinkSync, readSync } from 'node:fs'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { formatSri } from '../verify/hash.ts'
import { changed, checkAlg, CHUNK, notArchivable, toPath, type NarHash, type NarHashOptions } from './fs-base.ts'
import { padding } from './tree.ts'
import { TOKENS as T } from './write.ts'

const cat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts)
// The token runs that always go together, so a file costs a few copies of framing, not a dozen.
const REGULAR = cat(T.open, T.type, T.regular, T.contents)
const EXECUTABLE = cat(T.open, T.type, T.regular, T.executable, T.empty, T.contents)
const SYMLINK = cat(T.open, T.type, T.symlink, T.target)
const DIRECTORY = cat(T.open, T.type, T.directory)
const ENTRY = cat(T.entry, T.open, T.name)
const NODE = T.node
const CLOSE = T.close

/** Framing of one entry or file is well under this; a file under CHUNK fits in the batch with it. */
const SLACK = 64 * 1024
/** Bytes hashed between turns of the event loop (a progress bar, a parallel upload). */
const TURN = 8 * CHUNK

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

/** A path kept as latin1 (one character per byte), back to its bytes for a system call. */
const bytes = (latin1: string): Buffer => Buffer.from(latin1, 'latin1')
const NON_ASCII = /[^\x00-\x7f]/
/**
 * The path to give a system call: an ASCII path as it is (Node encodes a string as UTF-8, the
 * same bytes; a Buffer per file cost ~0.8 µs of the ~8 µs a small file takes), any other as its bytes.
 */
const sys = (latin1: string): string | Buffer => (NON_ASCII.test(latin1) ? bytes(latin1) : latin1)

class NarHasher {
  private readonly batch = Buffer.allocUnsafe(CHUNK + SLACK)
  private length = 0
  private readonly reads: [Buffer, Buffer] = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)]
  private sinceTurn = 0
  narSize = 0
  files = 0

  constructor(
    private readonly hash: Hash,
    private readonly onProgress: NarHashOptions['onProgress'],
  ) {}

  private update(bytes: Uint8Array): void {
    this.hash.update(bytes)
    this.narSize += bytes.length
    this.sinceTurn += bytes.length
    this.onProgress?.({ bytes: this.narSize, files: this.files })
  }

  flush(): void {
    if (this.length === 0) return
    this.update(this.batch.subarray(0, this.length))
    this.length = 0
  }

  /** Makes room for `n` more bytes in the batch (n <= CHUNK + SLACK). */
  private room(n: number): void {
    if (this.length + n > this.batch.length) this.flush()
  }

  private raw(b: Uint8Array): void {
    this.room(b.length)
    this.batch.set(b, this.length)
    this.length += b.length
  }

  private num(n: number): void {
    this.room(8)
    const b = this.batch
    const at = this.length
    // Byte stores, not writeUInt32LE (argument checks, twice per number, three numbers per file).
    const lo = n >>> 0
    const hi = Math.floor(n / 2 ** 32)
    b[at] = lo
    b[at + 1] = lo >>> 8
    b[at + 2] = lo >>> 16
    b[at + 3] = lo >>> 24
    b[at + 4] = hi
    b[at + 5] = hi >>> 8
    b[at + 6] = hi >>> 16
    b[at + 7] = hi >>> 24
    this.length = at + 8
  }

  private zeros(n: number): void {
    this.room(n)
    this.batch.fill(0, this.length, this.length + n)
    this.length += n
  }

  private str(b: Uint8Array): void {
    this.num(b.length)
    this.raw(b)
    this.zeros(padding(b.length))
  }

  /** A NAR string given as latin1 (one character per byte). */
  private latin1(s: string): void {
    const n = s.length
    this.num(n)
    this.room(n + 8)
    // A short name byte by byte: cheaper than a call into C++ for a few bytes.
    if (n <= 64) {
      const b = this.batch
      let at = this.length
      for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i)
      this.length = at
    } else this.length += this.batch.write(s, this.length, 'latin1')
    this.zeros(padding(n))
  }

  /** Any node, by lstat (the root: a symlink there is archived as a symlink, not followed). */
  async root(path: Buffer): Promise<void> {
    this.raw(T.magic)
    const st = lstatSync(path)
    const p = path.toString('latin1')
    if (st.isFile()) await this.file(p)
    else if (st.isDirectory()) await this.directory(p)
    else if (st.isSymbolicLink()) this.symlink(p)
    else throw notArchivable(path, st)
    this.flush()
  }

  private symlink(path: string): void {
    this.raw(SYMLINK)
    this.str(readlinkSync(sys(path), { encoding: 'buffer' }))
    this.raw(CLOSE)
  }

  private async directory(path: string): Promise<void> {
    this.raw(DIRECTORY)
    const entries = readdirSync(sys(path), { withFileTypes: true, encoding: 'latin1' })
    // By name bytes, as Nix's std::map<std::string> orders them: for latin1 strings that is the
    // default sort (by UTF-16 code unit). The kernel's names need no checks: none is empty, ".",
    // "..", or holds "/" or NUL, and none repeats.
    entries.sort((a, b) => (a.name < b.name ? -1 : 1))
    for (const e of entries) {
      this.raw(ENTRY)
      this.latin1(e.name)
      this.raw(NODE)
      const child = `${path}/${e.name}`
      if (e.isFile()) {
        const big = this.file(child)
        if (big) await big
      } else if (e.isDirectory()) await this.directory(child)
      else if (e.isSymbolicLink()) this.symlink(child)
      else throw notArchivable(bytes(child), e)
      this.raw(CLOSE)
      if (this.sinceTurn >= TURN) {
        this.sinceTurn = 0
        await yieldToEventLoop()
      }
    }
    this.raw(CLOSE)
  }

  /**
   * A regular file: synchronous below CHUNK bytes (no promise at all), else a promise. Its type,
   * size and executable bit come from fstat of the open file, so they describe the bytes read.
   */
  private file(p: string): Promise<void> | undefined {
    const fd = openSync(sys(p), O_READ)
    let closeNow = true
    try {
      const st = fstatSync(fd)
      // readdir said "file"; something else may have been put there since.
      if (!st.isFile()) throw changed(bytes(p), 'was replaced')
      this.files++
      const size = st.size
      this.raw((st.mode & 0o100) !== 0 ? EXECUTABLE : REGULAR)
      this.num(size)
      if (size >= CHUNK) {
        closeNow = false
        return this.large(bytes(p), fd, size).finally(() => closeSync(fd))
      }
      // Straight into the batch, asking for one byte more than the file should hold: a regular
      // file's read comes back short only at its end, so one read is the whole file, and a
      // full one means it grew. Either way we never hash a state that was not.
      this.room(size + 1 + 8 + CLOSE.length)
      let got = 0
      for (;;) {
        const n = readSync(fd, this.batch, this.length + got, size + 1 - got, got)
        got += n
        if (n === 0 || got >= size) break
      }
      if (got > size) throw changed(bytes(p), 'grew')
      if (got < size) throw changed(bytes(p), 'shrank')
      this.length += size
      this.zeros(padding(size))
      this.raw(CLOSE)
      return undefined
    } finally {
      if (closeNow) closeSync(fd)
    }
  }

  private async large(path: Buffer, fd: number, size: number): Promise<void> {
    this.flush()
    /** A chunk, and whether the read came back short: for a regular file, its end. */
    const readAt = (k: 0 | 1, pos: number): Promise<[Buffer, boolean]> => {
      const len = Math.min(CHUNK, size - pos + 1)
      const buf = this.reads[k]
      return new Promise((ok, fail) => read(fd, buf, 0, len, pos, (e, n) => (e ? fail(e) : ok([buf.subarray(0, n), n < len]))))
    }
    let pos = 0
    let k: 0 | 1 = 0
    let next: Promise<[Buffer, boolean]> | undefined = readAt(k, pos)
    try {
      for (;;) {
        const [chunk, end]: [Buffer, boolean] = await next!
        next = undefined
        if (chunk.length === 0) break
        pos += chunk.length
        if (pos > size) throw changed(path, 'grew')
        k = k === 0 ? 1 : 0
        // The next read fills the other buffer while this one is hashed (update copies nothing
        // and keeps no reference, so the buffer is free again when it returns). After a short
        // read there is none: asking again for the end would cost a thread-pool round trip per file.
        if (!end) next = readAt(k, pos)
        this.update(chunk)
        if (end) break
      }
    } finally {
      // A read still in flight must land before its fd is closed, or it could read from
      // whatever file reuses the number.
      await next?.catch(() => undefined)
    }
    if (pos < size) throw changed(path, 'shrank')
    this.zeros(padding(size))
    this.raw(CLOSE)
  }
}

/**
 * The NAR hash of a file or directory, as `nix-hash --type sha256 PATH` (hex or --base32) and
 * `nix hash path PATH` (SRI) print it. The event loop gets a turn every few MiB, so a progress
 * display or a parallel upload keeps moving while a large tree is hashed.
 */
export async function narHashPath(path: string, options: NarHashOptions = {}): Promise<NarHash> {
  const alg = checkAlg(options.alg ?? 'sha256')
  const { onProgress } = options
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function')
  const root = toPath(path)
  const hash = createHash(alg)
  const hasher = new NarHasher(hash, onProgress)
  await hasher.root(root)
  return { sri: formatSri({ alg, bytes: hash.digest() }), narSize: hasher.narSize }
}
