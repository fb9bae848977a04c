import { basename } from 'node:path'
import { formatSri, parseSri } from '../verify/index.ts'

/**
 * Lockfiles read by `vouch check`: npm's package-lock.json / npm-shrinkwrap.json (versions 1, 2
 * and 3) and Nix's flake.lock. Each locked package becomes a subject (PROTOCOL §2.3) and the digest
 * the lockfile pins for it, in canonical SRI form, so it compares with statement objects as text.
 */

export interface Locked {
  /** Where in the lockfile: `node_modules/a/node_modules/b`, or the flake input's node name. */
  path: string
  subject: string
  /** The strongest digest the lockfile pins (SRI), or undefined when it pins none. */
  digest: string | undefined
}

export interface Lockfile {
  kind: 'npm' | 'flake'
  version: number
  packages: Locked[]
  /** Entries that are not packages from a registry (links, the project itself, local paths), skipped. */
  skipped: { path: string; why: string }[]
}

export class LockfileError extends Error {}

const STRENGTH: Record<string, number> = { sha1: 1, sha256: 2, sha384: 3, sha512: 4 }

/**
 * An SRI `integrity` field may list several digests (`sha512-… sha1-…`): the strongest wins, as
 * the SRI spec has browsers do. Options (`?foo`) are dropped; unknown algorithms are ignored.
 */
export function strongestDigest(integrity: unknown): string | undefined {
  if (typeof integrity !== 'string') return undefined
  let best: { sri: string; rank: number } | undefined
  for (const token of integrity.trim().split(/\s+/)) {
    const d = parseSri(token.replace(/\?.*$/, ''))
    if (!d) continue
    const rank = STRENGTH[d.alg] ?? 0
    if (!best || rank > best.rank) best = { sri: formatSri(d), rank }
  }
  return best?.sri
}

/** `@scope/name` → `pkg:npm/%40scope/name@1.0.0` (purl-spec: the scope's `@` is percent-encoded). */
export function npmSubject(name: string, version: string): string {
  const parts = name.split('/').map(encodeURIComponent)
  return `pkg:npm/${parts.join('/')}@${encodeURIComponent(version)}`
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function npmLock(doc: Record<string, unknown>): Lockfile {
  const version = doc.lockfileVersion
  if (version !== 1 && version !== 2 && version !== 3) throw new LockfileError(`lockfileVersion ${JSON.stringify(version)} is not one vouch reads (1, 2 or 3)`)
  const out: Lockfile = { kind: 'npm', version, packages: [], skipped: [] }
  const add = (path: string, name: string, e: Record<string, unknown>) => {
    if (e.link === true || e.bundled === true) return void out.skipped.push({ path, why: e.link ? 'a link to a local folder' : 'bundled inside its parent' })
    const v = e.version
    if (typeof v !== 'string' || !/^[0-9]+\.[0-9]+\.[0-9]+[-+.0-9A-Za-z]*$/.test(v)) return void out.skipped.push({ path, why: `version ${JSON.stringify(v)} is not a registry version` })
    out.packages.push({ path, subject: npmSubject(typeof e.name === 'string' ? e.name : name, v), digest: strongestDigest(e.integrity) })
  }
  if (version >= 2 && isObject(doc.packages)) {
    for (const [path, e] of Object.entries(doc.packages)) {
      if (path === '' || !isObject(e)) continue
      const i = path.lastIndexOf('node_modules/')
      if (i < 0) {
        out.skipped.push({ path, why: 'a workspace folder, not an installed package' })
        continue
      }
      add(path, path.slice(i + 'node_modules/'.length), e)
    }
    return out
  }
  const walk = (deps: unknown, prefix: string) => {
    if (!isObject(deps)) return
    for (const [name, e] of Object.entries(deps)) {
      if (!isObject(e)) continue
      const path = `${prefix}node_modules/${name}`
      add(path, name, e)
      walk(e.dependencies, `${path}/`)
    }
  }
  walk(doc.dependencies, '')
  return out
}

/**
 * flake.lock: every node but the root is a locked input. A GitHub input is `pkg:github/OWNER/REPO@REV`
 * (purl-spec's own `github` type: the same name whoever locks it); other inputs with a git
 * revision are `pkg:generic/NAME@REV` with NAME the input's node name, and inputs without a
 * revision (paths, tarballs) are skipped. The digest is `narHash`, the SRI SHA-256 of the NAR.
 */
function flakeLock(doc: Record<string, unknown>): Lockfile {
  if (doc.version !== 7 || !isObject(doc.nodes) || typeof doc.root !== 'string') throw new LockfileError('not a flake.lock of version 7 ({nodes, root, version})')
  const out: Lockfile = { kind: 'flake', version: 7, packages: [], skipped: [] }
  for (const [name, node] of Object.entries(doc.nodes)) {
    if (name === doc.root || !isObject(node)) continue
    const l = node.locked
    if (!isObject(l)) {
      out.skipped.push({ path: name, why: 'not locked' })
      continue
    }
    const rev = typeof l.rev === 'string' && /^[0-9a-f]{40}$/.test(l.rev) ? l.rev : undefined
    const digest = strongestDigest(l.narHash)
    if (!rev) {
      out.skipped.push({ path: name, why: `a ${String(l.type)} input without a git revision` })
      continue
    }
    const subject =
      l.type === 'github' && typeof l.owner === 'string' && typeof l.repo === 'string'
        ? `pkg:github/${encodeURIComponent(l.owner.toLowerCase())}/${encodeURIComponent(l.repo.toLowerCase())}@${rev}`
        : `pkg:generic/${encodeURIComponent(name)}@${rev}`
    out.packages.push({ path: name, subject, digest })
  }
  return out
}

/** Parses a lockfile's text; which kind it is comes from its file name, else its shape. */
export function readLockfile(file: string, text: string): Lockfile {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new LockfileError(`${file}: not JSON (${(e as Error).message})`)
  }
  if (!isObject(doc)) throw new LockfileError(`${file}: not a JSON object`)
  if (basename(file) === 'flake.lock' || ('nodes' in doc && 'root' in doc)) return flakeLock(doc)
  if ('lockfileVersion' in doc) return npmLock(doc)
  throw new LockfileError(`${file}: not a package-lock.json, npm-shrinkwrap.json or flake.lock`)
}
