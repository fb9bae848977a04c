/**
 * The git tree id of a directory on disk (Node only): what `git add -A && git write-tree` prints in
 * a fresh repository made there, without running git. It hashes what is there: `.git` entries are
 * skipped, and no ignore file (.gitignore, info/exclude, core.excludesFile) is honoured, since the
 * point is to name the files as they are, whatever a repository would choose to leave out.
 *
 * What git keeps of a file (git's index, with core.fileMode and core.symlinks on, as `git init`
 * sets them on Linux): a regular file's bytes and whether its owner may execute it; a symlink's
 * target, stored as a blob; a directory's entries. A directory with no file anywhere below it is
 * not recorded at all. A nested repository would be a submodule (a gitlink), which is refused
 * rather than guessed; so are sockets, FIFOs and devices, which git cannot add.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, readdir, readlink } from 'node:fs/promises'
import { resolve } from 'node:path'
import { formatGitoid, GIT_OBJECT_FORMATS, hex, type GitObjectFormat } from '../verify/index.ts'
import { GIT_MODES, objectHeader, treeBody, type GitTreeEntry } from './tree.ts'

export class GitTreeError extends Error {
  override readonly name = 'GitTreeError'
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

export interface GitTreeHash {
  /** The id as git prints it (lowercase hex). */
  hex: string
  /** The same id as statements carry it: `gitoid:tree:<format>:<hex>`. */
  gitoid: string
  format: GitObjectFormat
  /** Blobs hashed (files and symlinks). */
  files: number
}

const DOT_GIT = Buffer.from('.git')
const SLASH = Buffer.from('/')

function hashObject(format: GitObjectFormat, type: 'blob' | 'tree', body: Uint8Array): Uint8Array {
  return createHash(format).update(objectHeader(type, body.length)).update(body).digest()
}

/** A file's blob id, streamed: the size in the header comes from lstat, and the bytes read must match it. */
async function blobOfFile(path: Buffer, size: number, format: GitObjectFormat): Promise<Uint8Array> {
  const h = createHash(format).update(objectHeader('blob', size))
  let read = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    read += chunk.length
    h.update(chunk)
  }
  if (read !== size) throw new GitTreeError(`${path.toString()} changed while it was read (${read} bytes, expected ${size})`, path.toString())
  return h.digest()
}

/**
 * The git tree id of the directory at `path`, sha1 unless `format` says sha256. Throws
 * GitTreeError for what git could not add as it is, and the file system's errors as they are.
 */
export async function gitTreeOfPath(path: string, options: { format?: GitObjectFormat; onProgress?: (progress: { bytes: number; files: number }) => void } = {}): Promise<GitTreeHash> {
  const format = options.format ?? 'sha1'
  if (!Object.hasOwn(GIT_OBJECT_FORMATS, format)) throw new RangeError(`format must be sha1 or sha256, got ${JSON.stringify(format)}`)
  const root = Buffer.from(resolve(path))
  if (!(await lstat(root)).isDirectory()) throw new GitTreeError(`${path} is not a directory`, path)
  let files = 0
  let bytes = 0

  /** The tree id of `dir`, or undefined when nothing below it is a file (git records no such directory). */
  async function tree(dir: Buffer, top: boolean): Promise<Uint8Array | undefined> {
    const names = (await readdir(dir, { encoding: 'buffer' })).filter((n) => !n.equals(DOT_GIT) || (top ? false : refuseNested(dir)))
    const entries: GitTreeEntry[] = []
    for (const name of names) {
      const p = Buffer.concat([dir, SLASH, name])
      const st = await lstat(p)
      if (st.isFile()) {
        entries.push({ mode: st.mode & 0o100 ? GIT_MODES.executable : GIT_MODES.file, name, id: await blobOfFile(p, st.size, format) })
        bytes += st.size
        options.onProgress?.({ bytes, files: ++files })
      } else if (st.isSymbolicLink()) {
        entries.push({ mode: GIT_MODES.symlink, name, id: hashObject(format, 'blob', await readlink(p, { encoding: 'buffer' })) })
        options.onProgress?.({ bytes, files: ++files })
      } else if (st.isDirectory()) {
        const id = await tree(p, false)
        if (id) entries.push({ mode: GIT_MODES.tree, name, id })
      } else throw new GitTreeError(`${p.toString()} is not a file, directory or symlink; git cannot add it`, p.toString())
    }
    if (entries.length === 0 && !top) return undefined
    return hashObject(format, 'tree', treeBody(entries, format))
  }

  function refuseNested(dir: Buffer): never {
    throw new GitTreeError(`${dir.toString()} holds a .git: in a repository it would be a submodule (a gitlink), which this does not compute`, dir.toString())
  }

  const id = hex.encode((await tree(root, true))!)
  return { hex: id, gitoid: formatGitoid({ type: 'tree', format, hex: id }), format, files }
}
