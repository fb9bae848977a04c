/**
 * Baseline for the blobs benchmark: local R2 with nothing around it. No hash check, no admission,
 * no head before the put, no Workers cache, no response headers of its own. Used only by
 * bench/blobs.ts (config: bench/r2-worker.toml), which calls it over HTTP exactly as it calls the
 * relay, so the ratio between the two is the relay's own cost.
 *
 *   PUT /<key>   env.BUCKET.put(key, request.body) (the request must have Content-Length) → 201 {key, size}
 *   GET /<key>   env.BUCKET.get(key) → 200 with the body; `Range: bytes=a-b` → 206 with that range
 *   GET /        200 (the benchmark's readiness probe)
 *
 * The baseline requests carry no query. For the benchmark's "where the time goes" rows, a second
 * instance is asked to add, one at a time, what the relay does around the same R2 calls
 * (`?with=head,checksum,cache,headers`, any of):
 *   head      `BUCKET.head(key)` first (the relay's "do I have it" before a put, and its size before a get)
 *   checksum  put with the sha256 (the key's last segment, hex) for R2 to check, and the relay's metadata
 *   cache     full GETs: look in the Workers cache first (the benchmark's reads miss), answer with
 *             `cache-control: immutable` and put a clone in the cache in waitUntil
 *   headers   the relay's other response headers (type, nosniff, disposition, CSP, etag, length)
 */

interface Env {
  BUCKET: R2Bucket
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url)
    const key = url.pathname.slice(1)
    if (key === '') return new Response('ok')
    const want = new Set((url.searchParams.get('with') ?? '').split(',').filter(Boolean))
    const cacheKey = () => new Request(`https://bench-cache/${key}`)
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get('range') ?? '')
    if (request.method === 'GET' && !range && want.has('cache')) await caches.default.match(cacheKey())
    if (want.has('head')) await env.BUCKET.head(key)
    if (request.method === 'PUT') {
      const hex = key.slice(key.lastIndexOf('/') + 1)
      const obj = want.has('checksum')
        ? await env.BUCKET.put(key, request.body, {
            sha256: hex,
            httpMetadata: { contentType: 'application/octet-stream' },
            customMetadata: { hash: `sha256:${hex}` },
          })
        : await env.BUCKET.put(key, request.body)
      return Response.json({ key, size: obj?.size }, { status: 201 })
    }
    if (request.method === 'GET') {
      const r = range ? { offset: Number(range[1]), length: Number(range[2]) - Number(range[1]) + 1 } : undefined
      const obj = await env.BUCKET.get(key, r ? { range: r } : undefined)
      if (!obj) return new Response('not found', { status: 404 })
      const headers = new Headers()
      if (want.has('headers')) {
        headers.set('content-type', 'application/octet-stream')
        headers.set('x-content-type-options', 'nosniff')
        headers.set('content-disposition', 'attachment')
        headers.set('content-security-policy', "default-src 'none'; sandbox")
        headers.set('etag', `"${obj.etag}"`)
        headers.set('accept-ranges', 'bytes')
        headers.set('content-length', String(r ? r.length : obj.size))
      }
      if (want.has('cache')) headers.set('cache-control', 'public, max-age=31536000, immutable')
      const res = new Response(obj.body, { status: r ? 206 : 200, headers })
      if (want.has('cache') && !r) ctx.waitUntil(caches.default.put(cacheKey(), res.clone()))
      return res
    }
    return new Response('method not allowed', { status: 405 })
  },
}
