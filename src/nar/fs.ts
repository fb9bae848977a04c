/**
 * NAR over the local file system (Node only): hash or stream a file or directory as Nix would
 * (`nix-hash --type sha256 PATH`, `nix hash path PATH`), unpack a NAR into a new directory, and
 * hash a plain file's bytes (a tarball's `integrity`, as npm computes it).
 *
 * What a NAR keeps of a file (as Nix 2.x `dump`, src/libutil/archive.cc): its type (lstat, so
 * symlinks are never followed), its bytes, and "executable" iff the owner may execute it
 * (S_IXUSR; group and other bits are ignored). Sockets, FIFOs and devices cannot be archived.
 */
import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readSync, readdirSync, readlinkSync, type Stats } from 'node:fs'
import { chmod, lstat, mkdir, open, readdir, rm, symlink } from 'node:fs/promises'
import { formatSri, type HashAlgorithm } from '../verify/hash.ts'
import { changed as changedFile, checkAlg, CHUNK, join, NarFileError, notArchivable, shown, toPath, type NarHash } from './fs-base.ts'
import { narChunks, parseNar, type NarNode, type NarParseOptions } from './index.ts'

export { NarFileError, type NarHash, type NarHashOptions } from './fs-base.ts'
export { narHashPath } from './fs-hash.ts'

/**
 * How a regular file is read. Metadata calls and reads of small files are synchronous: the kernel
 * answers them from its caches in microseconds, and the asynchronous versions cost the main
 * thread about as much again (a thread-pool hand-off per call) before any work is done. A
 * read-ahead design doing every open, fstat, read and close on the thread pool ran at half the
 * speed of this one on the benchmark's 2,000 files (docs/PERFORMANCE.md). Files of CHUNK bytes or
 * more are read asynchronously, one read ahead, so the disk works while the CPU hashes.
 *
 * Every chunk is a fresh buffer, so a consumer (an upload) may hold on to it. (Hashing has its own
 * walk, src/nar/fs-hash.ts.)
 */
class FileReader {
  files = 0

  private buffer(_k: 0 | 1, n: number): Buffer {
    return Buffer.allocUnsafe(n)
  }

  async *chunks(path: Buffer, expected: Stats): AsyncGenerator<Uint8Array, void, undefined> {
    const changed = (what: string) => changedFile(path, what)
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    let next: Promise<Buffer> | undefined
    try {
      const st = fstatSync(fd)
      if (st.ino !== expected.ino || st.dev !== expected.dev || !st.isFile()) throw changed('was replaced')
      if (st.size !== expected.size || (st.mode & 0o100) !== (expected.mode & 0o100)) throw changed('changed')
      this.files++
      const size = st.size
      // Each read asks for one byte more than should remain: a short read is then the end of the
      // file, and a full one means the file grew. Either way we never hash a state that was not.
      if (size < CHUNK) {
        const buf = this.buffer(0, size + 1)
        let got = 0
        for (;;) {
          const n = readSync(fd, buf, got, size + 1 - got, got)
          if (n === 0) break
          got += n
          if (got > size) throw changed('grew')
        }
        if (got < size) throw changed('shrank')
        if (size > 0) yield buf.subarray(0, size)
        return
      }
      const readAt = (k: 0 | 1, pos: number): Promise<Buffer> => {
        const len = Math.min(CHUNK, size - pos + 1)
        const buf = this.buffer(k, len)
        return new Promise((ok, fail) => read(fd, buf, 0, len, pos, (e, n) => (e ? fail(e) : ok(buf.subarray(0, n)))))
      }
      let pos = 0
      let k: 0 | 1 = 0
      next = readAt(k, pos)
      for (;;) {
        const chunk = await next
        next = undefined
        if (chunk.length === 0) break
        pos += chunk.length
        if (pos > size) throw changed('grew')
        k = k === 0 ? 1 : 0
        next = readAt(k, pos)
        yield chunk
      }
      if (pos < size) throw changed('shrank')
    } finally {
      // A read still in flight (the consumer stopped early) must land before its fd is closed,
      // or it could read from whatever file reuses the number.
      await next?.catch(() => undefined)
      closeSync(fd)
    }
  }
}

function nodeFor(path: Buffer, st: Stats, files: FileReader): NarNode {
  if (st.isFile()) {
    return { type: 'regular', executable: (st.mode & 0o100) !== 0, size: st.size, contents: () => files.chunks(path, st) }
  }
  if (st.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(path, { encoding: 'buffer' }) }
  if (st.isDirectory()) {
    return {
      type: 'directory',
      entries: () => readdirSync(path, { encoding: 'buffer' }).map((name) => {
        const child = join(path, name)
        return [name, nodeFor(child, lstatSync(child), files)] as const
      }),
    }
  }
  throw notArchivable(path, st)
}

/** The tree at `path` (not following a symlink there) as a NarNode, read lazily as it is walked. */
function rootNode(path: Buffer, files: FileReader): NarNode {
  return nodeFor(path, lstatSync(path), files)
}

/**
 * The NAR of a file or directory as a stream, for uploading. Every chunk is a buffer of its own,
 * so a consumer may hold on to it.
 */
export async function* narStreamPath(path: string): AsyncGenerator<Uint8Array, void, undefined> {
  yield* narChunks(rootNode(toPath(path), new FileReader()))
}

export interface UnpackOptions extends NarParseOptions {
  /** Hash of the NAR bytes read, computed while unpacking; default sha256. */
  alg?: HashAlgorithm
  /** Files, directories and symlinks in all (the root included); default unlimited. */
  maxEntries?: number
  /**
   * Bytes of the longest path created (dest included); default PATH_MAX less one (4095). Checked
   * before anything is created, so a deep tree of long names is a clear refusal, not ENAMETOOLONG
   * halfway through.
   */
  maxPathBytes?: number
  /** Refuse a NAR whose root is a symlink (a directory output must not become a link elsewhere). */
  refuseSymlinkRoot?: boolean
  /**
   * Unpack with private modes (files 0600, directories 0700, no execute bit anywhere) and leave
   * Nix's modes to `UnpackedNar.finish()`, called once the caller has checked the hash: until then
   * nothing unpacked is executable or readable by others.
   */
  staged?: boolean
}

/** A NAR the caller's bounds refuse: what it is is named, and nothing of it is left on disk. */
export class NarUnpackError extends Error {
  override readonly name = 'NarUnpackError'
  constructor(
    readonly code: 'too_many_entries' | 'path_too_long' | 'symlink_root',
    message: string,
  ) {
    super(message)
  }
}

export interface UnpackedNar extends NarHash {
  /** What the NAR's root is: `dest` became a directory, a file or a symlink (to `target`). */
  root: 'directory' | 'regular' | 'symlink'
  target?: string
  entries: number
  /** Staged unpacks: gives the tree Nix's modes (umask applied). Otherwise does nothing. */
  finish(): Promise<void>
}

const PATH_MAX = 4095

/**
 * Unpacks a NAR stream to `dest`, which must not exist yet (as `nix-store --restore`). Returns
 * the hash of the NAR as read: the parser accepts only canonical NARs, so it is also the NAR hash
 * of the unpacked tree, and the caller can compare it with the expected one before using it.
 *
 * Nothing is written outside `dest`: names cannot contain "/" or be "." or "..", entries are
 * unique, and every file, directory and symlink is created exclusively (O_EXCL, mkdir,
 * symlink), so nothing is written through an existing symlink or over an existing file; on a
 * case-insensitive file system two names that fold together fail instead of merging. Another
 * process racing to change `dest` while it is unpacked is not defended against.
 *
 * Modes are Nix's: files 0666, directories 0777 (less the umask), executables get every x bit;
 * with `staged`, only after `finish()`. On failure whatever was unpacked is removed and the
 * error rethrown.
 */
export async function unpackNar(stream: AsyncIterable<Uint8Array>, dest: string, options: UnpackOptions = {}): Promise<UnpackedNar> {
  const alg = checkAlg(options.alg ?? 'sha256')
  const root = toPath(dest, 'dest')
  const maxEntries = options.maxEntries ?? Infinity
  const maxPathBytes = options.maxPathBytes ?? PATH_MAX
  if (!(maxEntries >= 1)) throw new RangeError(`maxEntries must be >= 1, got ${maxEntries}`)
  if (!(maxPathBytes >= root.length)) throw new RangeError(`maxPathBytes (${maxPathBytes}) must hold dest (${root.length} bytes)`)
  const staged = options.staged === true
  const existing = await lstat(root).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)))
  if (existing) throw new NarFileError(`${shown(root)} already exists; unpackNar creates it`, shown(root))

  const hash = createHash(alg)
  let narSize = 0
  async function* tap(): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const chunk of stream) {
      if (chunk instanceof Uint8Array) {
        hash.update(chunk)
        narSize += chunk.length
      }
      yield chunk
    }
  }

  let created = false
  let entries = 0
  let rootType: UnpackedNar['root'] | undefined
  let target: string | undefined
  const executables: Buffer[] = []
  try {
    for await (const entry of parseNar(tap(), options)) {
      if (++entries > maxEntries) throw new NarUnpackError('too_many_entries', `the NAR holds more than ${maxEntries} entries`)
      // Names are at most 255 bytes each; the sum is what a file system refuses (ENAMETOOLONG).
      const length = entry.path.reduce((n, name) => n + 1 + name.length, root.length)
      if (length > maxPathBytes) throw new NarUnpackError('path_too_long', `the NAR holds a path of ${length - root.length} bytes below the root, longer than this file system allows here (${maxPathBytes - root.length})`)
      if (entry.path.length === 0) {
        rootType = entry.type
        if (entry.type === 'symlink') {
          target = new TextDecoder().decode(entry.target)
          if (options.refuseSymlinkRoot) throw new NarUnpackError('symlink_root', `the NAR's root is a symlink (to ${JSON.stringify(target)}), not a directory`)
        }
      }
      const path = entry.path.reduce(join, root)
      created = true
      if (entry.type === 'directory') await mkdir(path, { mode: staged ? 0o700 : 0o777 })
      else if (entry.type === 'symlink') await symlink(Buffer.from(entry.target), path)
      else {
        await writeFile(path, entry.executable && !staged, entry.contents, staged ? 0o600 : 0o666)
        if (staged && entry.executable) executables.push(path)
      }
    }
  } catch (e) {
    if (created) await rm(root, { recursive: true, force: true })
    throw e
  }
  return {
    sri: formatSri({ alg, bytes: hash.digest() }),
    narSize,
    root: rootType!,
    ...(target !== undefined && { target }),
    entries,
    finish: staged ? () => nixModes(root, new Set(executables.map((b) => b.toString('latin1')))) : async () => {},
  }
}

/** Nix's modes for a staged tree: 0777 for directories and executables, 0666 for files, less the umask. */
async function nixModes(root: Buffer, executables: Set<string>): Promise<void> {
  const umask = process.umask()
  const walk = async (path: Buffer): Promise<void> => {
    const st = await lstat(path)
    if (st.isSymbolicLink()) return
    if (st.isDirectory()) {
      for (const name of await readdir(path, { encoding: 'buffer' })) await walk(join(path, name))
      return chmod(path, 0o777 & ~umask)
    }
    return chmod(path, (executables.has(path.toString('latin1')) ? 0o777 : 0o666) & ~umask)
  }
  await walk(root)
}

async function writeFile(path: Buffer, executable: boolean, contents: AsyncIterable<Uint8Array>, mode: number): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  const fh = await open(path, flags, mode)
  try {
    for await (const chunk of contents) {
      for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten
    }
    if (executable) await fh.chmod(((await fh.stat()).mode & 0o7777) | 0o111)
  } finally {
    await fh.close()
  }
}

/**
 * The hash of a file's bytes, as npm's `integrity` of a tarball (`sha512-…`) or a `.tgz`'s
 * sha256. Follows symlinks, as reading a file does.
 */
export async function hashFile(path: string, alg: HashAlgorithm = 'sha256'): Promise<{ sri: string; size: number }> {
  const a = checkAlg(alg)
  const hash = createHash(a)
  const fh = await open(toPath(path), constants.O_RDONLY)
  let size = 0
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      size += bytesRead
    }
  } finally {
    await fh.close()
  }
  return { sri: formatSri({ alg: a, bytes: hash.digest() }), size }
}
