/**
 * Baseline for the ingest benchmark: the least work a relay could possibly do per statement,
 * one Ed25519 verify with bare WebCrypto. No JSON parsing, no canonical form, no strict checks,
 * no storage. Used only by bench/ingest.ts (config: bench/verify-worker.toml).
 *
 *   POST /load    body {keys: [base64url public key], items: [[keyIndex, base64 message, base64url sig]]}
 *                 imports every key once and keeps the decoded items in memory.
 *   POST /verify?offset=i&n=k
 *                 verifies items i..i+k-1 (cycling), as the relay does a batch (Promise.all), and
 *                 answers {verified, valid}. The benchmark measures this process's CPU around
 *                 these requests only, so loading costs nothing.
 */

interface Item {
  key: CryptoKey
  message: Uint8Array
  signature: Uint8Array
}

const ALG = { name: 'Ed25519' }
let items: Item[] = []

const fromBase64 = (s: string): Uint8Array => {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
  const out = new Uint8Array(b.length)
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i)
  return out
}

const json = (v: unknown, status = 200) =>
  new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } })

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    if (request.method === 'POST' && url.pathname === '/load') {
      const body = (await request.json()) as { keys: string[]; items: [number, string, string][] }
      const keys = await Promise.all(
        body.keys.map((k) => crypto.subtle.importKey('raw', fromBase64(k), ALG, false, ['verify'])),
      )
      items = body.items.map(([k, m, s]) => ({ key: keys[k]!, message: fromBase64(m), signature: fromBase64(s) }))
      return json({ loaded: items.length, keys: keys.length })
    }
    if (request.method === 'POST' && url.pathname === '/verify') {
      if (items.length === 0) return json({ error: 'POST /load first' }, 409)
      const offset = Number(url.searchParams.get('offset') ?? 0)
      const n = Number(url.searchParams.get('n') ?? items.length)
      const batch = Array.from({ length: n }, (_, i) => items[(offset + i) % items.length]!)
      const verdicts = await Promise.all(batch.map((it) => crypto.subtle.verify(ALG, it.key, it.signature, it.message)))
      return json({ verified: n, valid: verdicts.filter(Boolean).length })
    }
    return json({ ok: true })
  },
} satisfies ExportedHandler
