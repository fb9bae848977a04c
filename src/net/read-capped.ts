/** Raised by `readCapped` when a body passes its cap; callers turn it into their own error. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge'
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`)
  }
}

/**
 * Reads a response body into memory, never more than `maxBytes`: the stream is cancelled as soon
 * as it passes the cap, so a hostile server costs at most the cap. Shared by every outbound path
 * (relay gossip, identity proofs, bridges, the client); other read errors propagate unchanged.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array()
  const parts: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new BodyTooLarge(maxBytes)
    }
    parts.push(value)
  }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(size)
  let off = 0
  for (const p of parts) out.set(p, off), (off += p.byteLength)
  return out
}
