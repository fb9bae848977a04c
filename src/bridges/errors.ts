/**
 * Errors of the bridge stage. A bridge reads another system (a registry, a binary cache, a file)
 * and refuses what it cannot vouch for before anything is signed: every refusal is a
 * `BridgeError` whose `kind` says whose fault it is, so the CLI can map it to an exit code and a
 * scheduled job can tell a dead registry from a lying one.
 */
export type BridgeErrorKind =
  /** The source could not be reached, timed out, redirected, or sent more than the cap. */
  | 'network'
  /** The source answered that the thing does not exist (404, an unknown version). */
  | 'not_found'
  /** The source sent something malformed: bad JSON, a field of the wrong type, a bad hash. */
  | 'malformed'
  /** A signature or hash the source provided does not check out. */
  | 'verification'
  /** The caller asked for something the bridge does not do (an unsupported predicate, a bad key). */
  | 'unsupported'

export class BridgeError extends Error {
  override readonly name = 'BridgeError'
  constructor(
    readonly kind: BridgeErrorKind,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export const malformed = (code: string, message: string): never => {
  throw new BridgeError('malformed', code, message)
}
