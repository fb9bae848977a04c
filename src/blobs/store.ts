import type { Digest } from '../verify/index.ts'
import { formatSri, hex } from '../verify/index.ts'

/** The hash algorithms R2 can check on put, and so the only ones a blob may be named by. */
export const BLOB_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const

export const blobKey = (d: Digest) => `blobs/${d.alg}/${hex.encode(d.bytes)}`

/** Raised when R2 refuses bytes whose digest is not their name. Nothing was stored. */
export class HashMismatch extends Error {
  override readonly name = 'HashMismatch'
}

/**
 * Streams `body` into R2 under its hash. R2 computes the digest while writing and refuses the
 * object if it differs, so a blob is never stored under a wrong name, and the bytes are never
 * held in memory. `body` must have a known length (a request or response body with
 * Content-Length): R2 needs it.
 */
export async function putBlob(bucket: R2Bucket, d: Digest, body: ReadableStream): Promise<R2Object> {
  try {
    const obj = await bucket.put(blobKey(d), body, {
      [d.alg]: hex.encode(d.bytes),
      httpMetadata: { contentType: 'application/octet-stream' },
      customMetadata: { hash: formatSri(d) },
    })
    if (!obj) throw new Error('R2 put returned null')
    return obj
  } catch (e) {
    if (/checksum|digest|does not match|mismatch|BadDigest|sha/i.test(String((e as Error)?.message))) {
      throw new HashMismatch(`the bytes do not hash to ${formatSri(d)}`, { cause: e })
    }
    throw e
  }
}

/**
 * The request body as R2 takes it (of known length), watched: `incomplete()` tells, after a failed
 * put, whether the uploader's stream broke or ended short of `size` (its fault: a 4xx) rather than
 * storage failing (ours: a 500). Either way R2 keeps nothing of a put that did not complete.
 */
export function watchedBody(body: ReadableStream<Uint8Array>, size: number): { stream: ReadableStream<Uint8Array>; incomplete: () => boolean } {
  const reader = body.getReader()
  let got = 0
  let broken = false
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let r
      try {
        r = await reader.read()
      } catch (e) {
        broken = true
        return controller.error(e)
      }
      if (r.done) {
        broken ||= got < size
        return controller.close()
      }
      got += r.value.byteLength
      broken ||= got > size
      controller.enqueue(r.value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return { stream: source.pipeThrough(new FixedLengthStream(size)), incomplete: () => broken }
}
