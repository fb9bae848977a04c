import type { Evidence } from '../verify/index.ts'
/**
 * Errors of the client stage. A relay that fails or lies is not an exception: it is a
 * `RelayReport` with a `problem`, returned next to the answers of the relays that behaved, so a
 * caller can warn about it and carry on. A `ClientError` is thrown only when the operation as a
 * whole could not be done (no relay answered, too few accepted, every answer was wrong), and it
 * carries the reports that explain why.
 */

/** What went wrong with one relay. */
export interface RelayProblem {
  /**
   * `network`: no usable HTTP answer (refused, timeout, redirect, body too large, aborted);
   * `http`: an error status from the relay (its `{error: {code}}` when it sent one);
   * `invalid`: the relay answered, but what it sent failed verification (bad signature, wrong
   * hash, a statement that does not match the query, malformed JSON). Its answer was dropped.
   */
  kind: 'network' | 'http' | 'invalid'
  code: string
  message: string
  /** HTTP status, for `http` problems. */
  status?: number
}

export interface RelayReport {
  relay: string
  ok: boolean
  problem?: RelayProblem
}

export type ClientErrorCode =
  /** No relay gave a usable answer because of network or HTTP failures. */
  | 'unreachable'
  /** Fewer relays than the quorum took the statements. */
  | 'quorum'
  /** Relays refused the statements (they failed the relay's checks). */
  | 'rejected'
  /** Every relay that answered said it does not hold the statement or blob. */
  | 'not_found'
  /** Every answer that arrived failed verification. */
  | 'mismatch'
  /** A relay's log rewound or forked: it signed two checkpoints that are not consistent (LogForkError). */
  | 'fork'

export class ClientError extends Error {
  override readonly name = 'ClientError'
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly reports: readonly RelayReport[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Two checkpoints one relay signed that cannot both be true: portable proof that its log forked or rewound. */
export interface ForkEvidence {
  relay: string
  origin: string
  /** The key both notes are signed with (signed-note verifier key form). */
  verifierKey: string
  /** The checkpoint kept from before, and the one the relay served now: both signed notes, verbatim. */
  kept: string
  received: string
  /** Why they are inconsistent: a different root at one size, or a consistency proof that fails. */
  reason: string
  /**
   * The same, as evidence anyone can check without the relay (PROTOCOL §6.12): the two notes, the
   * smaller tree first, and the proof path from the larger tree. Absent when the relay no longer
   * serves the larger tree's hashes (a rewind), since a failed proof alone proves nothing.
   */
  equivocation?: Evidence
}

/**
 * A relay forked or rewound its log. Thrown whatever other relays answered: a relay that shows
 * different histories to different clients is the attack the log exists to catch, so the command
 * fails and shows the two signed checkpoints.
 */
export class LogForkError extends ClientError {
  constructor(readonly evidence: ForkEvidence) {
    super('fork', `${evidence.relay} forked its log ${evidence.origin}: ${evidence.reason}. Both checkpoints are signed by its key ${evidence.verifierKey}:\n--- kept\n${evidence.kept}--- received\n${evidence.received}`, [
      { relay: evidence.relay, ok: false, problem: { kind: 'invalid', code: 'log_fork', message: `${evidence.relay} forked its log: ${evidence.reason}` } },
    ])
  }
}

/** Internal: thrown inside one relay's exchange, caught and turned into its report. */
export class RelayProblemError extends Error {
  override readonly name = 'RelayProblemError'
  constructor(
    readonly problem: RelayProblem,
    options?: { cause?: unknown },
  ) {
    super(problem.message, options)
  }
}

/**
 * The error for an operation none of whose relays succeeded. A lying relay outranks a dead one:
 * if any answer failed verification, that is what the caller must hear about.
 */
export function failureFrom(what: string, reports: readonly RelayReport[]): ClientError {
  const problems = reports.filter((r) => r.problem)
  const detail = summarise(problems)
  if (problems.some((r) => r.problem!.kind === 'invalid')) {
    return new ClientError('mismatch', `${what}: every answer failed verification (${detail})`, reports)
  }
  if (problems.length > 0 && problems.every((r) => r.problem!.kind === 'http' && r.problem!.status === 404)) {
    return new ClientError('not_found', `${what}: not found on ${problems.length === 1 ? 'the relay' : `any of ${problems.length} relays`}`, reports)
  }
  if (problems.length === 0) return new ClientError('unreachable', `${what}: no relays given`, reports)
  return new ClientError('unreachable', `${what}: no relay answered (${detail})`, reports)
}

/** Relays named in one message, and characters of each problem: a long list stays readable (all are in `reports`). */
const SHOWN_RELAYS = 5
const SHOWN_CHARS = 300

function summarise(problems: readonly RelayReport[]): string {
  const cut = (m: string) => (m.length > SHOWN_CHARS ? `${m.slice(0, SHOWN_CHARS)}…` : m)
  const shown = problems.slice(0, SHOWN_RELAYS).map((r) => cut(r.problem!.message.includes(r.relay) ? r.problem!.message : `${r.relay}: ${r.problem!.message}`))
  const more = problems.length - shown.length
  return shown.join('; ') + (more > 0 ? `; and ${more} more relay${more === 1 ? '' : 's'}` : '')
}
