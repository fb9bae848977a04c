import type { Context } from 'hono'
import { decodeStrictUtf8, parseJson, ProtocolError, type Json } from '../verify/index.ts'
import { ApiError } from './errors.ts'

/**
 * Reads a JSON request body without trusting it: the content type must be JSON, a declared
 * length over the cap is refused before reading, a body that grows past the cap is refused as
 * soon as it does (so an endless upload costs at most `maxBytes`), bytes must be UTF-8, and the
 * JSON is parsed strictly (duplicate keys, huge integers, deep nesting refused).
 */
/** How much of an unwanted body is read and discarded before cancelling (Workers' request cap). */
const DRAIN_MAX_BYTES = 100 * 1024 * 1024

/**
 * Reads and discards the rest of a request body the relay will not use. Cancelling a body the
 * client is still sending stalls wrangler dev's proxy (test/node/gossip.test.ts checks it), so
 * every early answer to an upload drains first, bounded, never buffering.
 */
export async function drainBody(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body) await drain(body.getReader(), DRAIN_MAX_BYTES)
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, max: number): Promise<void> {
  let n = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      n += value.byteLength
      if (n > max) return void (await reader.cancel())
    }
  } catch {
    // The client went away: nothing to drain.
  }
}

export async function readJsonBody(c: Context, maxBytes: number, maxDepth: number, maxMembers?: number): Promise<Json> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'send Content-Type: application/json')
  }
  const bytes = await readBodyBytes(c, maxBytes)
  if (bytes.length === 0) throw new ApiError(400, 'empty_body', 'the request has no body')
  const text = decodeStrictUtf8(bytes)
  if (text === undefined) throw new ApiError(400, 'invalid_utf8', 'body is not valid UTF-8 without a byte order mark')
  try {
    return parseJson(text, { maxDepth, ...(maxMembers !== undefined && { maxMembers }) })
  } catch (e) {
    // Too many members is too much of the body, as for a batch over its item limit.
    if (e instanceof ProtocolError && e.code === 'too_many_members') throw new ApiError(413, 'too_many_items', e.message)
    throw e
  }
}

/**
 * The whole request body, at most `maxBytes` (413 `body_too_large` beyond, after a bounded drain).
 * Empty when there is none.
 */
export async function readBodyBytes(c: Context, maxBytes: number): Promise<Uint8Array> {
  const declared = c.req.header('content-length')
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new ApiError(413, 'body_too_large', `body is larger than ${maxBytes} bytes`)
  }
  const body = c.req.raw.body
  if (!body) return new Uint8Array()
  const reader = body.getReader()
  const parts: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      // Answer now, and let the rest of the upload drain in the background (bounded) instead of
      // cancelling: cancelling a half-read request body stalls wrangler dev's proxy for minutes.
      await drain(reader, DRAIN_MAX_BYTES)
      throw new ApiError(413, 'body_too_large', `body is larger than ${maxBytes} bytes`)
    }
    parts.push(value)
  }
  const bytes = new Uint8Array(size)
  let o = 0
  for (const p of parts) bytes.set(p, o), (o += p.byteLength)
  return bytes
}
