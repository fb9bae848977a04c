import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { BlobBody } from '../client/index.ts'
import { hashFile, narHashPath, narStreamPath } from '../nar/fs.ts'
import type { HashAlgorithm } from '../verify/hash.ts'
import type { Context } from './context.ts'
import { localError } from './errors.ts'

// Apart from content.ts (uploads), so that `vouch hash` loads no HTTP client (docs/PERFORMANCE.md).

/**
 * Content on disk as the network names it (PROTOCOL §6.8): a directory is its NAR (hash and
 * blob), a file is its bytes.
 */
export interface Content {
  hash: string
  /** `nar` for a directory; for a file, a guess from its name (`tgz`, `zip`, …) or `file`. */
  format: string
  size: number
  body: Extract<BlobBody, { open: unknown }>
  path: string
}

const FORMATS: [RegExp, string][] = [
  [/\.(tgz|tar\.gz)$/i, 'tgz'],
  [/\.tar\.(xz|zst|bz2)$/i, 'tar.$1'],
  [/\.tar$/i, 'tar'],
  [/\.zip$/i, 'zip'],
  [/\.(whl|crate|gem|jar)$/i, '$1'],
  [/\.nar$/i, 'nar'],
]
const formatOf = (path: string) => {
  for (const [re, f] of FORMATS) {
    const m = re.exec(path)
    if (m) return f.replace('$1', (m[1] ?? '').toLowerCase())
  }
  return 'file'
}

export async function hashContent(ctx: Context, path: string, alg: HashAlgorithm = 'sha256'): Promise<Content> {
  // A symlink given on the command line means what it points at (a NAR of the link itself is
  // almost never what someone typing a path wants).
  const real = await realpath(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw localError('no_path', `${path} does not exist`)
    throw e
  })
  const st = await stat(real)
  if (st.isDirectory()) {
    const bar = ctx.out.progress(`hashing ${path}`)
    const { sri, narSize } = await narHashPath(real, { alg, onProgress: (p) => bar.update(p.bytes, `${p.files} files`) }).finally(() => bar.done())
    return { hash: sri, format: 'nar', size: narSize, path: real, body: { size: narSize, open: () => narStreamPath(real) } }
  }
  if (!st.isFile()) throw localError('bad_path', `${path} is neither a file nor a directory`)
  const { sri, size } = await hashFile(real, alg)
  return { hash: sri, format: formatOf(real), size, path: real, body: { size, open: () => createReadStream(real, { highWaterMark: 1024 * 1024 }) } }
}
