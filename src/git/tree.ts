/**
 * Git's tree object, pure (no I/O): what `git write-tree` hashes for one directory. A tree is the
 * concatenation of `<mode> <name>\0<raw id>` for its entries, sorted as git sorts them, and its
 * id is the hash of `tree <size>\0` and that body (Documentation/technical/hash-function-
 * transition.txt; the same rule for sha1 and sha256 repositories, only the hash differs).
 */
import { utf8 } from '../verify/index.ts'
import { GIT_OBJECT_FORMATS, type GitObjectFormat, type GitObjectType } from '../verify/index.ts'

/**
 * The only modes git records for a working tree without submodules. Git keeps one bit of a file's
 * permissions (the owner's execute bit), like a NAR. Directories are written "40000", without a
 * leading zero: that spelling is part of the hashed bytes.
 */
export const GIT_MODES = { file: '100644', executable: '100755', symlink: '120000', tree: '40000' } as const
export type GitMode = (typeof GIT_MODES)[keyof typeof GIT_MODES]

export interface GitTreeEntry {
  mode: GitMode
  /** The name's bytes (git stores names as bytes, not text). */
  name: Uint8Array
  /** The raw id: 20 bytes (sha1) or 32 (sha256). */
  id: Uint8Array
}

/**
 * Git's order (base_name_compare in git's tree.c): bytewise, but a tree's name compares as if
 * followed by "/". So the file "a.b" sorts before the directory "a" ("a/" > "a."), although a
 * plain bytewise sort, as a NAR's, puts "a" first.
 */
export function compareTreeEntries(a: Pick<GitTreeEntry, 'mode' | 'name'>, b: Pick<GitTreeEntry, 'mode' | 'name'>): number {
  const n = Math.min(a.name.length, b.name.length)
  for (let i = 0; i < n; i++) if (a.name[i] !== b.name[i]) return a.name[i]! - b.name[i]!
  const end = (e: Pick<GitTreeEntry, 'mode' | 'name'>) => (e.name.length > n ? e.name[n]! : e.mode === GIT_MODES.tree ? 0x2f : 0)
  return end(a) - end(b)
}

/** The body of a tree object over `entries` (in any order). Names must be unique, non-empty, without "/" or NUL. */
export function treeBody(entries: readonly GitTreeEntry[], format: GitObjectFormat): Uint8Array {
  const size = GIT_OBJECT_FORMATS[format]
  const sorted = [...entries].sort(compareTreeEntries)
  const parts: Uint8Array[] = []
  let total = 0
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!
    if (e.name.length === 0 || e.name.includes(0x2f) || e.name.includes(0)) throw new RangeError(`tree entry name must be non-empty without "/" or NUL: ${JSON.stringify(new TextDecoder().decode(e.name))}`)
    if (e.id.length !== size) throw new RangeError(`tree entry id must be ${size} bytes for ${format}, got ${e.id.length}`)
    if (i > 0 && compareBytes(sorted[i - 1]!.name, e.name) === 0) throw new RangeError(`duplicate tree entry name ${JSON.stringify(new TextDecoder().decode(e.name))}`)
    for (const p of [utf8(`${e.mode} `), e.name, Uint8Array.of(0), e.id]) parts.push(p), (total += p.length)
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) out.set(p, at), (at += p.length)
  return out
}

const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** `<type> <size>\0`, the header every git object's id covers. */
export const objectHeader = (type: GitObjectType, size: number): Uint8Array => utf8(`${type} ${size}\0`)

const SUBTLE: Record<GitObjectFormat, string> = { sha1: 'SHA-1', sha256: 'SHA-256' }

/** A git object's id (raw bytes) from its type and body; WebCrypto, so it runs in Workers too. */
export async function objectId(type: GitObjectType, body: Uint8Array, format: GitObjectFormat): Promise<Uint8Array> {
  const head = objectHeader(type, body.length)
  const all = new Uint8Array(head.length + body.length)
  all.set(head)
  all.set(body, head.length)
  return new Uint8Array(await crypto.subtle.digest(SUBTLE[format], all))
}
