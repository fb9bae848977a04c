import { ProtocolError } from './errors.ts'

/**
 * Git object ids as statements carry them: the OmniBOR gitoid URI, `gitoid:<type>:<alg>:<hex>`
 * (e.g. `gitoid:tree:sha1:4b825dc642cb6eb9a060e54bf8d69288fbee4904`). An id is only meaningful with
 * its object type and object format (a repository in the sha256 format names the same tree by a
 * different id), so both are part of the name. Like SRI (hash.ts), each object has exactly one
 * spelling: lowercase prefix, type and algorithm, lowercase hex of exactly the digest length.
 * Git's abbreviated ids and uppercase hex are accepted by git itself, never here.
 */
export const GIT_OBJECT_TYPES = ['blob', 'tree', 'commit', 'tag'] as const
export type GitObjectType = (typeof GIT_OBJECT_TYPES)[number]

/** Git's two object formats (`git init --object-format=`) and their digest lengths in bytes. */
export const GIT_OBJECT_FORMATS = { sha1: 20, sha256: 32 } as const
export type GitObjectFormat = keyof typeof GIT_OBJECT_FORMATS

export interface Gitoid {
  type: GitObjectType
  format: GitObjectFormat
  /** Lowercase hex, 40 characters for sha1 and 64 for sha256. */
  hex: string
}

const GITOID = /^gitoid:(blob|tree|commit|tag):(sha1|sha256):([0-9a-f]+)$/

/** Whether a subject or object claims to be a gitoid, and so must be a canonical one (`bad_hash`). */
export const looksLikeGitoid = (s: string): boolean => s.startsWith('gitoid:')

export function parseGitoid(s: string): Gitoid | undefined {
  const m = GITOID.exec(s)
  if (!m) return undefined
  const format = m[2] as GitObjectFormat
  return m[3]!.length === GIT_OBJECT_FORMATS[format] * 2 ? { type: m[1] as GitObjectType, format, hex: m[3]! } : undefined
}

export const isGitoid = (s: unknown): s is string => typeof s === 'string' && parseGitoid(s) !== undefined

/** The gitoid, or a ProtocolError `bad_hash` that says which part is wrong. */
export function ensureGitoid(s: unknown): Gitoid {
  if (typeof s !== 'string') throw new TypeError('gitoid must be a string')
  const g = parseGitoid(s)
  if (g) return g
  const parts = s.split(':')
  const why =
    parts.length !== 4 || parts[0] !== 'gitoid'
      ? 'it must be gitoid:<type>:<sha1|sha256>:<hex>'
      : !(GIT_OBJECT_TYPES as readonly string[]).includes(parts[1]!)
        ? `the type must be one of ${GIT_OBJECT_TYPES.join(', ')}`
        : !Object.hasOwn(GIT_OBJECT_FORMATS, parts[2]!)
          ? 'the object format must be sha1 or sha256'
          : `the id must be ${GIT_OBJECT_FORMATS[parts[2] as GitObjectFormat] * 2} lowercase hex digits`
  throw new ProtocolError('bad_hash', `${JSON.stringify(s.slice(0, 100))} is not a canonical gitoid: ${why}`)
}

export const formatGitoid = (g: Gitoid): string => `gitoid:${g.type}:${g.format}:${g.hex}`

/**
 * A git object id as git prints it (hex, either case) to its gitoid, or undefined when the length
 * does not fit the format. For the CLI's edges: people paste ids from `git rev-parse`.
 */
export function gitoidFromHex(type: GitObjectType, format: GitObjectFormat, id: string): string | undefined {
  const hex = id.toLowerCase()
  return /^[0-9a-f]+$/.test(hex) && hex.length === GIT_OBJECT_FORMATS[format] * 2 ? formatGitoid({ type, format, hex }) : undefined
}
