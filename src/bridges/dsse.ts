import { base64, concat, decodeStrictUtf8, decodeBase64, decodeDidKey, decodeHex, equalBytes, hex, parseJson, ProtocolError, utf8, verify, weakKeyReason, type Json } from '../verify/index.ts'
import { BridgeError } from './errors.ts'

/**
 * DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol v1.0.0), with
 * Ed25519 signatures checked by the same strict rules as statements. A signature covers
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * where `type` is the UTF-8 payload type, `body` the payload bytes, LEN the decimal byte length
 * and SP one space (0x20). The envelope is JSON: `{payload: base64(body), payloadType,
 * signatures: [{keyid?, sig: base64}]}`; base64 may be standard or URL-safe, padded or not (the
 * spec requires verifiers to accept both); unknown members are ignored, as the spec requires.
 */

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'
/** Envelope files larger than this are refused before parsing. */
export const ENVELOPE_MAX_BYTES = 8 * 1024 * 1024

export function pae(payloadType: string, body: Uint8Array): Uint8Array {
  if (typeof payloadType !== 'string') throw new TypeError('payloadType must be a string')
  if (!(body instanceof Uint8Array)) throw new TypeError('body must be a Uint8Array')
  const type = utf8(payloadType)
  return concat(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${body.length} `), body)
}

export interface Envelope {
  payloadType: string
  payload: Uint8Array
  signatures: { keyid?: string; sig: Uint8Array }[]
}

/** The envelope as JSON: standard base64, `keyid` only when set. */
export interface EnvelopeJson {
  payloadType: string
  payload: string
  signatures: { keyid?: string; sig: string }[]
}

const bad = (message: string): never => {
  throw new BridgeError('malformed', 'bad_envelope', message)
}

/** Standard or URL-safe base64, padding optional; one spelling per byte string otherwise. */
export function decodeDsseBase64(s: string): Uint8Array | undefined {
  if (/[-_]/.test(s) && /[+/]/.test(s)) return undefined // two alphabets at once
  const std = s.replace(/-/g, '+').replace(/_/g, '/')
  const bare = std.replace(/=+$/, '')
  if (std.length !== bare.length && std.length % 4 !== 0) return undefined // padding, but wrong
  if (bare.length % 4 === 1) return undefined
  return decodeBase64(bare + '='.repeat((4 - (bare.length % 4)) % 4))
}

/**
 * Parses a JSON envelope strictly: valid UTF-8, no duplicate member names (two readers of one
 * signed file must see the same payload), `payload` and `payloadType` strings, `signatures` a
 * non-empty array of `{sig, keyid?}`.
 */
export function parseEnvelope(bytes: Uint8Array): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  if (bytes.length > ENVELOPE_MAX_BYTES) bad(`the envelope is larger than ${ENVELOPE_MAX_BYTES} bytes`)
  const text = decodeStrictUtf8(bytes)
  if (text === undefined) return bad('the envelope is not valid UTF-8 without a byte order mark')
  let doc: Json
  try {
    doc = parseJson(text, { maxDepth: 32 })
  } catch (e) {
    return bad(`the envelope is not strict JSON (${e instanceof ProtocolError ? `${e.code}: ` : ''}${(e as Error).message})`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('the envelope is not a JSON object')
  const { payload, payloadType, signatures } = doc as Record<string, Json>
  if (typeof payloadType !== 'string') bad('payloadType is missing or not a string')
  if (typeof payload !== 'string') bad('payload is missing or not a string')
  const body = decodeDsseBase64(payload as string) ?? bad('payload is not base64')
  if (!Array.isArray(signatures) || signatures.length === 0) return bad('signatures is missing or empty')
  if (signatures.length > 64) bad('more than 64 signatures')
  const sigs = signatures.map((s, i) => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return bad(`signatures[${i}] is not an object`)
    const { sig, keyid } = s as Record<string, Json>
    if (typeof sig !== 'string') return bad(`signatures[${i}].sig is missing or not a string`)
    if (keyid !== undefined && typeof keyid !== 'string') return bad(`signatures[${i}].keyid is not a string`)
    const raw = decodeDsseBase64(sig) ?? bad(`signatures[${i}].sig is not base64`)
    return { ...(keyid !== undefined && keyid !== '' && { keyid }), sig: raw }
  })
  return { payloadType: payloadType as string, payload: body, signatures: sigs }
}

export interface TrustedKey {
  /** The name the envelope's `keyid` may use for this key (a hint only, never trusted). */
  keyid?: string
  publicKey: Uint8Array
}

export interface VerifyEnvelopeOptions {
  /** Distinct trusted keys whose signature must verify; default 1. */
  threshold?: number
  /** Payload types accepted; default the in-toto type only. */
  payloadTypes?: readonly string[]
}

/**
 * DSSE's (t, n) verification: every signature is checked against the trusted keys (narrowed by
 * `keyid` when a trusted key carries that keyid; the keyid is otherwise ignored), each key counts
 * once, and at least `threshold` distinct keys must verify. Then the payload type must be one
 * we accept. Returns the keys that verified; throws BridgeError `verification`.
 */
export async function verifyEnvelope(env: Envelope, keys: readonly TrustedKey[], o: VerifyEnvelopeOptions = {}): Promise<TrustedKey[]> {
  const threshold = o.threshold ?? 1
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new RangeError(`threshold must be a positive integer, got ${threshold}`)
  if (!Array.isArray(keys) || keys.length === 0) throw new RangeError('at least one trusted key is needed')
  for (const k of keys) {
    if (!(k?.publicKey instanceof Uint8Array)) throw new TypeError('trusted keys must have a publicKey Uint8Array')
    const weak = weakKeyReason(k.publicKey)
    if (weak) throw new BridgeError('unsupported', 'weak_key', `trusted key${k.keyid ? ` ${k.keyid}` : ''}: ${weak}`)
  }
  const message = pae(env.payloadType, env.payload)
  const accepted: TrustedKey[] = []
  for (const s of env.signatures) {
    const named = s.keyid === undefined ? [] : keys.filter((k) => k.keyid === s.keyid)
    for (const k of named.length ? named : keys) {
      if (accepted.some((a) => equalBytes(a.publicKey, k.publicKey))) continue
      if (await verify(s.sig, message, k.publicKey)) {
        accepted.push(k)
        break
      }
    }
    if (accepted.length >= threshold) break
  }
  if (accepted.length < threshold) {
    throw new BridgeError(
      'verification',
      'bad_signature',
      accepted.length === 0
        ? `no signature on the envelope verifies with the ${keys.length === 1 ? 'given key' : `${keys.length} given keys`} (over DSSEv1 PAE of ${JSON.stringify(env.payloadType)})`
        : `only ${accepted.length} of the required ${threshold} keys signed the envelope`,
    )
  }
  const types = o.payloadTypes ?? [INTOTO_PAYLOAD_TYPE]
  if (!types.includes(env.payloadType)) throw new BridgeError('unsupported', 'unsupported_payload_type', `payload type ${JSON.stringify(env.payloadType)} is not supported (expected ${types.join(' or ')})`)
  return accepted
}

export interface EnvelopeSigner {
  /** Written as the signature's keyid (vouch writes the signer's did:key). */
  keyid?: string
  sign(message: Uint8Array): Promise<Uint8Array>
}

/** Signs `body` as a one-signature envelope. */
export async function signEnvelope(payloadType: string, body: Uint8Array, signer: EnvelopeSigner): Promise<EnvelopeJson> {
  const sig = await signer.sign(pae(payloadType, body))
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new TypeError('signer must return a 64-byte Ed25519 signature')
  return { payloadType, payload: base64.encode(body), signatures: [{ ...(signer.keyid !== undefined && { keyid: signer.keyid }), sig: base64.encode(sig) }] }
}

const SPKI_ED25519 = hex.decode('302a300506032b6570032100')

/**
 * An Ed25519 public key as people hand them around: a did:key, 64 hex digits, base64 of the 32
 * bytes, or a PEM/DER SubjectPublicKeyInfo (what `openssl pkey -pubout` and securesystemslib
 * write). Throws BridgeError `unsupported` for anything else.
 */
export function parsePublicKey(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('key must be a string')
  const t = text.trim()
  const fromDid = t.startsWith('did:') ? decodeDidKey(t) : undefined
  if (fromDid) return fromDid
  const pem = /^-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----$/.exec(t)
  const der = pem ? decodeBase64(pem[1]!.replace(/\s+/g, '')) : undefined
  if (der && der.length === 44 && equalBytes(der.subarray(0, 12), SPKI_ED25519)) return der.slice(12)
  const raw = /^[0-9a-fA-F]{64}$/.test(t) ? decodeHex(t.toLowerCase()) : decodeDsseBase64(t)
  if (raw?.length === 32) return raw
  if (raw?.length === 44 && equalBytes(raw.subarray(0, 12), SPKI_ED25519)) return raw.slice(12)
  throw new BridgeError('unsupported', 'bad_public_key', 'not an Ed25519 public key (a did:key, 64 hex digits, base64 of 32 bytes, or a PEM "BEGIN PUBLIC KEY" block)')
}
