import { decodeBase64, formatSri, hex, utf8, verify, type Digest } from '../verify/index.ts'
import { BridgeError } from './errors.ts'
import { decodeNix32, encodeNix32, nix32Length } from './nix-base32.ts'

/**
 * Nix binary-cache metadata (`<hash>.narinfo`), parsed strictly, and the check of its Ed25519
 * signatures. Pure: no I/O. The format and the fingerprint follow Nix's `nar-info.cc` and
 * `ValidPathInfo::fingerprint`:
 *
 *   1;<StorePath>;sha256:<NarHash in nix32>;<NarSize>;<full store paths of References, sorted, comma-separated>
 *
 * Only those four fields are signed. URL, Compression, FileHash, FileSize, Deriver, System and CA
 * are not covered by any signature: a cache (or anyone between it and us) can change them freely,
 * so a bridge must never present them as what the cache's key vouched for.
 */

export interface NarInfo {
  storePath: string
  /** The `/nix/store` part of `storePath`. */
  storeDir: string
  /** The 32-character nix32 hash part of `storePath`. */
  hashPart: string
  url: string
  compression: string
  fileHash?: string
  fileSize?: number
  /** SHA-256 of the NAR serialisation (what `nix hash path` prints for the store path). */
  narHash: Digest
  narSize: number
  /** Base names (`<hash>-<name>`), as written, in the file's order. */
  references: string[]
  /** Base name of the deriver, absent for `unknown-deriver` or no line. Not signed. */
  deriver?: string
  system?: string
  ca?: string
  /** `Sig:` lines as written: `<key name>:<base64 of 64 bytes>`. */
  sigs: string[]
}

export interface NixPublicKey {
  name: string
  publicKey: Uint8Array
}

/** A narinfo larger than this is refused before parsing (real ones are well under 10 KiB). */
export const NARINFO_MAX_BYTES = 256 * 1024

const FIELDS = new Set(['StorePath', 'URL', 'Compression', 'FileHash', 'FileSize', 'NarHash', 'NarSize', 'References', 'Deriver', 'System', 'Sig', 'CA'])
const NIX32_CHARS = '[0123456789abcdfghijklmnpqrsvwxyz]'
// Nix's StorePath rules: a 32-character nix32 hash, a dash, and a name of at most 211 characters
// from [A-Za-z0-9+-._?=] that does not start with a period.
const BASE_NAME = new RegExp(`^(${NIX32_CHARS}{32})-((?!\\.)[A-Za-z0-9+\\-._?=]{1,211})$`)
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/

const corrupt = (message: string): never => {
  throw new BridgeError('malformed', 'bad_narinfo', message)
}

/** Splits `/nix/store/<hash>-<name>` into its store directory and base name, or undefined. */
export function splitStorePath(path: string): { storeDir: string; baseName: string; hashPart: string } | undefined {
  const slash = path.lastIndexOf('/')
  if (slash <= 0 || !path.startsWith('/')) return undefined
  const storeDir = path.slice(0, slash)
  const baseName = path.slice(slash + 1)
  const m = BASE_NAME.exec(baseName)
  if (!m || /\/\/|\/\.\.?(\/|$)/.test(storeDir) || storeDir.endsWith('/')) return undefined
  return { storeDir, baseName, hashPart: m[1]! }
}

/**
 * Parses a hash as Nix writes it in a narinfo: `<alg>:<nix32 | hex | base64>` (told apart by
 * length, as Nix's `Hash::parseAnyPrefixed` does) or SRI `<alg>-<base64>`.
 */
export function parseNixHash(s: string, field: string): Digest {
  const sizes = { sha1: 20, sha256: 32, sha512: 64 } as const
  const m = /^(sha1|sha256|sha512)([:-])(.+)$/.exec(s)
  if (!m) return corrupt(`${field} is not a hash (<alg>:<nix32>): ${JSON.stringify(s.slice(0, 100))}`)
  const alg = m[1] as keyof typeof sizes
  const size = sizes[alg]
  const body = m[3]!
  let bytes: Uint8Array | undefined
  if (m[2] === '-') bytes = decodeBase64(body)
  else if (body.length === nix32Length(size)) bytes = decodeNix32(body, size)
  else if (body.length === size * 2 && /^[0-9a-f]+$/.test(body)) bytes = hex.decode(body)
  else bytes = decodeBase64(body)
  if (!bytes || bytes.length !== size) return corrupt(`${field} is not a ${alg} hash in nix32, hex or base64: ${JSON.stringify(s.slice(0, 100))}`)
  return { alg, bytes }
}

/**
 * Parses a narinfo. Stricter than Nix, which skips unknown lines: here every line must be
 * `Name: value` with a known name, each field but `Sig` appears at most once, the file ends with
 * a newline, and every value is checked. A file we cannot read exactly is a file we do not vouch for.
 */
export function parseNarInfo(text: string): NarInfo {
  if (typeof text !== 'string') throw new TypeError('text must be a string')
  if (utf8(text).length > NARINFO_MAX_BYTES) corrupt(`the narinfo is larger than ${NARINFO_MAX_BYTES} bytes`)
  if (!text.endsWith('\n')) corrupt('the narinfo does not end with a newline (truncated?)')
  const seen = new Map<string, string>()
  const sigs: string[] = []
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((line, i) => {
    const m = /^([A-Za-z]+): (.*)$/.exec(line)
    if (!m) return corrupt(`line ${i + 1} is not "Name: value": ${JSON.stringify(line.slice(0, 100))}`)
    const [, name, value] = m as unknown as [string, string, string]
    if (!FIELDS.has(name)) return corrupt(`line ${i + 1}: unknown field ${JSON.stringify(name)}`)
    if (/[\u0000-\u001f\u007f]/.test(value)) return corrupt(`line ${i + 1}: ${name} contains a control character`)
    if (name === 'Sig') return void sigs.push(value)
    if (seen.has(name)) return corrupt(`line ${i + 1}: ${name} appears twice`)
    seen.set(name, value)
  })
  const required = (name: string) => seen.get(name) ?? corrupt(`the narinfo has no ${name}`)
  const size = (name: string, v: string) => {
    if (!DECIMAL.test(v) || !Number.isSafeInteger(Number(v))) corrupt(`${name} is not a decimal integer below 2^53: ${JSON.stringify(v.slice(0, 40))}`)
    return Number(v)
  }

  const storePath = required('StorePath')
  const split = splitStorePath(storePath) ?? corrupt(`StorePath is not a store path (/nix/store/<32 nix32 characters>-<name>): ${JSON.stringify(storePath.slice(0, 300))}`)
  const url = required('URL')
  if (url === '') corrupt('URL is empty')
  const narHash = parseNixHash(required('NarHash'), 'NarHash')
  if (narHash.alg !== 'sha256') corrupt(`NarHash must be sha256 (the fingerprint is defined only for it), got ${narHash.alg}`)
  const narSize = size('NarSize', required('NarSize'))
  if (narSize === 0) corrupt('NarSize is 0')
  const refsText = seen.get('References') ?? ''
  const references = refsText === '' ? [] : refsText.split(' ')
  for (const r of references) if (!BASE_NAME.test(r)) corrupt(`References: ${JSON.stringify(r.slice(0, 300))} is not a store path base name`)
  if (new Set(references).size !== references.length) corrupt('References lists a path twice')
  const deriverText = seen.get('Deriver')
  if (deriverText !== undefined && deriverText !== 'unknown-deriver' && !BASE_NAME.test(deriverText)) corrupt(`Deriver is not a store path base name: ${JSON.stringify(deriverText.slice(0, 300))}`)
  const compression = seen.get('Compression') ?? 'bzip2'
  if (!/^[a-z0-9]{1,16}$/.test(compression)) corrupt(`Compression is not a compression name: ${JSON.stringify(compression.slice(0, 40))}`)
  const fileHash = seen.get('FileHash')
  if (fileHash !== undefined) parseNixHash(fileHash, 'FileHash')
  const fileSizeText = seen.get('FileSize')
  const system = seen.get('System')
  if (system !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(system)) corrupt(`System is not a system name: ${JSON.stringify(system.slice(0, 80))}`)
  const ca = seen.get('CA')
  if (ca !== undefined && !/^(fixed|text):[!-~]{1,300}$/.test(ca)) corrupt(`CA is not a content address: ${JSON.stringify(ca.slice(0, 80))}`)
  for (const s of sigs) parseSig(s)
  return {
    storePath,
    storeDir: split.storeDir,
    hashPart: split.hashPart,
    url,
    compression,
    ...(fileHash !== undefined && { fileHash }),
    ...(fileSizeText !== undefined && { fileSize: size('FileSize', fileSizeText) }),
    narHash,
    narSize,
    references,
    ...(deriverText !== undefined && deriverText !== 'unknown-deriver' && { deriver: deriverText }),
    ...(system !== undefined && { system }),
    ...(ca !== undefined && { ca }),
    sigs,
  }
}

function parseSig(s: string): { keyName: string; sig: Uint8Array } {
  const colon = s.indexOf(':')
  const keyName = s.slice(0, colon)
  const sig = colon > 0 ? decodeBase64(s.slice(colon + 1)) : undefined
  if (!KEY_NAME.test(keyName) || !sig || sig.length !== 64) return corrupt(`Sig is not "<key name>:<base64 of a 64-byte signature>": ${JSON.stringify(s.slice(0, 120))}`)
  return { keyName, sig }
}

/**
 * A binary cache's public key as Nix writes it in `trusted-public-keys`:
 * `<name>:<base64 of 32 bytes>`, e.g. `cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=`.
 */
export function parseNixPublicKey(s: string): NixPublicKey {
  if (typeof s !== 'string') throw new TypeError('key must be a string')
  const colon = s.indexOf(':')
  const name = s.slice(0, colon)
  const publicKey = colon > 0 ? decodeBase64(s.slice(colon + 1).trim()) : undefined
  if (!KEY_NAME.test(name) || !publicKey || publicKey.length !== 32) {
    throw new BridgeError('unsupported', 'bad_cache_key', `not a Nix public key ("<name>:<base64 of 32 bytes>", e.g. cache.nixos.org-1:6NCH…): ${JSON.stringify(s.slice(0, 120))}`)
  }
  return { name, publicKey }
}

export const formatNixPublicKey = (k: NixPublicKey): string => `${k.name}:${btoa(String.fromCharCode(...k.publicKey))}`

/** The bytes a cache signs (Nix's `ValidPathInfo::fingerprint`), as a string. */
export function fingerprint(info: Pick<NarInfo, 'storePath' | 'storeDir' | 'narHash' | 'narSize' | 'references'>): string {
  const refs = info.references.map((r) => `${info.storeDir}/${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return `1;${info.storePath};sha256:${encodeNix32(info.narHash.bytes)};${info.narSize};${refs.join(',')}`
}

export interface SignatureCheck {
  /** The `Sig:` line that verified under the key. */
  sig: string
  fingerprint: string
}

/**
 * Checks that a `Sig:` by `key` verifies over the fingerprint, with the same strict Ed25519 rules
 * as statements (libsodium's, which Nix itself uses). Signatures by other keys are ignored, as
 * Nix ignores them. Throws BridgeError `verification` when no signature by this key name exists,
 * or when none of them verifies.
 */
export async function verifyNarInfo(info: NarInfo, key: NixPublicKey): Promise<SignatureCheck> {
  const fp = fingerprint(info)
  const mine = info.sigs.filter((s) => parseSig(s).keyName === key.name)
  if (mine.length === 0) {
    const names = info.sigs.map((s) => parseSig(s).keyName)
    throw new BridgeError('verification', 'unsigned', `${info.storePath} is not signed by ${key.name}${names.length ? ` (signed by ${names.join(', ')})` : ' (it has no signatures)'}`)
  }
  for (const s of mine) {
    if (await verify(parseSig(s).sig, utf8(fp), key.publicKey)) return { sig: s, fingerprint: fp }
  }
  throw new BridgeError('verification', 'bad_signature', `the signature by ${key.name} on ${info.storePath} does not verify (fingerprint ${fp.slice(0, 120)}…)`)
}

/** The NAR hash as an SRI string, the form statements use (and `nix hash path --sri` prints). */
export const narHashSri = (info: Pick<NarInfo, 'narHash'>): string => formatSri(info.narHash)
