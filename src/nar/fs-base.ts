/**
 * What the file-system side of the NAR code shares (src/nar/fs.ts streams and unpacks,
 * src/nar/fs-hash.ts hashes): the error a path that cannot be archived raises, the checks at
 * the door, and the read size.
 */
import { resolve } from 'node:path'
import { HASH_ALGORITHMS, type HashAlgorithm } from '../verify/hash.ts'

/** Bytes per read: large reads keep the per-call overhead small next to the hashing. Files under it are read in one synchronous call. */
export const CHUNK = 1024 * 1024

/** A path that cannot go into a NAR (a socket, FIFO or device) or that changed while being read. */
export class NarFileError extends Error {
  override readonly name = 'NarFileError'
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

export interface NarHashOptions {
  /** Default sha256, the hash Nix uses for narHash and fixed-output derivations. */
  alg?: HashAlgorithm
  /** Called as the NAR is hashed, with its bytes so far and the regular files read so far. */
  onProgress?: (progress: { bytes: number; files: number }) => void
}

export interface NarHash {
  sri: string
  /** Bytes of the NAR (narinfo's NarSize), not of the files. */
  narSize: number
}

const SLASH = Buffer.from('/')
export const join = (dir: Buffer, name: Uint8Array): Buffer => Buffer.concat([dir, SLASH, name])
export const shown = (p: Buffer): string => p.toString('utf8')

export function checkAlg(alg: unknown): HashAlgorithm {
  if (typeof alg !== 'string') throw new TypeError('alg must be a string')
  if (!Object.hasOwn(HASH_ALGORITHMS, alg)) throw new RangeError(`alg must be one of ${Object.keys(HASH_ALGORITHMS).join(', ')}, got ${JSON.stringify(alg)}`)
  return alg as HashAlgorithm
}

export function toPath(path: unknown, what = 'path'): Buffer {
  if (typeof path !== 'string') throw new TypeError(`${what} must be a string`)
  if (path === '') throw new RangeError(`${what} must not be empty`)
  return Buffer.from(resolve(path))
}

/** What lstat or readdir says of a path (Stats and Dirent both answer it). */
type FileType = Record<'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice', () => boolean>

export function kind(st: FileType): string {
  if (st.isFIFO()) return 'a FIFO'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  return 'of an unknown type'
}

export const notArchivable = (path: Buffer, st: FileType) =>
  new NarFileError(`${shown(path)} is ${kind(st)}: a NAR holds only regular files, directories and symlinks`, shown(path))

/** A file that was replaced, grew or shrank between its stat and the end of its read. */
export const changed = (path: Buffer, what: string) => new NarFileError(`${shown(path)} ${what} while it was being read`, shown(path))
