/**
 * Every refusal in the protocol layer is a `ProtocolError` with a stable, machine-readable
 * `code`. Codes are part of the protocol (docs/PROTOCOL.md lists them, test vectors name them),
 * so a client and a relay written by different teams refuse the same input for the same reason.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
