import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { checkAlias, checkAliases, ed25519Blob, type IdentityOptions, PROOF_TTL, ProofCache, txtData } from '../../src/identity/index.ts'
import { encodeDidKey } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

/**
 * Alias proofs against real HTTP servers on 127.0.0.1: a DNS-over-HTTPS JSON resolver, a site
 * with /.well-known/vouch.json, a forge serving NAME.keys, and a Bluesky-like AppView. No internet.
 */

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void
interface Local {
  url: string
  /** Requests by path (with query), in order. */
  requests: string[]
  close(): Promise<void>
}

async function serve(handler: Handler): Promise<Local> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push(url.pathname + url.search)
    handler(req, res, url)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections()
      return new Promise((r) => server.close(() => r()))
    },
  }
}

const json = (res: ServerResponse, body: unknown, headers: Record<string, string> = {}) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text)
}
const big = 'x'.repeat(300 * 1024) // over the 256 KiB default cap
/** Sends `big` without a Content-Length, so only the running count can catch it. */
const chunked = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  for (let i = 0; i < big.length; i += 16 * 1024) res.write(big.slice(i, i + 16 * 1024))
  res.end()
}

// The key under test is a real OpenSSH key; its did:key comes from the .pub file's blob.
let tmp: string
let pubLine: string
let did: string
let other: string

// Answers the servers give, set per test where it matters.
type DohAnswer = Record<string, unknown> | 'hang' | 'garbage' | 'big'
const dnsZone = new Map<string, DohAnswer>()
let wellKnown: 'ok' | 'other' | 'hang' | 'redirect' | 'big' | 'chunked' | 'duplicate' | 'not-array' | 'bad-key' | 'max-age' = 'ok'
const profiles = new Map<string, unknown>()
let inFlight = 0
let maxInFlight = 0

let doh: Local
let site: Local
let forge: Local
let appview: Local

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vouch-identity-'))
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@test', '-f', join(tmp, 'id')])
  pubLine = readFileSync(join(tmp, 'id.pub'), 'utf8').trim()
  const blob = new Uint8Array(Buffer.from(pubLine.split(' ')[1]!, 'base64'))
  expect(blob.length).toBe(51) // string "ssh-ed25519" (4 + 11) + string key (4 + 32)
  did = encodeDidKey(blob.subarray(19))
  expect(ed25519Blob(blob.subarray(19))).toEqual(blob)
  other = (await testKey(2)).did

  doh = await serve((req, res, url) => {
    if (req.headers.accept !== 'application/dns-json' || url.searchParams.get('type') !== 'TXT') return void res.writeHead(415).end()
    const name = url.searchParams.get('name')!
    const a = dnsZone.get(name)
    if (a === 'hang') return // never answers
    if (a === 'garbage') return json(res, '{"Status": 0, "Answer": [')
    if (a === 'big') return chunked(res)
    if (name.startsWith('_vouch.slow')) {
      // for the concurrency bound: hold each answer a moment and count how many overlap
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      return void setTimeout(() => (inFlight--, json(res, txt(name, 300, did))), 50)
    }
    json(res, a ?? { Status: 3, Question: [{ name, type: 16 }] })
  })
  site = await serve((_req, res, url) => {
    if (url.pathname !== '/.well-known/vouch.json') return void res.writeHead(404).end()
    switch (wellKnown) {
      case 'ok': return json(res, { keys: [other, did] })
      case 'other': return json(res, { keys: [other] })
      case 'hang': return
      case 'redirect': return void res.writeHead(302, { location: `${forge.url}/.well-known/vouch.json` }).end()
      case 'big': return json(res, big)
      case 'chunked': return chunked(res)
      case 'duplicate': return json(res, `{"keys": ["${other}"], "keys": ["${did}"]}`)
      case 'not-array': return json(res, { keys: did })
      case 'bad-key': return json(res, { keys: [did, 'did:key:z6Mkfake'] })
      case 'max-age': return json(res, { keys: [did] }, { 'cache-control': 'public, max-age=60' })
    }
  })
  forge = await serve((_req, res, url) => {
    const keys: Record<string, string> = {
      '/alice.keys': `ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 rsa\r\n${pubLine}\r\n`,
      '/~alice.keys': `# sr.ht\n${pubLine.split(' ').slice(0, 2).join(' ')}\n`,
      '/bob.keys': `${(pubLine.split(' ')[0])} ${Buffer.from(ed25519Blob(new Uint8Array(32).fill(7))).toString('base64')}\n`,
      '/nokeys.keys': '',
      '/garbage.keys': 'ssh-ed25519 !!!notbase64!!!\nssh-ed25519\n\u0000\u0001 junk\n',
    }
    if (url.pathname === '/moved.keys') return void res.writeHead(301, { location: '/alice.keys' }).end()
    if (url.pathname === '/big.keys') return chunked(res)
    const body = keys[url.pathname]
    if (body === undefined) return void res.writeHead(404).end('Not Found')
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body)
  })
  appview = await serve((_req, res, url) => {
    if (url.pathname !== '/xrpc/app.bsky.actor.getProfile') return void res.writeHead(404).end()
    const p = profiles.get(url.searchParams.get('actor')!)
    if (p === undefined) return void res.writeHead(400).end('{"error":"InvalidRequest","message":"Profile not found"}')
    json(res, p)
  })
}, 10_000)

afterAll(async () => {
  await Promise.all([doh, site, forge, appview].map((s) => s?.close()))
  rmSync(tmp, { recursive: true, force: true })
})

beforeEach(() => {
  for (const s of [doh, site, forge, appview]) s.requests.length = 0
  wellKnown = 'ok'
})

/** A DoH JSON answer with one TXT record per string in `texts`, each written as a resolver does. */
function txt(name: string, ttl: number, ...texts: string[]) {
  return { Status: 0, TC: false, RD: true, RA: true, AD: false, CD: false, Question: [{ name, type: 16 }], Answer: texts.map((t) => ({ name, type: 16, TTL: ttl, data: `"${t}"` })) }
}

const opts = (extra: IdentityOptions = {}): IdentityOptions => ({
  allowPrivate: true,
  dohResolver: `${doh.url}/dns-query`,
  githubBase: forge.url,
  sourcehutBase: forge.url,
  bskyBase: appview.url,
  forgejoBases: { 'codeberg.org': forge.url },
  ...extra,
})

describe('dns: a TXT record at _vouch.<domain>, over DNS-over-HTTPS', () => {
  it('proves the key the record names, with the record name and the TTL in the detail', async () => {
    dnsZone.set('_vouch.alice.example', txt('_vouch.alice.example', 300, 'v=spf1 -all', did))
    const t = 1_700_000_000_000
    const r = await checkAlias(did, 'dns:alice.example', opts({ now: () => t }))
    expect(r).toEqual({ ok: true, method: 'dns', alias: 'dns:alice.example', did, detail: expect.stringContaining('_vouch.alice.example'), expiresAt: t + 300_000 })
    expect(r.detail).toContain('TTL 300 s')
    expect(doh.requests).toEqual(['/dns-query?name=_vouch.alice.example&type=TXT'])
  })

  it('refuses a different key', async () => {
    dnsZone.set('_vouch.alice.example', txt('_vouch.alice.example', 300, did))
    const r = await checkAlias(other, 'dns:alice.example', opts())
    expect(r.ok).toBe(false)
    expect(r.detail).toMatch(/1 TXT record\(s\) at _vouch\.alice\.example, none is/)
  })

  it('accepts vouch=did:key:…, split strings, escapes and bare data; the expiry is the smallest TTL', async () => {
    const half = did.length >> 1
    const forms = [`"vouch=${did}"`, `"${did.slice(0, half)}" "${did.slice(half)}"`, `"${did.slice(0, 8)}\\${did.charCodeAt(8).toString().padStart(3, '0')}${did.slice(9)}"`, did]
    for (const data of forms) {
      const name = '_vouch.forms.example'
      dnsZone.set(name, { Status: 0, Answer: [{ name: `${name}.`, type: 5, TTL: 40, data: 'x.example.' }, { name: 'x.example.', type: 16, TTL: 900, data }] })
      const r = await checkAlias(did, 'dns:Forms.Example', opts({ now: () => 0 }))
      expect(r, data).toMatchObject({ ok: true, expiresAt: 40_000 })
    }
    expect(txtData('"a\\"b" "c\\\\"')).toBe('a"bc\\')
  })

  it('does not take a record that merely contains the key', async () => {
    dnsZone.set('_vouch.loose.example', txt('_vouch.loose.example', 300, `not ${did}`, `${did}x`, `vouch = ${did}`))
    expect((await checkAlias(did, 'dns:loose.example', opts())).ok).toBe(false)
  })

  it('reports NXDOMAIN, an empty answer, SERVFAIL and malformed answers as failures', async () => {
    dnsZone.set('_vouch.empty.example', { Status: 0, Question: [] })
    dnsZone.set('_vouch.servfail.example', { Status: 2 })
    dnsZone.set('_vouch.garbage.example', 'garbage')
    dnsZone.set('_vouch.shape.example', { Status: 0, Answer: { data: did } })
    dnsZone.set('_vouch.ttl.example', { Status: 0, Answer: [{ type: 16, TTL: -1, data: did }] })
    dnsZone.set('_vouch.quote.example', { Status: 0, Answer: [{ type: 16, TTL: 5, data: `"${did}` }] })
    const expected: Record<string, RegExp> = {
      'dns:nothing.example': /no DNS name _vouch\.nothing\.example \(NXDOMAIN\)/,
      'dns:empty.example': /no TXT record at _vouch\.empty\.example/,
      'dns:servfail.example': /SERVFAIL/,
      'dns:garbage.example': /malformed JSON/,
      'dns:shape.example': /Answer is not an array/,
      'dns:ttl.example': /no valid TTL/,
      'dns:quote.example': /unterminated string/,
    }
    for (const [alias, detail] of Object.entries(expected)) {
      const r = await checkAlias(did, alias, opts())
      expect(r.ok, alias).toBe(false)
      expect(r.detail, alias).toMatch(detail)
    }
  })

  it('gives up on a resolver that never answers within timeoutMs', async () => {
    dnsZone.set('_vouch.hang.example', 'hang')
    const start = Date.now()
    const r = await checkAlias(did, 'dns:hang.example', opts({ timeoutMs: 300 }))
    expect(Date.now() - start).toBeLessThan(2000)
    // One text for every network failure (src/net's public message); the door's own tests check the reasons.
    expect(r).toMatchObject({ ok: false, detail: `could not fetch ${doh.url}/dns-query?name=_vouch.hang.example&type=TXT` })
  })

  it('stops reading an answer over maxBytes', async () => {
    dnsZone.set('_vouch.big.example', 'big')
    const r = await checkAlias(did, 'dns:big.example', opts())
    expect(r).toMatchObject({ ok: false, detail: `could not fetch ${doh.url}/dns-query?name=_vouch.big.example&type=TXT` })
  })

  it('refuses names that are not DNS names, without asking the resolver', async () => {
    for (const alias of ['dns:localhost', 'dns:exa mple.org', 'dns:example.org.', 'dns:-x.example', 'dns:b\u00fccher.de', 'dns:a..b', 'dns:x.example/y', 'dns:1.2.3.4']) {
      const r = await checkAlias(did, alias, opts())
      expect(r, alias).toMatchObject({ ok: false, method: 'dns', detail: expect.stringContaining('is not a DNS name') })
    }
    expect(doh.requests).toEqual([])
  })
})

describe('https: /.well-known/vouch.json at the origin', () => {
  it('proves a key the file lists and refuses one it does not', async () => {
    const r = await checkAlias(did, site.url, opts({ now: () => 0 }))
    expect(r).toEqual({ ok: true, method: 'https', alias: site.url, did, detail: `${site.url}/.well-known/vouch.json lists ${did.slice(0, 16)}…${did.slice(-4)}`, expiresAt: PROOF_TTL.defaultMs })
    expect((await checkAlias(did, `${site.url}/`, opts())).ok).toBe(true)
    wellKnown = 'other'
    expect(await checkAlias(did, site.url, opts())).toMatchObject({ ok: false, detail: expect.stringContaining('lists 1 key(s), not') })
    expect(site.requests).toEqual(Array(3).fill('/.well-known/vouch.json'))
  })

  it('honours Cache-Control max-age', async () => {
    wellKnown = 'max-age'
    expect(await checkAlias(did, site.url, opts({ now: () => 1000 }))).toMatchObject({ ok: true, expiresAt: 61_000 })
  })

  it('refuses malformed files: duplicate keys, keys not an array, an entry not a did:key', async () => {
    const expected = { duplicate: /malformed JSON/, 'not-array': /"keys" must be an array/, 'bad-key': /keys\[1\] is not a did:key/ } as const
    for (const [mode, detail] of Object.entries(expected)) {
      wellKnown = mode as typeof wellKnown
      const r = await checkAlias(did, site.url, opts())
      expect(r.ok, mode).toBe(false)
      expect(r.detail, mode).toMatch(detail)
    }
  })

  it('does not follow a redirect, even to a file that would prove the key', async () => {
    wellKnown = 'redirect'
    const r = await checkAlias(did, site.url, opts())
    expect(r).toMatchObject({ ok: false, detail: `could not fetch ${site.url}/.well-known/vouch.json` })
    expect(forge.requests).toEqual([])
  })

  it('times out, and caps the size with and without Content-Length', async () => {
    const failed = { ok: false, detail: `could not fetch ${site.url}/.well-known/vouch.json` }
    wellKnown = 'hang'
    const start = Date.now()
    expect(await checkAlias(did, site.url, opts({ timeoutMs: 300 }))).toMatchObject(failed)
    expect(Date.now() - start).toBeLessThan(2000)
    wellKnown = 'big'
    expect(await checkAlias(did, site.url, opts())).toMatchObject(failed)
    wellKnown = 'chunked'
    expect(await checkAlias(did, site.url, opts())).toMatchObject(failed)
    wellKnown = 'ok'
    expect(await checkAlias(did, site.url, opts())).toMatchObject({ ok: true })
    expect(await checkAlias(did, site.url, opts({ maxBytes: 64 }))).toMatchObject(failed)
  })

  it('takes only an origin in its one spelling', async () => {
    for (const alias of [`${site.url}/x`, `${site.url}?a=1`, `${site.url}#f`, 'https://EXAMPLE.org', 'https://example.org:443', 'https://u:p@example.org', 'https://']) {
      const r = await checkAlias(did, alias, opts())
      expect(r, alias).toMatchObject({ ok: false, method: 'https', detail: expect.stringContaining('is not an origin') })
    }
    expect(site.requests).toEqual([])
  })
})

describe('forges: ssh-ed25519 keys on NAME.keys', () => {
  it('github, forgejo and sourcehut prove the key from ssh-keygen and refuse another', async () => {
    const cases = [
      ['github:alice', 'github', '/alice.keys'],
      ['forgejo:codeberg.org/alice', 'forgejo', '/alice.keys'],
      ['sourcehut:~alice', 'sourcehut', '/~alice.keys'],
    ] as const
    for (const [alias, method, path] of cases) {
      const r = await checkAlias(did, alias, opts({ now: () => 0 }))
      expect(r, alias).toEqual({ ok: true, method, alias, did, detail: `${forge.url}${path} has the ssh-ed25519 key of ${did.slice(0, 16)}…${did.slice(-4)}`, expiresAt: PROOF_TTL.defaultMs })
      const no = await checkAlias(other, alias, opts())
      expect(no, alias).toMatchObject({ ok: false, method, detail: expect.stringMatching(/has \d key\(s\), none is the ssh-ed25519 key of/) })
    }
  })

  it('refuses a page without the key, an unknown account, garbage lines, a redirect and an oversize page', async () => {
    const expected: Record<string, RegExp> = {
      'github:bob': /has 1 key\(s\), none is/,
      'github:nokeys': /has 0 key\(s\)/,
      'github:nobody': /^could not fetch .*\/nobody\.keys$/,
      'github:garbage': /has 3 key\(s\), none is/,
      'github:moved': /^could not fetch .*\/moved\.keys$/,
      'github:big': /^could not fetch .*\/big\.keys$/,
    }
    for (const [alias, detail] of Object.entries(expected)) {
      const r = await checkAlias(did, alias, opts())
      expect(r.ok, alias).toBe(false)
      expect(r.detail, alias).toMatch(detail)
    }
    expect(forge.requests).not.toContain('/alice.keys') // the redirect was not followed
  })

  it('refuses user names that could change the URL, without a request', async () => {
    const bad = [
      'github:', 'github:../alice', 'github:a/b', 'github:-alice', 'github:al--ice', 'github:alice?x', 'github:%2e%2e', 'github:' + 'a'.repeat(40),
      'forgejo:codeberg.org', 'forgejo:codeberg.org/', 'forgejo:codeberg.org/a/b', 'forgejo:codeberg.org/..', 'forgejo:codeberg.org/a..b',
      'forgejo:codeberg.org:8080/alice', 'forgejo:user@codeberg.org/alice', 'sourcehut:alice', 'sourcehut:~Alice', 'sourcehut:~a/b', 'sourcehut:~../x',
    ]
    for (const alias of bad) expect((await checkAlias(did, alias, opts())).ok, alias).toBe(false)
    expect(forge.requests).toEqual([])
  })
})

describe('bsky: the profile description', () => {
  it('proves a key the profile names, and refuses another key, a lapsed handle and a longer string', async () => {
    profiles.set('alice.example', { did: 'did:plc:abc', handle: 'alice.example', description: `Hi! vouch: ${did}.` })
    profiles.set('lapsed.example', { did: 'did:plc:def', handle: 'handle.invalid', description: did })
    profiles.set('prefix.example', { did: 'did:plc:ghi', handle: 'prefix.example', description: `${did}Z` })
    profiles.set('bare.example', { did: 'did:plc:jkl', handle: 'bare.example' })
    expect(await checkAlias(did, 'bsky:alice.example', opts())).toMatchObject({ ok: true, method: 'bsky', detail: expect.stringContaining('profile of alice.example names') })
    expect(await checkAlias(other, 'bsky:alice.example', opts())).toMatchObject({ ok: false, detail: expect.stringContaining('does not name') })
    expect(await checkAlias(did, 'bsky:lapsed.example', opts())).toMatchObject({ ok: false, detail: expect.stringContaining('"handle.invalid", not lapsed.example') })
    expect((await checkAlias(did, 'bsky:prefix.example', opts())).ok).toBe(false)
    expect((await checkAlias(did, 'bsky:bare.example', opts())).ok).toBe(false)
    expect((await checkAlias(did, 'bsky:missing.example', opts())).detail).toMatch(/^could not fetch .*actor=missing\.example$/)
    expect(appview.requests[0]).toBe('/xrpc/app.bsky.actor.getProfile?actor=alice.example')
  })
})

describe('checkAlias at the door', () => {
  it('an unknown scheme or a non-alias is a failed proof, not an exception', async () => {
    expect(await checkAlias(did, 'mailto:alice@example.org', opts())).toMatchObject({ ok: false, method: 'mailto', detail: 'no proof method for scheme mailto' })
    expect(await checkAlias(did, 'alice', opts())).toMatchObject({ ok: false, detail: '"alice" is not an alias (scheme:value)' })
    expect(await checkAlias(did, 'toString:x', opts())).toMatchObject({ ok: false, detail: 'no proof method for scheme toString' })
  })

  it('throws for wrong arguments and options', async () => {
    const bad = (f: () => Promise<unknown>) => f().then(() => 'resolved', (e: Error) => e.constructor.name)
    expect(await bad(() => checkAlias(42 as unknown as string, 'dns:a.example'))).toBe('TypeError')
    expect(await bad(() => checkAlias(did, null as unknown as string))).toBe('TypeError')
    expect(await bad(() => checkAlias('did:key:z6Mkfake', 'dns:a.example'))).toBe('RangeError')
    expect(await bad(() => checkAlias(did, 'dns:a.example', { timeoutMs: 0 }))).toBe('RangeError')
    expect(await bad(() => checkAlias(did, 'dns:a.example', { maxBytes: 1.5 }))).toBe('RangeError')
    expect(await bad(() => checkAlias(did, 'dns:a.example', { fetch: 'no' as unknown as typeof fetch }))).toBe('TypeError')
    expect(await bad(() => checkAlias(did, 'dns:a.example', { dohResolver: 'ftp://x.example' }))).toBe('RangeError')
    expect(await bad(() => checkAlias(did, 'dns:a.example', { dohResolver: 'https://dns.example/q?x=1' }))).toBe('RangeError')
    expect(await bad(() => checkAliases('x' as never))).toBe('TypeError')
    expect(await bad(() => checkAliases([{ did: 'nope', alias: 'dns:a.example' }]))).toBe('RangeError')
  })

  it('uses the injected fetch', async () => {
    dnsZone.set('_vouch.alice.example', txt('_vouch.alice.example', 300, did))
    const seen: string[] = []
    const f: typeof fetch = (input, init) => (seen.push(String(input)), fetch(input, init))
    expect((await checkAlias(did, 'dns:alice.example', opts({ fetch: f }))).ok).toBe(true)
    expect(seen).toEqual([`${doh.url}/dns-query?name=_vouch.alice.example&type=TXT`])
  })
})

describe('private addresses and plain http', () => {
  it('are refused unless allowPrivate is set, before any request', async () => {
    const pub = opts({ allowPrivate: false, dohResolver: undefined, githubBase: undefined, sourcehutBase: undefined, bskyBase: undefined, forgejoBases: undefined })
    // Refused and unreachable read the same to whoever published the alias.
    const https = site.url.replace('http:', 'https:')
    expect(await checkAlias(did, https, pub)).toMatchObject({ ok: false, detail: `could not fetch ${https}/.well-known/vouch.json` })
    expect(await checkAlias(did, site.url, pub)).toMatchObject({ ok: false, detail: `could not fetch ${site.url}/.well-known/vouch.json` })
    for (const alias of ['https://10.1.2.3', 'https://[::1]', 'https://192.168.0.1', 'https://[::ffff:7f00:1]', 'https://[64:ff9b::7f00:1]', 'https://[2002:7f00:1::]']) {
      expect((await checkAlias(did, alias, pub)).detail, alias).toMatch(/^could not fetch https:\/\/.*\/\.well-known\/vouch\.json$/)
    }
    for (const alias of ['forgejo:git.localhost/alice', 'forgejo:forge.internal/alice', 'forgejo:printer.local/alice']) {
      expect((await checkAlias(did, alias, pub)).detail, alias).toMatch(/^could not fetch https:\/\/[a-z.]+\/alice\.keys$/)
    }
    expect(site.requests).toEqual([])
    // Configured URLs follow the same rule, and are checked at the door.
    await expect(checkAlias(did, 'dns:a.example', { dohResolver: `${doh.url}/dns-query` })).rejects.toThrow(RangeError)
    await expect(checkAlias(did, 'dns:a.example', { githubBase: 'https://127.0.0.1:1' })).rejects.toThrow(/githubBase: https:\/\/127\.0\.0\.1:1 is not https on port 443/)
    await expect(checkAlias(did, 'dns:a.example', { githubBase: 'https://127.0.0.1' })).rejects.toThrow(/githubBase: 127\.0\.0\.1 is not a public host/)
  })
})

describe('ProofCache', () => {
  it('answers from the cache until the TTL runs out, then asks again', async () => {
    dnsZone.set('_vouch.cached.example', txt('_vouch.cached.example', 120, did))
    const cache = new ProofCache()
    let t = 1_000_000
    const o = opts({ cache, now: () => t })
    const first = await checkAlias(did, 'dns:cached.example', o)
    expect(first).toMatchObject({ ok: true, expiresAt: t + 120_000 })
    t += 119_999
    expect(await checkAlias(did, 'dns:cached.example', o)).toEqual(first)
    expect(doh.requests).toHaveLength(1)
    t += 1
    expect((await checkAlias(did, 'dns:cached.example', o)).expiresAt).toBe(t + 120_000)
    expect(doh.requests).toHaveLength(2)
  })

  it('keeps failures for 5 minutes and caps a long TTL at 24 hours', async () => {
    const cache = new ProofCache()
    let t = 0
    const o = opts({ cache, now: () => t })
    dnsZone.set('_vouch.later.example', { Status: 3 })
    expect(await checkAlias(did, 'dns:later.example', o)).toMatchObject({ ok: false, expiresAt: PROOF_TTL.failureMs })
    dnsZone.set('_vouch.later.example', txt('_vouch.later.example', 7 * 86_400, did))
    t = PROOF_TTL.failureMs - 1
    expect((await checkAlias(did, 'dns:later.example', o)).ok).toBe(false) // still the cached failure
    t = PROOF_TTL.failureMs
    expect(await checkAlias(did, 'dns:later.example', o)).toMatchObject({ ok: true, expiresAt: t + PROOF_TTL.maxMs })
    expect(doh.requests).toHaveLength(2)
  })

  it('survives toJSON / fromJSON, dropping expired entries and capping edited ones', () => {
    const cache = new ProofCache()
    cache.set({ ok: true, method: 'dns', alias: 'dns:a.example', did, detail: 'd', expiresAt: 5000 }, 0)
    cache.set({ ok: false, method: 'dns', alias: 'dns:b.example', did, detail: 'd', expiresAt: 1000 }, 0)
    const file = JSON.parse(JSON.stringify(cache))
    expect(file.entries).toHaveLength(2)
    const back = ProofCache.fromJSON(file, 2000)
    expect(back.size).toBe(1)
    expect(back.get(did, 'dns:a.example', 2000)).toMatchObject({ ok: true, expiresAt: 5000 })
    file.entries[0].expiresAt = Number.MAX_SAFE_INTEGER
    expect(ProofCache.fromJSON(file, 0).get(did, 'dns:a.example', 0)!.expiresAt).toBe(PROOF_TTL.maxMs)
    expect(() => ProofCache.fromJSON({ version: 2, entries: [] })).toThrow(TypeError)
    expect(() => ProofCache.fromJSON({ version: 1, entries: [{ ...file.entries[0], did: 'x' }] })).toThrow(/entries\[0\]: did is not a did:key/)
    expect(() => ProofCache.fromJSON({ version: 1, entries: [{ ...file.entries[0], ok: 'yes' }] })).toThrow(/ok must be a boolean/)
  })

  it('stays within maxEntries, dropping the oldest', () => {
    const cache = new ProofCache({ maxEntries: 2 })
    for (const a of ['dns:a.example', 'dns:b.example', 'dns:c.example']) cache.set({ ok: true, method: 'dns', alias: a, did, detail: '', expiresAt: 10 }, 0)
    expect(cache.size).toBe(2)
    expect(cache.get(did, 'dns:a.example', 0)).toBeUndefined()
  })
})

describe('checkAliases', () => {
  it('checks claims concurrently within the bound and returns proofs for the policy engine', async () => {
    dnsZone.set('_vouch.alice.example', txt('_vouch.alice.example', 300, did))
    const claims = [
      { did, alias: 'dns:alice.example' },
      { did, alias: 'github:alice' },
      { did: other, alias: 'github:alice' },
      { did, alias: 'mailto:alice@example.org' },
      { did, alias: 'github:alice' }, // repeated: checked once
      ...Array.from({ length: 6 }, (_, i) => ({ did, alias: `dns:slow${i}.example` })),
    ]
    inFlight = maxInFlight = 0
    const { proofs, results } = await checkAliases(claims, opts({ concurrency: 3 }))
    expect(results.map((r) => [r.alias, r.did === did, r.ok])).toEqual(claims.map((c, i) => [c.alias, c.did === did, ![2, 3].includes(i)]))
    expect(proofs).toEqual([
      { did, alias: 'dns:alice.example', method: 'dns' },
      { did, alias: 'github:alice', method: 'github' },
      ...Array.from({ length: 6 }, (_, i) => ({ did, alias: `dns:slow${i}.example`, method: 'dns' })),
    ])
    expect(forge.requests).toHaveLength(2) // alice's key page, once for each did
    expect(maxInFlight).toBeGreaterThan(1)
    expect(maxInFlight).toBeLessThanOrEqual(3)
  })
})

describe('portability', () => {
  it('src/identity imports nothing from node: and uses no Buffer, so it runs in Workers', () => {
    const dir = new URL('../../src/identity/', import.meta.url)
    for (const f of readdirSync(dir)) {
      const src = readFileSync(new URL(f, dir), 'utf8')
      expect(src, f).not.toMatch(/from ['"]node:|\bBuffer\b|\bprocess\./)
    }
  })
})
