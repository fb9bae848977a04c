import { ProtocolError } from './errors.ts'
import { parseJson, type Json, type ParseOptions } from './json.ts'

/**
 * The one strict bytes → text rule for everything vouch reads from the network or a file: valid
 * UTF-8, and no byte order mark. RFC 8259 §8.1 says senders MUST NOT add one; readers may ignore
 * it, but two readers that differ (one strips it, one sees U+FEFF) disagree about the same bytes,
 * so every reader here refuses it. `ignoreBOM: true` keeps a BOM in the output so it can be seen.
 */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 bytes as text; `invalid_utf8` for invalid UTF-8 or a leading byte order mark. */
export function decodeUtf8(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new ProtocolError('invalid_utf8', 'text starts with a byte order mark (RFC 8259 §8.1: senders must not add one)')
  try {
    return decoder.decode(bytes)
  } catch (e) {
    throw new ProtocolError('invalid_utf8', 'text is not valid UTF-8', { cause: e })
  }
}

/** `decodeUtf8`, or undefined where the caller has its own error to raise. */
export function decodeStrictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decodeUtf8(bytes)
  } catch (e) {
    if (e instanceof ProtocolError) return undefined
    throw e
  }
}

/** Strict JSON from bytes: `decodeUtf8`, then the protocol's strict parser. */
export function parseJsonBytes(bytes: Uint8Array, options: ParseOptions): Json {
  return parseJson(decodeUtf8(bytes), options)
}
