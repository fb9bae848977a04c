import { blobKey } from '../blobs/store.ts'
import type { RelayEnv } from '../config.ts'
import { getPeerState, listPeers } from '../gossip/index.ts'
import type { PeerState } from '../gossip/peers.ts'
import { inForce } from '../policy/index.ts'
import { countStatements, getStatement, latestStatements, queryStatements, subjectsWithPrefix, type Filter, type StoredRow, type SubjectSummary } from '../store/statements.ts'
import { statementsWithPrefix } from '../store/versions.ts'
import { LIMITS, parseJson, parseSri, type Statement } from '../verify/index.ts'
import { versionMarks, type VersionMarks } from './marks.ts'

/**
 * What the explorer pages read, all of it through src/store (the API's query code) and the same
 * R2 keys as src/blobs: the pages show exactly what the API would answer.
 */

/** A stored statement as the pages use it: already verified at ingest, so only parsed here. */
export interface Row {
  seq: number
  id: string
  statement: Statement
}

/**
 * Stored rows → statements with the ids stored beside them. Bodies are parsed with the protocol's
 * own parser, not JSON.parse (workerd's JSON.parse can misread escaped member names).
 */
export function toRows(rows: readonly StoredRow[]): Row[] {
  return rows.map((r) => ({ seq: r.seq, id: r.id, statement: parseJson(r.body, { maxDepth: LIMITS.bodyDepth }) as unknown as Statement }))
}

/**
 * The statements of one claim that are in force (docs/POLICY.md rule 2, the engine's own function):
 * per actor, subject and object the latest, a negative winning a tie. Later ones replace earlier.
 */
export function inForceRows(rows: readonly Row[], now: number, skewMs = LIMITS.futureSkewMs): Row[] {
  const byId = new Map(rows.map((r) => [r.id, r]))
  return inForce(rows.map(({ id, statement }) => ({ id, statement })), now + skewMs).map((f) => byId.get(f.id)!)
}

/** A bounded list: `truncated` says more rows exist than were read. */
export interface Bounded<T> {
  items: T[]
  truncated: boolean
}

/** Statements matching `filter`, in arrival order, reading pages until `max` rows. */
export async function readStatements(db: D1Database, filter: Filter, max: number): Promise<Bounded<Row>> {
  const out: StoredRow[] = []
  let after = 0
  for (;;) {
    const want = Math.min(LIMITS.pageMax, max - out.length)
    const page = await queryStatements(db, filter, after, want)
    out.push(...page.rows)
    if (page.next === undefined) return { items: toRows(out), truncated: false }
    // A short page with a cursor ended at the bundles one page may read (src/store/bodies.ts):
    // one page's worth keeps a section within the request's subrequests.
    if (out.length >= max || page.rows.length < want) return { items: toRows(out), truncated: true }
    after = page.next
  }
}

/** How many statements of each kind the pages read at most (each is one bounded D1 query or a few). */
export const READ_MAX = { section: 500, actor: 300, versions: 200, hashes: 20, latest: 15, versionRows: 2000 } as const

export async function latest(db: D1Database): Promise<Row[]> {
  return toRows(await latestStatements(db, READ_MAX.latest))
}

export interface PackageData {
  /** What was asked for: a version (`pkg:npm/x@1`) or a package (`pkg:npm/x`). */
  purl: string
  /** The package without version. */
  pkg: string
  version?: string
  versions: Bounded<SubjectSummary>
  /** Statements whose subject is the version (source, published, yanks, …), or the package itself. */
  about: Bounded<Row>
  /** `author` statements naming the package (grants and revocations). */
  authors: Bounded<Row>
  /** For each source hash claimed for the version: every statement about that hash. */
  hashes: { hash: string; about: Bounded<Row> }[]
  hashesTruncated: boolean
  /** Yanked, revoked, conflicting, trusted: per version subject (src/explorer/marks.ts). */
  marks: Map<string, VersionMarks>
  /** On a package page: every version's statements read for the marks (bounded). */
  versionRows: Bounded<Row>
}

/** The version follows the last `@` after the last `/` (docs/POLICY.md); `@scope` in a name is not a version. */
export function splitPurl(purl: string): { pkg: string; version?: string } {
  const slash = purl.lastIndexOf('/')
  const at = purl.lastIndexOf('@')
  return at > slash && at < purl.length - 1 ? { pkg: purl.slice(0, at), version: purl.slice(at + 1) } : { pkg: purl.replace(/@$/, '') }
}

/**
 * `trusted`: the keys the explorer's marks trust (the operator's choice; by default the relay's
 * admission roots). On a package page every version's statements are read in one index range for
 * the marks; on a version page its own statements are enough.
 */
export async function packageData(db: D1Database, purl: string, trusted: readonly string[] = [], now = Date.now()): Promise<PackageData> {
  const { pkg, version } = splitPurl(purl)
  const [versions, about, authors, versionRows] = await Promise.all([
    subjectsWithPrefix(db, `${pkg}@`, READ_MAX.versions).then((r) => ({ items: r.subjects, truncated: r.more })),
    readStatements(db, { subject: purl }, READ_MAX.section),
    readStatements(db, { claim: 'author', object: pkg }, READ_MAX.section),
    version ? { items: [], truncated: false } : statementsWithPrefix(db, `${pkg}@`, READ_MAX.versionRows).then((r) => ({ items: toRows(r.rows), truncated: r.more })),
  ])
  const marks = versionMarks(version ? about.items : versionRows.items, now, new Set(trusted))
  const claimed = [...new Set(about.items.filter((r) => ['source', 'published'].includes(r.statement.claim) && r.statement.object && parseSri(r.statement.object)).map((r) => r.statement.object!))]
  const hashes = await Promise.all(claimed.slice(0, READ_MAX.hashes).map(async (hash) => ({ hash, about: await readStatements(db, { subject: hash }, READ_MAX.section) })))
  return { purl, pkg, version, versions, about, authors, hashes, hashesTruncated: claimed.length > READ_MAX.hashes, marks, versionRows }
}

export interface HashData {
  hash: string
  /** Statements with the hash as subject (builds of it, reviews of it) and as object (what it is the source or output of). */
  asSubject: Bounded<Row>
  asObject: Bounded<Row>
  /** The blob in this relay's R2 cache, when there is one. */
  blob?: { size: number; uploaded: Date }
  /** Whether blobs may be named by this algorithm at all (R2 checks sha256, sha384, sha512). */
  blobAlgorithm: boolean
  /** When the hash is a statement id held here: that statement. */
  statement?: Row
}

export async function hashData(env: RelayEnv, hash: string, waitUntil: (p: Promise<unknown>) => void): Promise<HashData> {
  const d = parseSri(hash)!
  const blobAlgorithm = d.alg !== 'sha1'
  const [asSubject, asObject, head, body] = await Promise.all([
    readStatements(env.DB, { subject: hash }, READ_MAX.section),
    readStatements(env.DB, { object: hash }, READ_MAX.section),
    blobAlgorithm ? env.BLOBS.head(blobKey(d)) : Promise.resolve(null),
    d.alg === 'sha256' ? getStatement(env.DB, env.CACHE, hash, waitUntil) : Promise.resolve(undefined),
  ])
  const statement = body === undefined ? undefined : toRows([{ seq: 0, id: hash, body }])[0]
  return { hash, asSubject, asObject, blob: head ? { size: head.size, uploaded: head.uploaded } : undefined, blobAlgorithm, statement }
}

export interface ActorData {
  did: string
  /** Everything the key signed. */
  claimed: Bounded<Row>
  /** Statements about the key (grants, revocations, its alias claims). */
  about: Bounded<Row>
  /** Statements naming the key as object. */
  mentioned: Bounded<Row>
}

export async function actorData(db: D1Database, did: string): Promise<ActorData> {
  const [claimed, about, mentioned] = await Promise.all([
    readStatements(db, { actor: did }, READ_MAX.actor),
    readStatements(db, { subject: did }, READ_MAX.section),
    readStatements(db, { object: did }, READ_MAX.section),
  ])
  return { did, claimed, about, mentioned }
}

/** Statements whose object is `alias` with claim `alias`: keys that say they are this name (unproven). */
export async function aliasClaims(db: D1Database, alias: string): Promise<Bounded<Row>> {
  return readStatements(db, { claim: 'alias', object: alias }, READ_MAX.section)
}

export interface StatusData {
  statements: number
  /** Blobs counted by listing R2, at most `BLOB_LIST_PAGES` pages of 1000: `atLeast` when the listing stopped early. */
  blobs: { count: number; bytes: number; atLeast: boolean }
  peers: (PeerState & { url: string })[]
}

/** R2 lists 1000 keys a call; a status page reads at most this many pages (so at most 10 subrequests). */
export const BLOB_LIST_PAGES = 10

export async function countBlobs(bucket: R2Bucket): Promise<StatusData['blobs']> {
  let count = 0
  let bytes = 0
  let cursor: string | undefined
  for (let page = 0; page < BLOB_LIST_PAGES; page++) {
    const list = await bucket.list({ prefix: 'blobs/', limit: 1000, ...(cursor ? { cursor } : {}) })
    count += list.objects.length
    for (const o of list.objects) bytes += o.size
    if (!list.truncated) return { count, bytes, atLeast: false }
    cursor = list.cursor
  }
  return { count, bytes, atLeast: true }
}

export async function statusData(env: RelayEnv): Promise<StatusData> {
  const [statements, blobs, peerUrls] = await Promise.all([countStatements(env.DB), countBlobs(env.BLOBS), listPeers(env)])
  const peers = await Promise.all(peerUrls.map(async (url) => ({ url, ...(await getPeerState(env, url)) })))
  return { statements, blobs, peers }
}
