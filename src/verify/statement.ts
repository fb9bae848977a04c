import { createHash } from 'node:crypto'
import { base64url, decodeBase64url, utf8 } from './bytes.ts'
import { decodeDidKey } from './did-key.ts'
import { sign, verify, weakKeyReason, weakSignatureReason } from './ed25519.ts'
import { ProtocolError } from './errors.ts'
import { isGitoid, looksLikeGitoid } from './gitoid.ts'
import { formatSri, looksLikeHash, parseSri, sha256 } from './hash.ts'
import { canonicalize, type Json, type JsonObject } from './json.ts'
import { LIMITS } from './limits.ts'

/**
 * A vouch statement (protocol v1): `actor` claims `claim` of `subject` (with value `object`) at
 * `time`, or, with `not: true`, claims that it is NOT so. docs/PROTOCOL.md is the specification.
 */
export interface UnsignedStatement {
  v: 1
  actor: string
  subject: string
  claim: string
  object?: string
  not?: true
  time: number
  meta?: JsonObject
}

export interface Statement extends UnsignedStatement {
  /** Ed25519 signature, base64url without padding (86 characters). */
  sig: string
}

/** A statement that passed every check, with what the relay stores. */
export interface VerifiedStatement {
  statement: Statement
  /** SHA-256 of `canonical`, as SRI. */
  id: string
  /** RFC 8785 canonical form of the signed statement. */
  canonical: string
}

/** Domain separation: a vouch signature can never be replayed as a signature over anything else. */
export const SIGNING_PREFIX = 'vouch-statement-v1\n'

const FIELDS = new Set(['v', 'actor', 'subject', 'claim', 'object', 'not', 'time', 'meta', 'sig'])
const CLAIM = /^[a-z][a-z0-9._:/-]*$/
// C0 and C1 controls and DEL: invisible, and a hazard in logs and terminals.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

const refuse = (code: string, message: string): never => {
  throw new ProtocolError(code, message)
}

function checkTerm(name: 'subject' | 'object', value: unknown): string {
  if (typeof value !== 'string') return refuse('bad_type', `${name} must be a string`)
  if (value.length === 0) return refuse(`bad_${name}`, `${name} must not be empty`)
  // UTF-8 is at most 3 bytes per UTF-16 unit, so short strings need no encoding to be measured.
  if (value.length > LIMITS.termBytes || (value.length * 3 > LIMITS.termBytes && utf8(value).length > LIMITS.termBytes)) {
    return refuse(`bad_${name}`, `${name} is longer than ${LIMITS.termBytes} bytes`)
  }
  if (CONTROL.test(value)) return refuse(`bad_${name}`, `${name} contains a control character`)
  if (!value.isWellFormed()) return refuse(`bad_${name}`, `${name} contains a lone surrogate`)
  if (looksLikeHash(value) && !parseSri(value)) {
    return refuse('bad_hash', `${name} looks like a hash but is not a canonical SRI string (sha256-<base64>)`)
  }
  if (looksLikeGitoid(value) && !isGitoid(value)) {
    return refuse('bad_hash', `${name} looks like a git object id but is not a canonical gitoid (gitoid:<blob|tree|commit|tag>:<sha1|sha256>:<lowercase hex>)`)
  }
  if (value.startsWith('did:') && !decodeDidKey(value)) {
    return refuse('bad_did', `${name} names a DID that is not an Ed25519 did:key`)
  }
  return value
}

function checkMeta(value: unknown): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse('bad_meta', 'meta must be an object')
  }
  const walk = (v: Json, depth: number): void => {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      refuse('bad_meta', 'numbers in meta must be integers within ±(2^53 - 1); write other numbers as strings')
    }
    if (typeof v === 'string' && !v.isWellFormed()) refuse('bad_meta', 'meta contains a lone surrogate')
    if (typeof v !== 'object' || v === null) return
    if (depth > LIMITS.metaDepth) refuse('bad_meta', `meta is nested deeper than ${LIMITS.metaDepth}`)
    if (!Array.isArray(v)) for (const k of Object.keys(v)) if (!k.isWellFormed()) refuse('bad_meta', 'a meta key contains a lone surrogate')
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x, depth + 1)
  }
  walk(value as Json, 1)
  if (utf8(canonicalize(value as Json)).length > LIMITS.metaBytes) {
    refuse('bad_meta', `meta is larger than ${LIMITS.metaBytes} bytes`)
  }
  return value as JsonObject
}

/**
 * Checks the shape of a parsed statement and returns it typed. Pure and synchronous: no clock,
 * no signature (see `verifyStatement`). Unknown fields are refused: v1 is closed, and anything
 * else a publisher wants to say goes in `meta`, which the signature covers.
 */
export function ensureStatementShape(value: unknown): Statement {
  return checkShape(value).statement
}

interface Checked {
  statement: Statement
  publicKey: Uint8Array
  sig: Uint8Array
}

function checkShape(value: unknown): Checked {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse('not_object', 'a statement must be a JSON object')
  }
  const o = value as Record<string, unknown>
  if (o.v !== 1) return refuse('unsupported_version', `unsupported statement version ${JSON.stringify(o.v ?? null)}; this relay speaks v1`)
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) refuse('unknown_field', `unknown field ${JSON.stringify(k)}; put extensions in meta`)
  for (const k of ['actor', 'subject', 'claim', 'time', 'sig']) if (!(k in o)) refuse('missing_field', `missing field ${k}`)

  const publicKey = typeof o.actor === 'string' ? decodeDidKey(o.actor) : undefined
  if (!publicKey) return refuse('bad_actor', 'actor must be an Ed25519 did:key (did:key:z6Mk…)')
  checkTerm('subject', o.subject)
  if (typeof o.claim !== 'string') return refuse('bad_type', 'claim must be a string')
  if (o.claim.length > LIMITS.claimLength || !CLAIM.test(o.claim)) {
    return refuse('bad_claim', `claim must match ${CLAIM.source} and be at most ${LIMITS.claimLength} characters`)
  }
  if ('object' in o) checkTerm('object', o.object)
  if ('not' in o && o.not !== true) return refuse('bad_not', 'not must be true when present; omit it for a positive claim')
  if (typeof o.time !== 'number' || !Number.isSafeInteger(o.time) || o.time < 0) {
    return refuse('bad_time', 'time must be a non-negative integer of milliseconds since the epoch')
  }
  if ('meta' in o) checkMeta(o.meta)
  const sig = typeof o.sig === 'string' && o.sig.length === 86 ? decodeBase64url(o.sig) : undefined
  if (!sig) return refuse('bad_sig_encoding', 'sig must be 64 bytes in unpadded base64url (86 characters)')
  return { statement: o as unknown as Statement, publicKey, sig }
}

export function unsigned(s: Statement | UnsignedStatement): UnsignedStatement {
  const { sig: _sig, ...rest } = s as Statement
  return rest
}

/** The bytes an actor signs: the domain prefix, then the JCS form of the statement without `sig`. */
export const signingBytes = (s: UnsignedStatement): Uint8Array => utf8(SIGNING_PREFIX + canonicalize(unsigned(s) as unknown as Json))

export interface VerifyOptions {
  /** Current time in ms; statements dated after now + skew are refused. */
  now: number
  skewMs?: number
}

/**
 * Everything a relay or client must check before believing a statement: shape, size, clock,
 * key strength and signature. Returns the id and canonical bytes; throws ProtocolError.
 */
export async function verifyStatement(value: unknown, options: VerifyOptions): Promise<VerifiedStatement> {
  const { statement, publicKey, sig } = checkShape(value)
  const canonical = canonicalize(statement as unknown as Json)
  const bytes = utf8(canonical)
  if (bytes.length > LIMITS.statementBytes) refuse('too_large', `statement is larger than ${LIMITS.statementBytes} bytes`)
  const skew = options.skewMs ?? LIMITS.futureSkewMs
  if (statement.time > options.now + skew) {
    refuse('future_time', `time is more than ${skew} ms in the future`)
  }
  const weak = weakKeyReason(publicKey)
  if (weak) refuse('weak_key', `actor ${weak}`)
  const weakSig = weakSignatureReason(sig)
  if (weakSig) refuse('bad_signature', weakSig)
  const ok = await verify(sig, signingBytes(statement), publicKey)
  if (!ok) refuse('bad_signature', 'signature does not verify')
  return { statement, id: idOf(bytes), canonical }
}

/**
 * The id, hashed synchronously with node:crypto (native in Node and in workerd with
 * nodejs_compat, as the log's hashes are: src/verify/tlog.ts): an awaited WebCrypto digest cost
 * a lockfile check ~50 µs of main-thread time a statement, a hundred times the hash.
 */
const idOf = (canonicalBytes: Uint8Array): string => formatSri({ alg: 'sha256', bytes: new Uint8Array(createHash('sha256').update(canonicalBytes).digest()) })

/** Signs a statement (fills `sig`) with a 32-byte Ed25519 seed. */
export async function signStatement(s: UnsignedStatement, secretKey: Uint8Array): Promise<Statement> {
  const body = unsigned(s)
  ensureStatementShape({ ...body, sig: 'A'.repeat(86) })
  const sig = await sign(signingBytes(body), secretKey)
  return { ...body, sig: base64url.encode(sig) }
}

/** The id of a statement: SHA-256 of its canonical signed form, as SRI. */
export async function statementId(s: Statement): Promise<string> {
  return formatSri(await sha256(utf8(canonicalize(s as unknown as Json))))
}
