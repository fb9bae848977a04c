import { isDidKey } from '../verify/index.ts'
import { getText } from './http.ts'
import { type Key, type Outcome, type ProofMethod, parseJsonObject, ProofFailure, shortDid } from './method.ts'

/**
 * `https://example.org` (an origin, with or without the final `/`) is proved by
 * `https://example.org/.well-known/vouch.json`, a JSON object whose `keys` is an array of
 * did:keys. Only the origin's own answer counts: no redirect is followed. The proof holds for the
 * answer's `Cache-Control: max-age`, when it gives one.
 */
export const httpsProof: ProofMethod = {
  name: 'https',
  async check(alias: string, _value: string, key: Key, o): Promise<Outcome> {
    const origin = originOf(alias)
    const url = `${origin}/.well-known/vouch.json`
    const { text, headers } = await getText(url, o, 'application/json')
    const doc = parseJsonObject(text, url)
    const keys = doc.keys
    if (!Array.isArray(keys)) throw new ProofFailure(`${url}: "keys" must be an array of did:keys`)
    keys.forEach((k, i) => {
      if (typeof k !== 'string' || !isDidKey(k)) throw new ProofFailure(`${url}: keys[${i}] is not a did:key`)
    })
    const ttlSeconds = maxAge(headers.get('cache-control'))
    if (keys.includes(key.did)) return { ok: true, detail: `${url} lists ${shortDid(key.did)}`, ttlSeconds }
    return { ok: false, detail: `${url} lists ${keys.length} key(s), not ${shortDid(key.did)}` }
  },
}

/**
 * The alias must be an origin written the one way the URL standard writes it (lower-case host, no
 * default port, no path, query, fragment or credentials), so one site has one alias.
 */
function originOf(alias: string): string {
  let u: URL | undefined
  try {
    u = new URL(alias)
  } catch {
    u = undefined
  }
  if (!u || (alias !== u.origin && alias !== `${u.origin}/`) || u.pathname !== '/') {
    throw new ProofFailure(`${JSON.stringify(alias)} is not an origin such as https://example.org (lower-case, no path, query or port 443)`)
  }
  return u.origin
}

/** `max-age` of a Cache-Control header (`no-store` and `no-cache` mean 0), or undefined. */
function maxAge(cc: string | null): number | undefined {
  if (!cc) return undefined
  const directives = cc.toLowerCase().split(',').map((d) => d.trim())
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0
  for (const d of directives) {
    const m = /^max-age=(\d{1,10})$/.exec(d)
    if (m) return Number(m[1])
  }
  return undefined
}
