import type { PublishReport } from '../client/index.ts'
import { canonicalize, LIMITS, type JsonObject, type VerifiedStatement } from '../verify/index.ts'
import { BridgeError } from './errors.ts'
import { baseUrl, checkHttpUrl, decodeText, getBytes, mapLimit, type FetchOptions } from './http.ts'
import { formatNixPublicKey, NARINFO_MAX_BYTES, narHashSri, parseNarInfo, parseNixPublicKey, splitStorePath, verifyNarInfo, type NarInfo, type NixPublicKey } from './narinfo.ts'
import { alreadySaid, priorStatements, signAndPublish, type BridgePublishOptions, type Claim } from './publish.ts'

/**
 * The Nix binary-cache bridge: reads `<hash>.narinfo` from a cache, checks the cache's Ed25519
 * signature over the path's fingerprint, and publishes under the bridge's own key:
 *
 *   subject  nix:/nix/store/<hash>-<name>     (the store path the cache signed)
 *   claim    build
 *   object   the NAR hash as SRI sha256        (signed; equals `nix hash path --sri`)
 *   meta     {builder: "nix", format: "nar", cache, narinfo, storePath, narSize, sig,
 *             references?, deriver?, system?}
 *
 * "Building this store path produced this NAR": for an input-addressed path the store path is a
 * function of the derivation, so it names what was built. `sig` with `storePath`, `narSize` and
 * `references` lets anyone re-check the cache's own signature from the statement alone.
 * `deriver` and `system` come from unsigned lines of the narinfo. docs/BRIDGES.md has the details.
 */

export const DEFAULT_CACHE = 'https://cache.nixos.org'
/** The public key of cache.nixos.org, as Nix ships it in its default `trusted-public-keys`. */
export const CACHE_NIXOS_ORG_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='

export interface NixTarget {
  /** The narinfo URL read. */
  url: string
  /** The cache it belongs to: the URL without `/<hash>.narinfo`. */
  cache: string
  /** The hash part the caller asked for; the narinfo must describe that path. */
  hashPart: string
  /** The full store path, when the caller gave one. */
  storePath?: string
}

/**
 * What the caller names: a store path (`/nix/store/<hash>-<name>`), a bare hash part, or a narinfo
 * URL. Store paths and hashes are looked up at `<cache>/<hash>.narinfo`.
 */
export function nixTarget(arg: string, cache: string): NixTarget {
  if (typeof arg !== 'string') throw new TypeError('target must be a string')
  if (/^https?:\/\//.test(arg)) {
    const u = checkHttpUrl(arg, 'narinfo URL')
    const m = /\/([0123456789abcdfghijklmnpqrsvwxyz]{32})\.narinfo$/.exec(u.pathname)
    if (!m || u.search || u.hash) throw new BridgeError('unsupported', 'bad_target', `not a narinfo URL (…/<32-character hash>.narinfo): ${arg}`)
    return { url: u.href, cache: u.href.slice(0, -`/${m[1]}.narinfo`.length), hashPart: m[1]! }
  }
  const base = baseUrl(cache, 'cache')
  if (/^[0123456789abcdfghijklmnpqrsvwxyz]{32}$/.test(arg)) return { url: `${base}/${arg}.narinfo`, cache: base, hashPart: arg }
  const split = splitStorePath(arg.replace(/\/+$/, ''))
  if (!split) throw new BridgeError('unsupported', 'bad_target', `not a store path, store path hash or narinfo URL: ${JSON.stringify(arg)}`)
  return { url: `${base}/${split.hashPart}.narinfo`, cache: base, hashPart: split.hashPart, storePath: `${split.storeDir}/${split.baseName}` }
}

export interface NixFact {
  info: NarInfo
  url: string
  /** The `Sig:` that verified. */
  sig: string
  claim: Claim
}

/**
 * Checks one narinfo against what was asked for and the cache key, and returns the claim to
 * publish. Pure but for the signature check (WebCrypto). Throws BridgeError: `malformed` for a
 * narinfo we cannot read exactly or that describes another path, `verification` for a missing or
 * bad signature.
 */
export async function nixFact(text: string, target: NixTarget, key: NixPublicKey): Promise<NixFact> {
  const info = parseNarInfo(text)
  if (info.hashPart !== target.hashPart || (target.storePath !== undefined && info.storePath !== target.storePath)) {
    throw new BridgeError('malformed', 'wrong_path', `${target.url} describes ${info.storePath}, not the path asked for (${target.storePath ?? target.hashPart})`)
  }
  const { sig } = await verifyNarInfo(info, key)
  const meta: JsonObject = {
    builder: 'nix',
    format: 'nar',
    cache: target.cache,
    narinfo: target.url,
    storePath: info.storePath,
    narSize: info.narSize,
    sig,
    references: info.references,
    ...(info.deriver !== undefined && { deriver: info.deriver }),
    ...(info.system !== undefined && { system: info.system }),
  }
  // A long closure does not fit in meta's 2048 bytes: the references go first (the signature can
  // then no longer be re-checked from the statement alone, which the docs say).
  if (new TextEncoder().encode(canonicalize(meta)).length > LIMITS.metaBytes) delete meta.references
  return { info, url: target.url, sig, claim: { subject: `nix:${info.storePath}`, claim: 'build', object: narHashSri(info), meta } }
}

export interface NixBridgeOptions extends BridgePublishOptions, Omit<FetchOptions, 'signal'> {
  /** Binary cache base URL; default https://cache.nixos.org. */
  cache?: string
  /** `<name>:<base64>`; default cache.nixos.org-1's key when the cache is cache.nixos.org. */
  cacheKey?: string
}

export interface NixOutcome {
  storePath: string
  narinfo: string
  narHash: string
  status: 'published' | 'already' | 'planned'
  id?: string
  deriver?: string
}

export interface NixBridgeResult {
  cache: string
  key: string
  paths: NixOutcome[]
  statements: VerifiedStatement[]
  relays: PublishReport[]
  dryRun: boolean
}

/**
 * Bridges store paths from a binary cache. Every narinfo is fetched and verified before anything
 * is signed: one bad or unsigned narinfo stops the run and nothing is published.
 */
export async function bridgeNix(targets: readonly string[], o: NixBridgeOptions): Promise<NixBridgeResult> {
  if (!Array.isArray(targets) || targets.length === 0) throw new RangeError('name at least one store path or narinfo URL')
  const cache = baseUrl(o.cache ?? DEFAULT_CACHE, 'cache')
  if (o.cacheKey === undefined && cache !== DEFAULT_CACHE) {
    throw new BridgeError('unsupported', 'no_cache_key', `no public key for ${cache}: give the cache's key (NAME:BASE64, as in Nix's trusted-public-keys)`)
  }
  const key = parseNixPublicKey(o.cacheKey ?? CACHE_NIXOS_ORG_KEY)
  const wanted = [...new Map(targets.map((t) => nixTarget(t, cache)).map((t) => [t.url, t])).values()]
  const facts = await mapLimit(wanted, o.concurrency ?? 8, async (t) => {
    const { bytes } = await getBytes(t.url, NARINFO_MAX_BYTES, { ...o, accept: 'text/x-nix-narinfo' }).catch((e) => {
      if (e instanceof BridgeError && e.kind === 'not_found') throw new BridgeError('not_found', 'no_narinfo', `${cache} does not have ${t.storePath ?? t.hashPart} (${t.url}: not found)`)
      throw e
    })
    return nixFact(decodeText(bytes, t.url), t, key)
  })
  const prior = await priorStatements(facts.map((f) => f.claim.subject), 'build', o)
  const paths: NixOutcome[] = []
  const planned: { claim: Claim; outcome: NixOutcome }[] = []
  for (const f of facts) {
    const outcome: NixOutcome = {
      storePath: f.info.storePath,
      narinfo: f.url,
      narHash: f.claim.object!,
      status: alreadySaid(prior, f.claim) ? 'already' : o.dryRun ? 'planned' : 'published',
      ...(f.info.deriver !== undefined && { deriver: f.info.deriver }),
    }
    paths.push(outcome)
    if (outcome.status !== 'already') planned.push({ claim: f.claim, outcome })
  }
  const published = await signAndPublish(planned.map((p) => p.claim), o)
  planned.forEach((p, i) => (p.outcome.id = published.statements[i]!.id))
  return { cache, key: formatNixPublicKey(key), paths, statements: published.statements, relays: published.relays, dryRun: o.dryRun === true }
}
