/**
 * Exit codes are part of the CLI's interface (README, "Exit codes"); scripts branch on them.
 */
export const EXIT = {
  ok: 0,
  /** A statement or blob failed verification, a hash did not match, relays refused a statement. */
  verification: 1,
  /** Unknown command or option, a malformed argument. */
  usage: 2,
  /** No relay reachable, or fewer relays than the quorum took the statement. */
  network: 3,
  /** No relay holds the statement or blob; no claim for the package. */
  notFound: 4,
  /** A local problem: key file permissions, config, a file that cannot be read or written. */
  local: 5,
  /** A relay's log forked or rewound: it signed two inconsistent checkpoints (both are printed). */
  fork: 6,
  /** A bug in vouch. */
  internal: 70,
} as const

/** An error the user can act on: printed as `vouch: message` plus a hint, never with a stack. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    readonly exit: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export const usageError = (message: string, hint?: string) => new CliError(EXIT.usage, 'usage', message, hint)
export const localError = (code: string, message: string, hint?: string) => new CliError(EXIT.local, code, message, hint)
