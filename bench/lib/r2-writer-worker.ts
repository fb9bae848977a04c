/**
 * POST / with framed objects (bench/lib/log-builder.ts `frame`): puts each into BLOBS exactly as
 * the relay's putTile does (the SHA-256 for R2 to check, the same content type), all at once.
 * One request carries many objects, so the benchmark writes a 10M-statement log in minutes
 * instead of the relay's integration's one put per round trip. GET / answers 200 (readiness).
 */
import { unframe } from './r2-frame.ts'

interface Env {
  BLOBS: R2Bucket
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== 'POST') return new Response('ok')
    const objects = unframe(new Uint8Array(await request.arrayBuffer()))
    await Promise.all(
      objects.map(async (o) => {
        // As src/log/store.ts putTile writes a tile; the integrated mark is a plain put, as integrate() writes it.
        if (o.key === 'log/integrated') return env.BLOBS.put(o.key, new TextDecoder().decode(o.bytes))
        const sha256 = await crypto.subtle.digest('SHA-256', o.bytes)
        return env.BLOBS.put(o.key, o.bytes, { sha256, httpMetadata: { contentType: 'application/octet-stream' } })
      }),
    )
    return Response.json({ written: objects.length })
  },
}
