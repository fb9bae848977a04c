/**
 * What the NAR writer and parser share: the abstract tree, the limits both enforce, and the
 * name and target rules, so that what one writes the other reads back.
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

export const encoder = new TextEncoder()
const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

export const padding = (n: number) => (8 - (n % 8)) % 8

/** A byte string for messages: JSON-quoted, invalid UTF-8 shown as U+FFFD. */
export const show = (b: Uint8Array): string => JSON.stringify(lossy.decode(b))

export const ROOT = '(root)'

/** A child's path for messages, built from its parent's in O(1) (V8 concatenates lazily). */
export const childWhere = (parent: string, name: Uint8Array) => (parent === ROOT ? lossy.decode(name) : `${parent}/${lossy.decode(name)}`)

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
export function badName(name: Uint8Array): string | undefined {
  if (name.length === 0) return 'is empty'
  if (name.length > NAR_LIMITS.nameBytes) return `is longer than ${NAR_LIMITS.nameBytes} bytes`
  if (name.length <= 2 && name.every((c) => c === 0x2e)) return 'is "." or ".."'
  if (name.includes(0x2f)) return 'contains "/"'
  if (name.includes(0)) return 'contains NUL'
  return undefined
}

/** Why a symlink target cannot be written to a file system, or undefined if it can. */
export function badTarget(target: Uint8Array): string | undefined {
  if (target.length === 0) return 'is empty'
  if (target.length > NAR_LIMITS.targetBytes) return `is longer than ${NAR_LIMITS.targetBytes} bytes`
  if (target.includes(0)) return 'contains NUL'
  return undefined
}
