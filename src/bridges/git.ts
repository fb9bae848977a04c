import type { PublishReport } from '../client/index.ts'
import { formatGitoid, GIT_OBJECT_FORMATS, type GitObjectFormat, type JsonObject, type VerifiedStatement } from '../verify/index.ts'
import { BridgeError } from './errors.ts'
import { alreadySaid, priorStatements, signAndPublish, standingObjects, type BridgePublishOptions, type Claim } from './publish.ts'

/**
 * The forge bridge: a repository's tags, read with git by the caller (`git ls-remote` gives each
 * tag's commit, peeled through annotated tags; a local clone also gives each commit's tree), made
 * into claims under the bridge's key, so a forge that never joins the network can still be
 * mirrored and cross-checked with plain git:
 *
 *   subject  pkg:generic/NAME@VERSION   (VERSION the tag, without a `v` before a digit)
 *   claim    git-commit                 object gitoid:commit:<format>:<hex>
 *   claim    git-tree                   object gitoid:tree:<format>:<hex>   (local clones only)
 *   meta     {tag, repository?}         (repository: the URL read; never a local path)
 *
 * A tag that moved (a force-pushed tag) gets the new claim and a withdrawal of the old one
 * (`not`, meta.reason "tag moved"), as the npm bridge withdraws an unpublished version.
 * No Node built-ins here: running git is the caller's (src/git/repo.ts).
 */

export interface GitTagFact {
  tag: string
  /** The commit the tag names (hex), peeled. */
  commit: string
  /** The commit's tree (hex), when the caller has the objects. */
  tree?: string
}

export interface GitBridgeOptions extends BridgePublishOptions {
  /** The package name (`mylib`, or a purl without version such as `pkg:github/owner/repo`). */
  name: string
  format: GitObjectFormat
  /** The repository URL, recorded in meta; omitted for a local path. */
  repository?: string
}

export interface GitTagOutcome {
  tag: string
  subject: string
  commit: string
  tree?: string
  status: 'published' | 'already' | 'planned'
  /** Earlier commits this key had claimed for the tag, now withdrawn. */
  withdrawn: string[]
}

export interface GitBridgeResult {
  tags: GitTagOutcome[]
  statements: VerifiedStatement[]
  relays: PublishReport[]
  dryRun: boolean
}

/** The version a tag names: `v1.2.3` is 1.2.3 (the common release tag), anything else as it is. */
export const tagVersion = (tag: string): string => (/^v\d/.test(tag) ? tag.slice(1) : tag)

/** The purl of NAME at a tag's version: a plain NAME is pkg:generic; a purl is kept, its version encoded. */
export function gitSubject(name: string, tag: string): string {
  const v = encodeURIComponent(tagVersion(tag))
  if (name.startsWith('pkg:')) {
    if (!/^pkg:[a-z][a-z0-9.+-]*\/[^\s@?#]+$/.test(name)) throw new BridgeError('unsupported', 'bad_name', `--name must be a package URL without version or qualifiers, got ${JSON.stringify(name)}`)
    return `${name}@${v}`
  }
  if (!/^[^@/:\s?#]+$/.test(name)) throw new BridgeError('unsupported', 'bad_name', `--name must be a package name (mylib) or a purl without version (pkg:github/owner/repo), got ${JSON.stringify(name)}`)
  return `pkg:generic/${encodeURIComponent(name)}@${v}`
}

/**
 * Bridges tags. Every id is checked against the object format before anything is signed; one bad
 * id stops the run. What this key already says is skipped; a moved tag is withdrawn and re-claimed.
 */
export async function bridgeGit(facts: readonly GitTagFact[], o: GitBridgeOptions): Promise<GitBridgeResult> {
  const hexLen = GIT_OBJECT_FORMATS[o.format] * 2
  const ok = (id: string | undefined) => id === undefined || (id.length === hexLen && /^[0-9a-f]+$/.test(id))
  for (const f of facts) if (!ok(f.commit) || !ok(f.tree)) throw new BridgeError('malformed', 'bad_id', `tag ${JSON.stringify(f.tag)}: ids must be ${hexLen} lowercase hex digits (${o.format})`)
  const rows = facts.map((f) => ({ f, subject: gitSubject(o.name, f.tag) }))
  const seen = new Map<string, string>()
  for (const r of rows) {
    const other = seen.get(r.subject)
    if (other !== undefined && other !== r.f.tag) throw new BridgeError('unsupported', 'same_version', `tags ${other} and ${r.f.tag} name the same version (${r.subject}); bridge one of them`)
    seen.set(r.subject, r.f.tag)
  }
  const subjects = rows.map((r) => r.subject)
  const [commits, trees] = await Promise.all([priorStatements(subjects, 'git-commit', o), priorStatements(subjects, 'git-tree', o)])
  const claims: Claim[] = []
  const tags: GitTagOutcome[] = []
  for (const { f, subject } of rows) {
    const meta: JsonObject = { tag: f.tag, ...(o.repository !== undefined && { repository: o.repository }) }
    const want: Claim[] = [{ subject, claim: 'git-commit', object: formatGitoid({ type: 'commit', format: o.format, hex: f.commit }), meta }]
    if (f.tree) want.push({ subject, claim: 'git-tree', object: formatGitoid({ type: 'tree', format: o.format, hex: f.tree }), meta })
    const withdrawn: string[] = []
    const fresh: Claim[] = []
    for (const c of want) {
      const prior = c.claim === 'git-commit' ? commits : trees
      if (!alreadySaid(prior, c)) fresh.push(c)
      // Only ids of the same object format are the same tag's old value; a sha256 mirror of a sha1 repository is not a move.
      for (const old of standingObjects(prior, subject, c.claim)) {
        if (old.object === c.object || !old.object?.startsWith(`gitoid:${c.claim.slice(4)}:${o.format}:`)) continue
        fresh.push({ subject, claim: c.claim, object: old.object, not: true, meta: { tag: f.tag, reason: 'tag moved' } })
        if (c.claim === 'git-commit') withdrawn.push(old.object)
      }
    }
    claims.push(...fresh)
    tags.push({ tag: f.tag, subject, commit: want[0]!.object!, ...(want[1] && { tree: want[1].object }), status: fresh.length === 0 ? 'already' : o.dryRun ? 'planned' : 'published', withdrawn })
  }
  const published = await signAndPublish(claims, o)
  return { tags, statements: published.statements, relays: published.relays, dryRun: o.dryRun === true }
}
