import { env, SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cachedFor, proofKey, readProofs, SHARED_PROOF_TTL, writeProofs } from '../../src/store/proofs.ts'
import type { Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Alias checks anyone can trigger (docs/PROTOCOL.md §6.6): a page view only shows results from the
 * shared KV cache and never fetches; a same-origin POST checks, rate limited per client IP, and
 * writes the cache. Nothing here reaches the network: the aliases are of an unknown scheme or name
 * addresses the outbound door refuses before connecting, so every check fails, locally.
 */

const BASE = 'http://relay.test'
const get = (path: string) => SELF.fetch(`${BASE}${path}`, { redirect: 'manual' })
const postForm = (path: string, headers: Record<string, string> = {}, body?: URLSearchParams) =>
  SELF.fetch(`${BASE}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: body ?? '' })
const publish = async (items: Statement[]) => {
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
}
let serial = 0
const uniq = (p: string) => `${p}${Date.now().toString(36)}${serial++}`
/** A fresh documentation address per test, so the rate limiter's counts never carry over. */
const ip = () => `203.0.113.${serial++ % 250}`

type Key = Awaited<ReturnType<typeof testKey>>
async function actorWith(n: number, aliases: string[]): Promise<Key> {
  const key = await testKey(n)
  await publish(await Promise.all(aliases.map((object) => makeStatement(key, { subject: key.did, claim: 'alias', object, time: Date.now() }))))
  return key
}
const cached = async (did: string) => (await env.CACHE.list({ prefix: `proof:${did}:` })).keys
const statuses = (page: string) => [...page.matchAll(/data-alias-status="(\w+)"/g)].map((m) => m[1])

describe('alias checks: GET shows, POST checks', () => {
  it('a page view makes no check: the page says "not checked yet" and the cache stays empty', async () => {
    const key = await actorWith(200, [`nosuchscheme:${uniq('a')}`, 'https://127.0.0.1', 'http://example.org'])
    for (const path of [`/actor/${key.did}`, `/actor/${key.did}?check=1`]) {
      const res = await get(path)
      expect(res.status).toBe(200)
      const page = await res.text()
      expect(statuses(page)).toEqual(['unchecked', 'unchecked', 'unchecked'])
      expect(page.match(/not checked yet/g)).toHaveLength(3)
      expect(page).toMatch(new RegExp(`<form method="post" action="/actor/${key.did}"><button type="submit">Check alias proofs now`))
    }
    expect(await cached(key.did)).toEqual([])
  })

  it('a POST checks, stores each result with its expiry, and redirects to the page, which shows them', async () => {
    const alias = `nosuchscheme:${uniq('b')}`
    const key = await actorWith(201, [alias, 'https://127.0.0.1', 'http://example.org'])
    const before = Date.now()
    const res = await postForm(`/actor/${key.did}`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/actor/${key.did}#aliases`)
    const keys = await cached(key.did)
    expect(keys).toHaveLength(3)
    for (const k of keys) {
      // A failure is kept ten minutes (KV's own expiry, in seconds, is set to match).
      const v = (await env.CACHE.get<{ ok: boolean; checkedAt: number; expiresAt: number }>(k.name, 'json'))!
      expect(v.ok).toBe(false)
      expect(v.checkedAt).toBeGreaterThanOrEqual(before)
      expect(v.expiresAt - v.checkedAt).toBe(SHARED_PROOF_TTL.failureSeconds * 1000)
      expect(Math.abs(k.expiration! - v.expiresAt / 1000)).toBeLessThanOrEqual(2)
    }
    const page = await (await get(`/actor/${key.did}`)).text()
    expect(statuses(page)).toEqual(['failed', 'failed', 'failed'])
    expect(page).toContain('no proof method for scheme nosuchscheme')
    // Refused addresses read like any unreachable site: the page does not say which were refused.
    expect(page).toContain('could not fetch https://127.0.0.1/.well-known/vouch.json')
    expect(page).toContain('could not fetch http://example.org/.well-known/vouch.json')
    expect(page).not.toMatch(/private|loopback|refused|port 443/i)
    expect(page.match(/\(checked<\/span> <time datetime="/g)).toHaveLength(3)
    expect(page).not.toContain('Check alias proofs now') // nothing left to check
  })

  it('a fresh cached result is shown and not checked again; an expired one reads as not checked', async () => {
    const proven = 'dns:proven.example'
    const stale = 'dns:stale.example'
    const key = await actorWith(202, [proven, stale])
    const now = Date.now()
    // A success found a minute ago (only a POST could have put it there; written directly, as no test may reach DNS).
    const [stored] = await writeProofs(env.CACHE, [{ ok: true, method: 'dns', alias: proven, did: key.did, detail: 'TXT record names the key', expiresAt: now + 86_400_000 }], now - 60_000)
    expect(stored!.expiresAt).toBe(now - 60_000 + SHARED_PROOF_TTL.okSeconds * 1000) // capped at an hour
    // An entry past its stored deadline (KV's own expiry lags) is not believed.
    await env.CACHE.put(await proofKey(key.did, stale), JSON.stringify({ ok: true, method: 'dns', alias: stale, did: key.did, detail: 'old', checkedAt: now - 7_200_000, expiresAt: now - 1 }))
    const page = await (await get(`/actor/${key.did}`)).text()
    expect(page).toContain('proven (dns)')
    expect(page).toContain('TXT record names the key')
    expect(statuses(page).sort()).toEqual(['proven', 'unchecked'])
    expect(page).toContain('Check alias proofs now')
    // A value that is not ours (wrong alias for its key) reads as not checked too.
    await env.CACHE.put(await proofKey(key.did, stale), JSON.stringify({ ...stored, alias: 'dns:other.example' }))
    expect(statuses(await (await get(`/actor/${key.did}`)).text()).sort()).toEqual(['proven', 'unchecked'])
  })

  it('a POST skips fresh results, and one with nothing to check costs no rate-limit budget', async () => {
    const key = await actorWith(203, ['dns:fresh.example'])
    const now = Date.now()
    await writeProofs(env.CACHE, [{ ok: true, method: 'dns', alias: 'dns:fresh.example', did: key.did, detail: 'held', expiresAt: now + 3_600_000 }], now)
    const addr = ip()
    for (let i = 0; i < 15; i++) expect((await postForm(`/actor/${key.did}`, { 'cf-connecting-ip': addr })).status).toBe(303)
    const v = (await env.CACHE.get<{ checkedAt: number; detail: string }>(await proofKey(key.did, 'dns:fresh.example'), 'json'))!
    expect(v).toMatchObject({ checkedAt: now, detail: 'held' }) // not checked again (it would have failed: no network)
  })

  it('at most 10 proofs are checked per POST; the next POST checks the rest', async () => {
    const aliases = Array.from({ length: 13 }, (_, i) => `nosuchscheme:${uniq(`m${i}-`)}`)
    const key = await actorWith(204, aliases)
    expect((await postForm(`/actor/${key.did}`)).status).toBe(303)
    expect(await cached(key.did)).toHaveLength(10)
    expect(statuses(await (await get(`/actor/${key.did}`)).text()).filter((s) => s === 'unchecked')).toHaveLength(3)
    expect((await postForm(`/actor/${key.did}`)).status).toBe(303)
    expect(await cached(key.did)).toHaveLength(13)
  })
})

describe('alias checks: who may ask, and how often', () => {
  it('answers 429 rate_limited with Retry-After after 10 checking POSTs a minute from one address; others are not affected', async () => {
    const aliases = Array.from({ length: 12 }, () => `nosuchscheme:${uniq('r')}`)
    const keys = await Promise.all(aliases.map((a, i) => actorWith(210 + i, [a])))
    const addr = ip()
    const answers: number[] = []
    for (const k of keys.slice(0, 11)) answers.push((await postForm(`/actor/${k.did}`, { 'cf-connecting-ip': addr })).status)
    expect(answers).toEqual([...Array(10).fill(303), 429])
    const refused = await postForm(`/actor/${keys[11]!.did}`, { 'cf-connecting-ip': addr })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('60')
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await refused.text()
    expect(page).toContain('data-error="rate_limited"')
    expect(page).toContain('too many alias checks from your address')
    expect(await cached(keys[11]!.did)).toEqual([]) // refused before any check
    expect(await cached(keys[10]!.did)).toEqual([])
    // The trust view's form draws on the same budget when it has proofs to check.
    const policy = JSON.stringify({ version: 1, trust: { aliases: [{ aliases: [aliases[10]], require: 1 }] } })
    const trust = await postForm('/trust', { 'cf-connecting-ip': addr }, new URLSearchParams({ package: `${uniq('rl')}@1`, policy, checkAliases: '1' }))
    expect(trust.status).toBe(429)
    expect(await trust.text()).toContain('data-error="rate_limited"')
    expect(await cached(keys[10]!.did)).toEqual([])
    // Another address, and a local caller without CF-Connecting-IP, still get their checks.
    expect((await postForm(`/actor/${keys[10]!.did}`, { 'cf-connecting-ip': ip() })).status).toBe(303)
    expect(await cached(keys[10]!.did)).toHaveLength(1)
    expect((await postForm(`/actor/${keys[11]!.did}`)).status).toBe(303)
    expect(await cached(keys[11]!.did)).toHaveLength(1)
    // Page views are never limited by it.
    expect((await get(`/actor/${keys[0]!.did}`)).status).toBe(200)
  })

  it('refuses a POST from another site (Origin or Sec-Fetch-Site) with 403 and checks nothing; its own origin is fine', async () => {
    const key = await actorWith(225, [`nosuchscheme:${uniq('o')}`])
    for (const headers of <Record<string, string>[]>[{ origin: 'https://evil.example' }, { origin: 'null' }, { origin: 'http://relay.test:8080' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]) {
      const res = await postForm(`/actor/${key.did}`, headers)
      expect(res.status, JSON.stringify(headers)).toBe(403)
      expect(await res.text()).toContain('data-error="cross_origin"')
    }
    const trust = await postForm('/trust', { origin: 'https://evil.example' }, new URLSearchParams({ package: 'x@1', policy: '{}', checkAliases: '1' }))
    expect(trust.status).toBe(403)
    expect(await cached(key.did)).toEqual([])
    const own = await postForm(`/actor/${key.did}`, { origin: BASE, 'sec-fetch-site': 'same-origin' })
    expect(own.status).toBe(303)
    expect(await cached(key.did)).toHaveLength(1)
  })

  it('a bad did is a 400 before anything is counted or read', async () => {
    const res = await postForm('/actor/did:key:nope', { 'cf-connecting-ip': ip() })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('data-error="bad_actor"')
  })
})

describe('the shared proof cache', () => {
  it('any alias (up to 1024 bytes, any text) gets a valid KV key and reads back as written, and only for its own claim', async () => {
    const key = await testKey(228)
    const other = await testKey(229)
    const now = Date.now()
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 256 }), fc.boolean(), async (alias, ok) => {
        const k = await proofKey(key.did, alias)
        expect(new TextEncoder().encode(k).length).toBeLessThanOrEqual(512)
        const [stored] = await writeProofs(env.CACHE, [{ ok, method: 'x', alias, did: key.did, detail: alias, expiresAt: now + 86_400_000 }], now)
        const read = await readProofs(env.CACHE, [{ did: key.did, alias }, { did: other.did, alias }, { did: key.did, alias: `${alias} ` }], now)
        expect(cachedFor(read, key.did, alias)).toEqual(stored)
        expect(read.size).toBe(1)
        expect(stored!.expiresAt - now).toBe(1000 * (ok ? SHARED_PROOF_TTL.okSeconds : SHARED_PROOF_TTL.failureSeconds))
      }),
      { numRuns: 20 }, // each run is a KV put and a bulk get (~100 ms locally)
    )
  }, 30_000)
})

describe('alias checks in the trust view', () => {
  it('GET uses only cached proofs and says which are not checked yet; the form POST checks them; a cached success makes a root', async () => {
    const OWNER = 'https://127.0.0.9' // refused by the outbound door before any connection
    const [owner, other] = await Promise.all([actorWith(226, [OWNER]), actorWith(227, [`nosuchscheme:${uniq('t')}`])])
    const name = uniq('tv')
    const v = `pkg:generic/${name}@1.0.0`
    await publish([await makeStatement(owner, { subject: v, claim: 'source', object: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', time: Date.now() - 1000 })])
    const otherAlias = (await (await get(`/actor/${other.did}`)).text()).match(/nosuchscheme:[\w-]+/)![0]
    const policy = JSON.stringify({ version: 1, trust: { aliases: [{ aliases: [OWNER, otherAlias], require: 1 }] } })
    const query = new URLSearchParams({ package: v, policy, checkAliases: '1' })

    const shown = await get(`/trust?${query}`)
    expect(shown.status).toBe(200)
    const page = await shown.text()
    expect(statuses(page)).toEqual(['unchecked', 'unchecked'])
    expect(page).toContain('not checked yet')
    expect(page).toContain('data-verdict="untrusted"')
    expect([...(await cached(owner.did)), ...(await cached(other.did))]).toEqual([])

    // The form checks what has no fresh result: here both fail (no network, unknown scheme).
    const checked = await postForm('/trust', { 'cf-connecting-ip': ip() }, query)
    expect(checked.status).toBe(200)
    expect(statuses(await checked.text())).toEqual(['failed', 'failed'])
    expect(await cached(other.did)).toHaveLength(1)

    // A success in the cache (as a check that reached DNS would leave it) makes the owner a root, on a plain GET.
    await writeProofs(env.CACHE, [{ ok: true, method: 'https', alias: OWNER, did: owner.did, detail: 'the file names the key', expiresAt: Date.now() + 3_600_000 }], Date.now())
    const trusted = await (await get(`/trust?${query}`)).text()
    expect(trusted).toContain('data-verdict="trusted"')
    expect(statuses(trusted).sort()).toEqual(['failed', 'proven'])
  })
})
