import { hasBlob, uploadBlob, type PublishReport, type UploadReport } from '../client/index.ts'
import { decodeBase64, formatSri, HASH_ALGORITHMS, hex, parseJson, ProtocolError, type HashAlgorithm, type JsonObject, type VerifiedStatement } from '../verify/index.ts'
import { BridgeError, malformed } from './errors.ts'
import { baseUrl, checkHttpUrl, decodeText, getBytes, mapLimit, type FetchOptions } from './http.ts'
import { alreadySaid, priorStatements, signAndPublish, standingObjects, type BridgePublishOptions, type Claim } from './publish.ts'
import { parseRange, satisfies, type Range } from './semver.ts'

/**
 * The npm bridge: reads a package document ("packument") from an npm registry and publishes,
 * under the bridge's own key, what the registry says it published:
 *
 *   subject  pkg:npm/<name>@<version>          (purl; a scope is written %40scope/name)
 *   claim    published
 *   object   dist.integrity as canonical SRI   (the strongest hash given, normally sha512)
 *   meta     {registry, tarball?, deprecated?}
 *
 * A version with only the legacy `shasum` gets object `sha1-<base64>` and `meta.weak: true`: the
 * weaker claim, which a client policy may refuse. A version the registry no longer lists
 * (unpublished) that this key had claimed gets the IS NOT form, `meta.reason: "unpublished"`.
 * docs/BRIDGES.md is the exact description. The pure parts (parsing, subjects, integrity) need
 * no I/O; `bridgeNpm` does the fetching and publishing.
 */

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org'
/** Large packuments exist (tens of MB for packages with thousands of versions). */
export const PACKUMENT_MAX_BYTES = 128 * 1024 * 1024
/** Deprecation messages are cut to this many characters so meta stays within its 2048 bytes. */
export const DEPRECATED_MAX_CHARS = 512
const TARBALL_URL_MAX_CHARS = 768

export interface NpmPackageSpec {
  name: string
  /** `@scope` without the `@`, for scoped packages. */
  scope?: string
  /** The name inside the scope (the whole name when unscoped). */
  bare: string
  range?: string
}

// npm's rule (validate-npm-package-name) for the characters of a name, with legacy capitals allowed.
const NAME = /^(?:@([a-z0-9-~][a-z0-9-._~]*)\/)?([A-Za-z0-9-~][A-Za-z0-9-._~]*)$/

/** Splits `name`, `name@range`, `@scope/name` or `@scope/name@range`; throws RangeError. */
export function parsePackageSpec(spec: string): NpmPackageSpec {
  if (typeof spec !== 'string') throw new TypeError('package must be a string')
  const at = spec.indexOf('@', 1)
  const name = at === -1 ? spec : spec.slice(0, at)
  const range = at === -1 ? undefined : spec.slice(at + 1)
  const m = NAME.exec(name)
  if (!m || name.length > 214) throw new RangeError(`not an npm package name: ${JSON.stringify(name)} (NAME, NAME@RANGE, @SCOPE/NAME@RANGE)`)
  if (range !== undefined) parseRange(range) // a typo in a range is an error now, not an empty match
  return { name, bare: m[2]!, ...(m[1] !== undefined && { scope: m[1] }), ...(range !== undefined && range !== '' && { range }) }
}

/**
 * The purl of an npm package version. Per the purl spec the scope is the namespace, written with
 * its `@` percent-encoded, and npm names are lowercased; the version is percent-encoded (`+` of
 * build metadata becomes `%2B`).
 */
export function npmPurl(name: string, version: string): string {
  const { scope, bare } = parsePackageSpec(name)
  return `pkg:npm/${scope !== undefined ? `%40${scope}/` : ''}${encodeURIComponent(bare.toLowerCase())}@${encodeURIComponent(version)}`
}

/** Where a registry serves a packument: `<registry>/<name>`, a scoped name as `@scope%2fname`. */
export function packumentUrl(registry: string, name: string): string {
  const { scope, bare } = parsePackageSpec(name)
  return `${baseUrl(registry, 'registry')}/${scope !== undefined ? `@${scope}%2f` : ''}${bare}`
}

export interface Integrity {
  /** Canonical SRI, the statement's object. */
  sri: string
  alg: HashAlgorithm
  /** True when only sha1 was available (the legacy `shasum`, or an sha1-only integrity). */
  weak: boolean
}

const STRENGTH: HashAlgorithm[] = ['sha512', 'sha384', 'sha256', 'sha1']

/**
 * The integrity a registry gives for a tarball, canonicalised: from `dist.integrity` (an SRI
 * list; options after `?` dropped, padding restored, the strongest algorithm chosen; two different
 * digests of that algorithm are refused, as we could not say which one was published), else from
 * `dist.shasum` (40 hex digits) as the weak `sha1-…`.
 */
export function integrityOf(dist: { integrity?: unknown; shasum?: unknown }, where: string): Integrity {
  const digests = new Map<HashAlgorithm, Set<string>>()
  if (dist.integrity !== undefined) {
    if (typeof dist.integrity !== 'string') malformed('bad_integrity', `${where}: dist.integrity is not a string`)
    for (const token of (dist.integrity as string).trim().split(/\s+/)) {
      const m = /^([a-z0-9]+)-([A-Za-z0-9+/]+={0,2})(\?[\x21-\x7e]*)?$/.exec(token)
      if (!m) malformed('bad_integrity', `${where}: dist.integrity ${JSON.stringify(token.slice(0, 120))} is not <alg>-<base64>`)
      const alg = m![1] as HashAlgorithm
      if (!(alg in HASH_ALGORITHMS)) continue // SRI: unknown algorithms are ignored
      const b64 = m![2]!.replace(/=+$/, '')
      const bytes = decodeBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
      if (!bytes || bytes.length !== HASH_ALGORITHMS[alg]) malformed('bad_integrity', `${where}: dist.integrity ${JSON.stringify(token.slice(0, 120))} is not a ${alg} digest`)
      const set = digests.get(alg) ?? new Set()
      digests.set(alg, set.add(formatSri({ alg, bytes: bytes! })))
    }
    if (digests.size === 0) malformed('bad_integrity', `${where}: dist.integrity names no sha1, sha256, sha384 or sha512 digest`)
  }
  if (dist.shasum !== undefined) {
    if (typeof dist.shasum !== 'string' || !/^[0-9a-fA-F]{40}$/.test(dist.shasum)) malformed('bad_shasum', `${where}: dist.shasum is not 40 hex digits`)
    const sha1 = formatSri({ alg: 'sha1', bytes: hex.decode((dist.shasum as string).toLowerCase()) })
    const known = digests.get('sha1')
    if (known && !known.has(sha1)) malformed('bad_shasum', `${where}: dist.shasum and the sha1 in dist.integrity differ`)
    if (dist.integrity === undefined) digests.set('sha1', new Set([sha1]))
  }
  for (const alg of STRENGTH) {
    const set = digests.get(alg)
    if (!set) continue
    if (set.size > 1) malformed('bad_integrity', `${where}: dist.integrity gives ${set.size} different ${alg} digests`)
    return { sri: [...set][0]!, alg, weak: alg === 'sha1' }
  }
  return malformed('no_integrity', `${where}: dist has neither integrity nor shasum`)
}

export interface NpmVersion {
  version: string
  subject: string
  integrity: Integrity
  tarball?: string
  deprecated?: string
}

export interface Packument {
  name: string
  versions: NpmVersion[]
  /**
   * Versions left out because what identifies them (the manifest's name and version, `dist`'s
   * hashes) cannot be read exactly: one bad version does not sink the others. Code as BridgeError's.
   */
  skipped: { version: string; code: string; message: string }[]
  /** Versions the registry once had (its `time` lists them, or `time.unpublished`) but no longer serves. */
  removed: string[]
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const TERM = /^[^\u0000-\u001f\u007f-\u009f\s]{1,256}$/

/**
 * Checks a parsed packument and extracts what the bridge claims. Throws BridgeError `malformed`
 * naming the field for anything it cannot read exactly: a wrong name, a version whose manifest
 * names another version, a dist without a usable hash, an integrity that is not a digest.
 */
export function parsePackument(doc: unknown, name: string): Packument {
  const spec = parsePackageSpec(name)
  if (!isObject(doc)) return malformed('bad_packument', `the packument of ${name} is not a JSON object`)
  if (doc.name !== spec.name) malformed('bad_packument', `the packument names ${JSON.stringify(doc.name)}, not ${JSON.stringify(spec.name)}`)
  const time = doc.time === undefined ? {} : doc.time
  if (!isObject(time)) return malformed('bad_packument', `${name}: time is not an object`)
  const unpublished = time.unpublished
  if (doc.versions === undefined && unpublished === undefined) malformed('bad_packument', `the packument of ${name} has no versions`)
  const rawVersions = doc.versions ?? {}
  if (!isObject(rawVersions)) return malformed('bad_packument', `${name}: versions is not an object`)

  const versions: NpmVersion[] = []
  const skipped: Packument['skipped'] = []
  for (const [version, manifest] of Object.entries(rawVersions)) {
    try {
      versions.push(readVersion(spec.name, version, manifest))
    } catch (e) {
      if (!(e instanceof BridgeError) || e.kind !== 'malformed') throw e
      skipped.push({ version: cut(version, 80), code: e.code, message: e.message })
    }
  }
  // Not one version readable: the document is not a packument we understand.
  if (versions.length === 0 && skipped.length) malformed(skipped[0]!.code, skipped[0]!.message)

  const live = new Set(Object.keys(rawVersions))
  const removed = new Set<string>()
  for (const k of Object.keys(time)) if (k !== 'created' && k !== 'modified' && k !== 'unpublished' && !live.has(k) && TERM.test(k)) removed.add(k)
  if (unpublished !== undefined) {
    if (!isObject(unpublished)) return malformed('bad_packument', `${name}: time.unpublished is not an object`)
    const list = unpublished.versions ?? []
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string' && TERM.test(v))) malformed('bad_packument', `${name}: time.unpublished.versions is not a list of versions`)
    for (const v of list as string[]) if (!live.has(v)) removed.add(v)
  }
  return { name: spec.name, versions, skipped, removed: [...removed] }
}

/**
 * One version's claim, from the fields that identify it: the manifest's name and version and
 * `dist`'s hashes are read exactly (a problem throws BridgeError `malformed` for this version
 * only). Everything else in a manifest is the publisher's free-form data, not signed content:
 * an odd `deprecated` (not a string) is no deprecation, an unusable `dist.tarball` is left out of
 * `meta`, and other fields (numbers of any kind, `_attachments`, scripts) are never read.
 */
function readVersion(name: string, version: string, manifest: unknown): NpmVersion {
  const where = `${name}@${version}`
  if (!TERM.test(version)) malformed('bad_version', `${name}: ${JSON.stringify(version.slice(0, 80))} is not a version`)
  if (!isObject(manifest)) return malformed('bad_manifest', `${where}: the version's manifest is not an object`)
  if (manifest.version !== undefined && manifest.version !== version) malformed('bad_manifest', `${where}: the manifest says version ${JSON.stringify(manifest.version)}`)
  if (manifest.name !== undefined && manifest.name !== name) malformed('bad_manifest', `${where}: the manifest names package ${JSON.stringify(manifest.name)}`)
  if (!isObject(manifest.dist)) return malformed('bad_dist', `${where}: dist is missing or not an object`)
  const integrity = integrityOf(manifest.dist, where)
  let tarball: string | undefined
  if (typeof manifest.dist.tarball === 'string') {
    try {
      tarball = checkHttpUrl(manifest.dist.tarball, `${where}: dist.tarball`).href
    } catch {
      tarball = undefined
    }
  }
  const dep = manifest.deprecated
  const deprecated = typeof dep === 'string' && dep.trim() !== '' ? cut(dep.trim().replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' '), DEPRECATED_MAX_CHARS) : undefined
  return { version, subject: npmPurl(name, version), integrity, ...(tarball && { tarball }), ...(deprecated !== undefined && { deprecated }) }
}

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`)

/** The claim for one version: exactly what docs/BRIDGES.md lists. */
export function npmClaim(v: NpmVersion, registry: string): Claim {
  const meta: JsonObject = { registry }
  if (v.tarball && v.tarball.length <= TARBALL_URL_MAX_CHARS) meta.tarball = v.tarball
  if (v.integrity.weak) meta.weak = true
  if (v.deprecated !== undefined) meta.deprecated = v.deprecated
  return { subject: v.subject, claim: 'published', object: v.integrity.sri, meta }
}

/** Nesting a packument may have: manifests nest `exports` maps and the like a few levels; 64 is generous. */
export const PACKUMENT_DEPTH = 64

/**
 * Reads a packument's bytes: UTF-8, the strict JSON parser (duplicate keys refused: two readers
 * must not see two different `dist.integrity`), then `parsePackument`. Numbers of any form are
 * admitted (`numbers: 'any'`): registries send floats in fields the bridge never reads.
 */
export function readPackument(bytes: Uint8Array, name: string): Packument {
  const text = decodeText(bytes, `the packument of ${name}`)
  let doc: unknown
  try {
    doc = parseJson(text, { maxDepth: PACKUMENT_DEPTH, numbers: 'any' })
  } catch (e) {
    if (e instanceof ProtocolError) throw new BridgeError('malformed', 'malformed_json', `the packument of ${name} is not JSON we can read exactly (${e.code}: ${e.message})`)
    throw e
  }
  return parsePackument(doc, name)
}

export interface NpmBridgeOptions extends BridgePublishOptions, Omit<FetchOptions, 'signal'> {
  /** Registry base URL; default https://registry.npmjs.org. */
  registry?: string
  /** Download each tarball, check it against the integrity, upload it to the relays' blob caches. */
  upload?: boolean
  /** Largest tarball downloaded; default 100 MiB. */
  maxTarballBytes?: number
  maxPackumentBytes?: number
  /** Called as the work advances (for a progress line). */
  onProgress?: (stage: 'packument' | 'lookup' | 'sign' | 'publish' | 'upload', done: number, total: number) => void
}

export type NpmOutcomeStatus = 'published' | 'already' | 'retracted' | 'planned'

export interface NpmVersionOutcome {
  version: string
  subject: string
  object: string
  status: NpmOutcomeStatus
  weak?: true
  deprecated?: string
  /** The statement id, when one was signed in this run. */
  id?: string
  /** A withdrawal (IS NOT) of what this key had claimed for a version the registry no longer serves. */
  withdrawn?: true
  /** Objects this key had claimed for the version before, that differ from the registry's now. */
  replaced?: string[]
  upload?: { status: 'stored' | 'exists' | 'failed' | 'skipped'; detail?: string }
}

export interface NpmBridgeResult {
  name: string
  registry: string
  packument: string
  /** Versions the registry lists (after the range), and retractions, in packument order. */
  versions: NpmVersionOutcome[]
  statements: VerifiedStatement[]
  relays: PublishReport[]
  uploads: { version: string; reports: UploadReport[] }[]
  /** Versions the packument lists but that could not be read exactly (`Packument.skipped`); nothing is claimed for them. */
  skipped: Packument['skipped']
  dryRun: boolean
}

/**
 * Bridges one npm package: fetch the packument, keep the versions in `range`, look up what this
 * bridge key already said about them, sign and publish the rest, then (with `upload`) download,
 * check and upload the tarballs. Nothing is published if the packument is malformed.
 */
export async function bridgeNpm(pkg: string, o: NpmBridgeOptions): Promise<NpmBridgeResult> {
  const spec = parsePackageSpec(pkg)
  const registry = baseUrl(o.registry ?? DEFAULT_REGISTRY, 'registry')
  const url = packumentUrl(registry, spec.name)
  const range: Range | undefined = spec.range !== undefined ? parseRange(spec.range) : undefined
  const inRange = (v: string) => range === undefined || satisfies(v, range)

  o.onProgress?.('packument', 0, 1)
  const { bytes } = await getBytes(url, o.maxPackumentBytes ?? PACKUMENT_MAX_BYTES, { ...o, accept: 'application/json' }).catch((e) => {
    if (e instanceof BridgeError && e.kind === 'not_found') throw new BridgeError('not_found', 'no_package', `${registry} has no package ${spec.name} (${url})`)
    throw e
  })
  const doc = readPackument(bytes, spec.name)
  const selected = doc.versions.filter((v) => inRange(v.version))
  const removed = doc.removed.filter(inRange)
  if (range !== undefined && selected.length === 0 && removed.length === 0) {
    throw new BridgeError('not_found', 'no_version', `${spec.name} has no version in ${JSON.stringify(spec.range)} (${doc.versions.length} versions, none matching)`)
  }

  const subjects = [...selected.map((v) => v.subject), ...removed.map((v) => npmPurl(spec.name, v))]
  o.onProgress?.('lookup', 0, subjects.length)
  const prior = await priorStatements(subjects, 'published', o)

  const outcomes: NpmVersionOutcome[] = []
  const planned: { claim: Claim; outcome: NpmVersionOutcome }[] = []
  for (const v of selected) {
    const claim = npmClaim(v, registry)
    const replaced = standingObjects(prior, v.subject, 'published').map((s) => s.object!).filter((x) => x !== claim.object)
    const outcome: NpmVersionOutcome = {
      version: v.version,
      subject: v.subject,
      object: claim.object!,
      status: alreadySaid(prior, claim) ? 'already' : o.dryRun ? 'planned' : 'published',
      ...(v.integrity.weak && { weak: true as const }),
      ...(v.deprecated !== undefined && { deprecated: v.deprecated }),
      ...(replaced.length && { replaced }),
    }
    outcomes.push(outcome)
    if (outcome.status !== 'already') planned.push({ claim, outcome })
  }
  // An unpublished version: withdraw what this key had claimed for it (and only that; a version
  // this key never claimed has no hash to withdraw).
  for (const version of removed) {
    const subject = npmPurl(spec.name, version)
    for (const s of standingObjects(prior, subject, 'published')) {
      const claim: Claim = { subject, claim: 'published', object: s.object!, not: true, meta: { registry, reason: 'unpublished' } }
      const outcome: NpmVersionOutcome = { version, subject, object: s.object!, status: o.dryRun ? 'planned' : 'retracted', withdrawn: true }
      outcomes.push(outcome)
      planned.push({ claim, outcome })
    }
  }

  // Which relays lack each tarball, asked before the statements naming them exist there: a relay
  // asked about a blob a statement names, but that it lacks, first looks for it at its peers.
  const candidates = o.upload && !o.dryRun ? selected.filter((v) => !v.integrity.weak && v.tarball) : []
  const missing = await mapLimit(candidates, o.concurrency ?? 8, async (v) =>
    (await hasBlob(o.relays, v.integrity.sri, { timeoutMs: o.timeoutMs, fetch: o.fetch })).filter((p) => !p.ok || !p.present).map((p) => p.relay),
  )

  o.onProgress?.('sign', 0, planned.length)
  const published = await signAndPublish(planned.map((p) => p.claim), o)
  planned.forEach((p, i) => (p.outcome.id = published.statements[i]!.id))
  o.onProgress?.('publish', planned.length, planned.length)

  const uploads: NpmBridgeResult['uploads'] = []
  if (o.upload && !o.dryRun) {
    const outcomeOf = (v: NpmVersion) => outcomes.find((x) => x.subject === v.subject && !x.withdrawn)!
    let done = 0
    await mapLimit(candidates, 4, async (v, i) => {
      outcomeOf(v).upload = await uploadTarball(v, missing[i]!, o, (reports) => uploads.push({ version: v.version, reports }))
      o.onProgress?.('upload', ++done, candidates.length)
    })
    for (const v of selected) {
      outcomeOf(v).upload ??= { status: 'skipped', detail: v.integrity.weak ? 'only a sha1 is known; blobs are named by sha256, sha384 or sha512' : 'the registry gives no tarball URL' }
    }
  }
  const skipped = doc.skipped.filter((x) => inRange(x.version))
  return { name: spec.name, registry, packument: url, versions: outcomes, statements: published.statements, relays: published.relays, uploads, skipped, dryRun: o.dryRun === true }
}

const SUBTLE: Record<HashAlgorithm, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }

/**
 * Puts one version's tarball in the relays that lack it (`missing`): nothing when none does;
 * otherwise downloaded (size-capped), checked against the registry's integrity, and uploaded.
 * A tarball that does not match is reported `failed` and uploaded nowhere.
 */
async function uploadTarball(v: NpmVersion, missing: string[], o: NpmBridgeOptions, record: (r: UploadReport[]) => void): Promise<NonNullable<NpmVersionOutcome['upload']>> {
  const hash = v.integrity.sri
  if (missing.length === 0) return { status: 'exists' }
  let bytes: Uint8Array
  try {
    bytes = (await getBytes(v.tarball!, o.maxTarballBytes ?? 100 * 1024 * 1024, { fetch: o.fetch, timeoutMs: o.timeoutMs })).bytes
  } catch (e) {
    if (e instanceof BridgeError) return { status: 'failed', detail: e.message }
    throw e
  }
  const digest = new Uint8Array(await crypto.subtle.digest(SUBTLE[v.integrity.alg], bytes))
  const got = formatSri({ alg: v.integrity.alg, bytes: digest })
  if (got !== hash) return { status: 'failed', detail: `the tarball at ${v.tarball} hashes to ${got}, not the registry's ${hash}; not uploaded` }
  const reports = await uploadBlob(missing, hash, bytes, { timeoutMs: Math.max(o.timeoutMs ?? 0, 30_000), maxBytes: bytes.length, unchecked: true, fetch: o.fetch })
  record(reports)
  const failed = reports.filter((r) => !r.ok)
  if (failed.length === reports.length) return { status: 'failed', detail: failed.map((r) => r.problem?.message).join('; ') }
  return { status: reports.some((r) => r.status === 'stored') ? 'stored' : 'exists', ...(failed.length && { detail: failed.map((r) => r.problem?.message).join('; ') }) }
}

