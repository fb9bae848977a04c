import type { PublishReport } from '../client/index.ts'
import { formatSri, hex, parseJsonBytes, ProtocolError, sha256, type JsonObject, type VerifiedStatement } from '../verify/index.ts'
import { BridgeError, malformed } from './errors.ts'
import { alreadySaid, priorStatements, signAndPublish, type BridgePublishOptions, type Claim } from './publish.ts'

/**
 * The OCI image layout bridge: reads a layout directory (`oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`, as `skopeo copy … oci:DIR:TAG`, `docker buildx --output type=oci` or
 * `umoci` write it), checks every blob it reads against its digest and size, and claims under the
 * bridge's key:
 *
 *   pkg:oci/NAME@TAG   source  <the tag's index or manifest digest, SRI>   {format: oci-index|oci-manifest, mediaType}
 *   <index digest>     build   <each platform's manifest digest, SRI>      {builder: oci, system: os/arch[/variant], platform, mediaType}
 *
 * A tag's version is the tag, not the digest (purl-spec's `oci` type puts the digest in the
 * version; a claim "image@digest is digest" would say nothing). `system` is the platform, so the
 * policy groups builds per platform as it groups builds per Nix system (POLICY.md rule 7).
 * Only sha256 digests are read: the OCI default, and the one SRI of a digest this bridge can
 * check. No Node built-ins: the caller reads the files (`read`), this checks what it reads.
 */

/** OCI distribution's limit for manifests; an index or manifest larger is refused unread. */
export const OCI_MANIFEST_MAX_BYTES = 4 * 1024 * 1024

/** Reads a file of the layout, relative to its root, at most `maxBytes`; undefined if it does not exist. */
export type LayoutReader = (path: string, maxBytes: number) => Promise<Uint8Array | undefined>

const REF_NAME = 'org.opencontainers.image.ref.name'
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'])
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'])
/** The OCI distribution spec's grammar for a repository path component and a tag. */
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function descriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) return malformed('bad_descriptor', `${where}: a descriptor must be an object`)
  const { mediaType, digest, size, platform, annotations } = v
  if (typeof mediaType !== 'string') return malformed('bad_descriptor', `${where}: mediaType must be a string`)
  if (typeof digest !== 'string') return malformed('bad_descriptor', `${where}: digest must be a string`)
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new BridgeError(/^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(digest) && !digest.startsWith('sha256:') ? 'unsupported' : 'malformed', 'bad_digest', `${where}: digest ${JSON.stringify(digest.slice(0, 80))} is not sha256:<64 lowercase hex> (only sha256 digests are read)`)
  }
  if (!Number.isSafeInteger(size) || (size as number) < 0) return malformed('bad_descriptor', `${where}: size must be a non-negative integer`)
  const d: Descriptor = { mediaType, digest, size: size as number }
  if (platform !== undefined) {
    if (!isObject(platform) || typeof platform.os !== 'string' || typeof platform.architecture !== 'string' || (platform.variant !== undefined && typeof platform.variant !== 'string')) {
      return malformed('bad_descriptor', `${where}: platform must have string os and architecture`)
    }
    d.platform = { os: platform.os, architecture: platform.architecture, ...(platform.variant !== undefined && { variant: platform.variant as string }) }
  }
  if (annotations !== undefined) {
    if (!isObject(annotations) || !Object.values(annotations).every((a) => typeof a === 'string')) return malformed('bad_descriptor', `${where}: annotations must map strings to strings`)
    d.annotations = annotations as Record<string, string>
  }
  return d
}

function json(bytes: Uint8Array, where: string): Record<string, unknown> {
  let v: unknown
  try {
    v = parseJsonBytes(bytes, { maxDepth: 16 })
  } catch (e) {
    if (e instanceof ProtocolError) return malformed('bad_json', `${where} is not JSON: ${e.message}`)
    throw e
  }
  if (!isObject(v)) return malformed('bad_json', `${where} must be a JSON object`)
  return v
}

/** The manifests of an index document, as descriptors. */
function manifestsOf(doc: Record<string, unknown>, where: string): Descriptor[] {
  if (doc.schemaVersion !== 2) return malformed('bad_index', `${where}: schemaVersion must be 2`)
  if (!Array.isArray(doc.manifests)) return malformed('bad_index', `${where}: manifests must be an array`)
  return doc.manifests.map((m, i) => descriptor(m, `${where} manifests[${i}]`))
}

/** Reads a blob and checks it is exactly what the descriptor names. */
async function blob(read: LayoutReader, d: Descriptor): Promise<Uint8Array> {
  if (d.size > OCI_MANIFEST_MAX_BYTES) return malformed('too_large', `${d.digest} is ${d.size} bytes; manifests and indexes are read up to ${OCI_MANIFEST_MAX_BYTES}`)
  const hexDigest = d.digest.slice('sha256:'.length)
  const bytes = await read(`blobs/sha256/${hexDigest}`, OCI_MANIFEST_MAX_BYTES)
  if (bytes === undefined) throw new BridgeError('not_found', 'no_blob', `the layout has no blob ${d.digest} (blobs/sha256/${hexDigest})`)
  if (bytes.length !== d.size) throw new BridgeError('verification', 'size_mismatch', `blob ${d.digest} is ${bytes.length} bytes, its descriptor says ${d.size}`)
  if (hex.encode((await sha256(bytes)).bytes) !== hexDigest) throw new BridgeError('verification', 'digest_mismatch', `blob blobs/sha256/${hexDigest} does not hash to its name`)
  return bytes
}

export const ociSri = (digest: string): string => formatSri({ alg: 'sha256', bytes: hex.decode(digest.slice('sha256:'.length)) })
export const platformName = (p: NonNullable<Descriptor['platform']>): string => [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/')

export interface OciImage {
  tag: string
  subject: string
  /** The tag's digest (`sha256:<hex>`) and what it is. */
  digest: string
  kind: 'index' | 'manifest'
  /** Per platform: the manifest digest (`sha256:<hex>`). */
  platforms: { platform: string; digest: string }[]
  claims: Claim[]
}

/** The tag a layout's ref name gives: a bare tag, or the tag of a full reference (`host/repo:tag`). */
function tagOf(ref: string): string | undefined {
  const colon = ref.lastIndexOf(':')
  const tag = colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : ref
  return TAG.test(tag) ? tag : undefined
}

/**
 * The images of a layout as claims, every blob read checked. `tag` picks one ref name; a layout
 * without ref names needs `tag` and exactly one image. Throws BridgeError before anything is signed.
 */
export async function readOciLayout(read: LayoutReader, o: { name: string; tag?: string }): Promise<OciImage[]> {
  if (!NAME.test(o.name)) throw new BridgeError('unsupported', 'bad_name', `--name must be an OCI repository name (lowercase, such as alpine or library/alpine), got ${JSON.stringify(o.name)}`)
  if (o.tag !== undefined && !TAG.test(o.tag)) throw new BridgeError('unsupported', 'bad_tag', `--tag must be an OCI tag, got ${JSON.stringify(o.tag)}`)
  const layout = await read('oci-layout', 4096)
  if (layout === undefined) throw new BridgeError('not_found', 'no_layout', 'not an OCI image layout: there is no oci-layout file')
  const version = json(layout, 'oci-layout').imageLayoutVersion
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) return malformed('bad_layout', `oci-layout: imageLayoutVersion must be 1.x.y, got ${JSON.stringify(version)}`)
  const indexBytes = await read('index.json', OCI_MANIFEST_MAX_BYTES)
  if (indexBytes === undefined) throw new BridgeError('not_found', 'no_index', 'the layout has no index.json')
  const top = manifestsOf(json(indexBytes, 'index.json'), 'index.json')
  let picked: { tag: string; d: Descriptor }[] = top.flatMap((d) => {
    const ref = d.annotations?.[REF_NAME]
    const tag = ref === undefined ? undefined : tagOf(ref)
    return tag === undefined ? [] : [{ tag, d }]
  })
  if (o.tag !== undefined) {
    picked = picked.filter((p) => p.tag === o.tag)
    if (picked.length === 0 && top.length === 1 && top[0]!.annotations?.[REF_NAME] === undefined) picked = [{ tag: o.tag, d: top[0]! }]
    if (picked.length === 0) throw new BridgeError('not_found', 'no_tag', `the layout has no image tagged ${o.tag}`)
  }
  if (picked.length === 0) throw new BridgeError('not_found', 'no_tag', 'no image in index.json has a tag (org.opencontainers.image.ref.name); name one with --tag')
  const byTag = new Map<string, Descriptor>()
  for (const p of picked) {
    if (byTag.has(p.tag) && byTag.get(p.tag)!.digest !== p.d.digest) return malformed('two_digests', `index.json names two images tagged ${p.tag}`)
    byTag.set(p.tag, p.d)
  }
  const images: OciImage[] = []
  for (const [tag, d] of byTag) {
    const doc = json(await blob(read, d), d.digest)
    const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : d.mediaType
    const kind = INDEX_TYPES.has(mediaType) ? 'index' : MANIFEST_TYPES.has(mediaType) ? 'manifest' : undefined
    if (!kind) throw new BridgeError('unsupported', 'bad_media_type', `${d.digest} is ${JSON.stringify(mediaType)}, neither an image index nor an image manifest`)
    const subject = `pkg:oci/${o.name}@${tag}`
    const claims: Claim[] = [{ subject, claim: 'source', object: ociSri(d.digest), meta: { format: `oci-${kind}`, mediaType } }]
    const platforms: OciImage['platforms'] = []
    if (kind === 'index') {
      for (const m of manifestsOf(doc, d.digest)) {
        // Entries without a platform (attestations, nested indexes) are not a platform's image.
        if (!m.platform || !MANIFEST_TYPES.has(m.mediaType)) continue
        const manifest = json(await blob(read, m), m.digest)
        if (manifest.schemaVersion !== 2 || !isObject(manifest.config)) return malformed('bad_manifest', `${m.digest}: not an image manifest (schemaVersion 2 with a config)`)
        const system = platformName(m.platform)
        platforms.push({ platform: system, digest: m.digest })
        const meta: JsonObject = { builder: 'oci', system, platform: m.platform, mediaType: m.mediaType }
        claims.push({ subject: ociSri(d.digest), claim: 'build', object: ociSri(m.digest), meta })
      }
    }
    images.push({ tag, subject, digest: d.digest, kind, platforms, claims })
  }
  return images
}

export interface OciBridgeResult {
  images: (Omit<OciImage, 'claims'> & { status: 'published' | 'already' | 'planned' })[]
  statements: VerifiedStatement[]
  relays: PublishReport[]
  dryRun: boolean
}

/** Reads the layout (every blob checked), then signs and publishes what this key has not said yet. */
export async function bridgeOci(read: LayoutReader, o: BridgePublishOptions & { name: string; tag?: string }): Promise<OciBridgeResult> {
  const images = await readOciLayout(read, o)
  // Two tags of one index share its build claims: each is signed once.
  const all = [...new Map(images.flatMap((i) => i.claims).map((c) => [JSON.stringify([c.subject, c.claim, c.object]), c])).values()]
  const [sources, builds] = await Promise.all([
    priorStatements(all.filter((c) => c.claim === 'source').map((c) => c.subject), 'source', o),
    priorStatements(all.filter((c) => c.claim === 'build').map((c) => c.subject), 'build', o),
  ])
  const fresh = (c: Claim) => !alreadySaid(c.claim === 'source' ? sources : builds, c)
  const out = images.map(({ claims, ...i }) => ({ ...i, status: claims.some(fresh) ? (o.dryRun ? 'planned' : 'published') : 'already' }) as const)
  const published = await signAndPublish(all.filter(fresh), o)
  return { images: out, statements: published.statements, relays: published.relays, dryRun: o.dryRun === true }
}
