/** Building and signing statements: checked here with a relay's own rules before anything is sent. */
import {
  base64url,
  encodeDidKey,
  ensureStatementShape,
  ProtocolError,
  sign as ed25519Sign,
  signingBytes,
  verifyStatement,
  type JsonObject,
  type KeyPair,
  type Statement,
  type UnsignedStatement,
  type VerifiedStatement,
} from '../verify/index.ts'

/** What a caller states; the client fills in `v` and, unless given, `time`. */
export interface StatementFields {
  actor: string
  subject: string
  claim: string
  object?: string
  /** `true` for the negative form ("IS NOT"); `false` or absent for a positive claim. */
  not?: boolean
  meta?: JsonObject
  /** Milliseconds since the epoch; default now. */
  time?: number
}

/**
 * Builds an unsigned statement and checks its shape now, so a mistake (a hash in the wrong form,
 * an unknown DID method, a claim with capitals) is reported before anything is signed or sent.
 * Throws ProtocolError with the code a relay would give.
 */
export function createStatement(fields: StatementFields): UnsignedStatement {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('fields must be an object')
  const s: UnsignedStatement = {
    v: 1,
    actor: fields.actor,
    subject: fields.subject,
    claim: fields.claim,
    ...(fields.object !== undefined && { object: fields.object }),
    ...(fields.not === true && { not: true as const }),
    time: fields.time ?? Date.now(),
    ...(fields.meta !== undefined && { meta: fields.meta }),
  }
  if (fields.not !== undefined && typeof fields.not !== 'boolean') throw new TypeError('not must be a boolean')
  ensureStatementShape({ ...s, sig: 'A'.repeat(86) })
  return s
}

/**
 * Something that can sign for an actor: a key in memory, an ssh-agent, a hardware token.
 * `sign` receives the exact signing input (domain prefix + canonical statement) and returns the
 * 64-byte Ed25519 signature.
 */
export interface Signer {
  did: string
  sign(message: Uint8Array): Promise<Uint8Array>
}

export function keySigner(key: KeyPair): Signer {
  if (!(key?.secretKey instanceof Uint8Array) || !(key.publicKey instanceof Uint8Array)) throw new TypeError('key must be a KeyPair')
  const secretKey = key.secretKey
  return { did: encodeDidKey(key.publicKey), sign: (m) => ed25519Sign(m, secretKey) }
}

const isSigner = (x: unknown): x is Signer =>
  typeof x === 'object' && x !== null && typeof (x as Signer).did === 'string' && typeof (x as Signer).sign === 'function'

/**
 * Results of `sign` in this process: verified once, frozen (their `canonical` and `id`, which are
 * what `publish` sends, cannot be reassigned), so `publish` need not verify them again. A WeakSet
 * cannot be forged into; any other object is verified.
 */
const signedHere = new WeakSet<VerifiedStatement>()

/** Whether `v` came from `sign` in this process, so `publish` may skip verifying it again. */
export const isSignedHere = (v: VerifiedStatement): boolean => signedHere.has(v)

/**
 * Signs a statement and verifies the result with the same checks a relay runs, so a signer that
 * misbehaves (a wrong key in an agent, a clock far ahead) fails here and not on every relay.
 */
export async function sign(statement: UnsignedStatement, signer: Signer | KeyPair): Promise<VerifiedStatement> {
  const s = isSigner(signer) ? signer : keySigner(signer)
  if (statement.actor !== s.did) throw new RangeError(`statement actor ${statement.actor} is not the signer's key ${s.did}`)
  const { sig: _ignored, ...body } = statement as Statement
  ensureStatementShape({ ...body, sig: 'A'.repeat(86) })
  const sig = await s.sign(signingBytes(body))
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new TypeError('signer must return a 64-byte signature')
  try {
    const v = Object.freeze(await verifyStatement({ ...body, sig: base64url.encode(sig) }, { now: Date.now() }))
    signedHere.add(v)
    return v
  } catch (e) {
    if (e instanceof ProtocolError && e.code === 'bad_signature') throw new ProtocolError('bad_signature', `the signer for ${s.did} produced a signature that does not verify`, { cause: e })
    throw e
  }
}
