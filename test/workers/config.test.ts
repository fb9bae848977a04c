import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { capsFor, ConfigError, configOf, CPU_MS_PER_STATEMENT, parseConfig, type RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { LIMITS } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

const BASE = 'http://relay.test'
const relayEnv = env as unknown as RelayEnv

/** The Worker's own fetch handler over the test bindings with some settings replaced. */
async function call(vars: Record<string, string>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...relayEnv, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

afterEach(() => vi.restoreAllMocks())

/** Unusable values, each distinctive enough that finding it in a response would mean it leaked. */
const BAD: Record<string, string[]> = {
  MAX_FUTURE_SKEW_MS: ['five-minutes', '3e5', '-300000', '300000.5', '0x493e0', '86400001', 'NaN'],
  PEERS: ['not a url', 'ftp://relay.example.org', 'https://relay.example.org/?peer=1', 'https://user:pass@relay.example.org', 'http://127.0.0.1:8788'],
  RELAY_URL: ['relay.example.org', 'https://relay.example.org/#frag', 'mailto:ops@relay.example.org'],
  ALLOW_PRIVATE_PEERS: ['yes', 'TRUE', 'enabled'],
  PEER_TIMEOUT_MS: ['0', 'forever', '60001', '10s'],
  BLOB_MAX_BYTES: ['0', '100MiB', '-1048576', '524288001'],
  UPSTREAM_CACHES: ['cache.example.org', 'http://10.0.0.7/cache', 'https://cache.example.org/?x=secret-query'],
  ADMIN_TOKEN: ['short-tok', 'a token with spaces in it', 'tab\there-is-a-long-token'],
  PULL_PEERS: ['pull-peer.example.org', 'http://192.168.1.20'],
  PUSH_PEERS: ['push-peer.example.org', 'https://[::1]/'],
  ADMISSION: ['public', 'Trusted', 'none'],
  OPERATOR_KEYS: ['did:key:z6Mknot-a-key', 'ed25519:abcdef', 'did:web:example.org'],
  ADMIT_DEPTH: ['9', 'deep', '-1'],
  QUOTA_STATEMENTS_PER_DAY: ['lots', '100000001', '1e4'],
  QUOTA_BLOB_BYTES_PER_DAY: ['1GiB', '-5'],
  PEER_STATEMENTS_PER_DAY: ['unlimited', '1000000001'],
  RELAY_KEY: ['not-a-key', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'short'],
  CPU_BUDGET_MS: ['0', '10ms', '300001', '2.5', 'unlimited'],
  EXPLORER_POLICY: ['{"version":2}', 'trust-no-one', '{"version":1,"trust":{"keys":["did:key:zNotAKey"]}}', '{"version":1,"trsut":{}}'],
  ALIAS_PROOF_BASES: ['{"githubBase":"ftp://forge.example"}', '{"dohResolver":"http://127.0.0.1:5353/dns"}', '["https://x.example"]', '{"gitlabBase":"https://x.example"}', 'github.example'],
}

describe('bad configuration: every request answers 500 bad_config naming the variable, never its value', () => {
  for (const [variable, values] of Object.entries(BAD)) {
    it(variable, async () => {
      const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
      for (const value of values) {
        for (const [path, init] of [
          ['/.well-known/vouch'],
          ['/v1/feed'],
          ['/'],
          ['/v1/admin/peers', { headers: { authorization: 'Bearer test-admin-token' } }],
          ['/no/such/route'],
          ['/v1/statements', { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } }],
        ] as [string, RequestInit?][]) {
          const res = await call({ [variable]: value }, path, init)
          const text = await res.text()
          expect(res.status, `${variable}=${value} ${path}`).toBe(500)
          expect(res.headers.get('content-type')).toMatch(/^application\/json/)
          const body = JSON.parse(text) as { error: { code: string; message: string }; variable: string }
          expect(body.error.code).toBe('bad_config')
          expect(body.variable).toBe(variable)
          expect(body.error.message).toContain(variable)
          if (value.length >= 3) expect(text, `${variable} leaks its value`).not.toContain(value)
        }
      }
      // The operator learns which variable from the log, again without the value.
      const logged = errors.mock.calls.map((c) => String(c[0]))
      expect(logged.some((l) => l.includes(variable))).toBe(true)
      for (const value of values.filter((v) => v.length >= 3)) expect(logged.join('\n')).not.toContain(value)
    })
  }

  it('a bad setting is parsed and logged once per bindings object, not once per request', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const bad = { ...relayEnv, PEER_TIMEOUT_MS: 'soon' } as RelayEnv
    for (let i = 0; i < 3; i++) {
      const ctx = createExecutionContext()
      expect((await worker.fetch(new Request(`${BASE}/v1/feed`), bad, ctx)).status).toBe(500)
    }
    expect(errors).toHaveBeenCalledTimes(1)
  })

  it('the cron logs and skips instead of pulling with a bad setting', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController(), { ...relayEnv, PEERS: 'not a url' } as RelayEnv, ctx)
    await waitOnExecutionContext(ctx)
    expect(errors.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/^bad configuration: PEERS /), expect.stringMatching(/^pull skipped: PEERS /)])
  })
})

describe('good configuration', () => {
  it('EXPLORER_POLICY defaults to the admission roots; ALIAS_PROOF_BASES to the public services, private only with ALLOW_PRIVATE_PEERS', async () => {
    const root = (await testKey(91)).did
    const other = (await testKey(92)).did
    expect(parseConfig({ OPERATOR_KEYS: root }).explorerPolicy.trust.keys).toEqual([root])
    expect(parseConfig({}).explorerPolicy.trust.keys).toEqual([])
    const own = parseConfig({ OPERATOR_KEYS: root, EXPLORER_POLICY: JSON.stringify({ version: 1, trust: { keys: [other] }, builds: { agree: 2 } }) }).explorerPolicy
    expect(own.trust.keys).toEqual([other])
    expect(own.builds.agree).toBe(2)
    expect(parseConfig({}).aliasProofBases).toEqual({})
    const bases = { dohResolver: 'http://127.0.0.1:5353/dns', githubBase: 'http://127.0.0.1:8080', forgejoBases: { 'codeberg.org': 'http://127.0.0.1:8081' } }
    expect(parseConfig({ ALIAS_PROOF_BASES: JSON.stringify(bases), ALLOW_PRIVATE_PEERS: 'true' }).aliasProofBases).toEqual({ ...bases, allowPrivate: true })
    expect(parseConfig({ ALIAS_PROOF_BASES: '{"githubBase":"https://github.mirror.example"}' }).aliasProofBases).toEqual({ githubBase: 'https://github.mirror.example' })
  })

  it('wrangler.toml defaults parse to the documented values', () => {
    const c = configOf(relayEnv)
    expect(c).toEqual({
      futureSkewMs: LIMITS.futureSkewMs,
      peers: [],
      relayUrl: undefined,
      allowPrivatePeers: false,
      peerTimeoutMs: 10_000,
      blobMaxBytes: 100 * 1024 * 1024,
      upstreamCaches: [],
      adminToken: 'test-admin-token',
      pullOnlyPeers: [],
      pushOnlyPeers: [],
      admission: 'open',
      operatorKeys: [],
      admitDepth: 2,
      quotaStatementsPerDay: 10_000,
      quotaBlobBytesPerDay: 1024 * 1024 * 1024,
      peerStatementsPerDay: 10_000_000,
      relayKey: undefined,
      cpuBudgetMs: 30_000,
      batchItems: LIMITS.batchItems,
      pageMax: LIMITS.pageMax,
      explorerPolicy: expect.objectContaining({ version: 1, trust: { keys: [], aliases: [] } }),
      aliasProofBases: {},
      witness: true,
    })
    // Parsed once per bindings object.
    expect(configOf(relayEnv)).toBe(c)
  })

  it('trusted and closed admission need operator keys', () => {
    expect(() => parseConfig({ ADMISSION: 'trusted' })).toThrow(expect.objectContaining({ variable: 'OPERATOR_KEYS' }))
    expect(() => parseConfig({ ADMISSION: 'closed', OPERATOR_KEYS: ' ' })).toThrow(expect.objectContaining({ variable: 'OPERATOR_KEYS' }))
    const op = 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'
    expect(parseConfig({ ADMISSION: 'trusted', OPERATOR_KEYS: `${op} ${op}` })).toMatchObject({ admission: 'trusted', operatorKeys: [op] })
  })

  it('unset and empty settings mean the defaults', () => {
    expect(parseConfig({})).toEqual(parseConfig({ MAX_FUTURE_SKEW_MS: '', PEERS: ' ', RELAY_URL: '', ALLOW_PRIVATE_PEERS: '', PEER_TIMEOUT_MS: '', BLOB_MAX_BYTES: '', UPSTREAM_CACHES: '', ADMIN_TOKEN: '' }))
    expect(parseConfig({}).adminToken).toBeUndefined()
  })

  it('unquoted numbers and booleans in wrangler.toml go through the same rules as their text', () => {
    const typed = (o: Record<string, unknown>) => parseConfig(o as unknown as RelayEnv)
    expect(typed({ PEER_TIMEOUT_MS: 5000, ALLOW_PRIVATE_PEERS: true, BLOB_MAX_BYTES: 1024 })).toMatchObject({ peerTimeoutMs: 5000, allowPrivatePeers: true, blobMaxBytes: 1024 })
    for (const [name, v] of [['PEER_TIMEOUT_MS', 1.5], ['MAX_FUTURE_SKEW_MS', 1e21], ['BLOB_MAX_BYTES', Number.NaN], ['PEERS', ['https://relay.example.org']], ['ADMIN_TOKEN', { token: 'x' }]] as const) {
      expect(() => typed({ [name]: v }), name).toThrow(expect.objectContaining({ variable: name }))
    }
  })

  it('peer and cache lists are normalised; private addresses need ALLOW_PRIVATE_PEERS', () => {
    const c = parseConfig({ PEERS: 'https://A.example.org/vouch/, https://b.example.org https://a.example.org/vouch', UPSTREAM_CACHES: 'https://cache.example.org/', RELAY_URL: 'https://Self.example.org/' })
    expect(c.peers).toEqual(['https://a.example.org/vouch', 'https://b.example.org'])
    expect(c.upstreamCaches).toEqual(['https://cache.example.org'])
    expect(c.relayUrl).toBe('https://self.example.org')
    expect(() => parseConfig({ PEERS: 'http://127.0.0.1:8788' })).toThrow(ConfigError)
    expect(parseConfig({ PEERS: 'http://127.0.0.1:8788', ALLOW_PRIVATE_PEERS: 'true' }).peers).toEqual(['http://127.0.0.1:8788'])
  })

  it('numbers: exactly the whole decimal numbers in range are accepted, everything else is bad_config', () => {
    const ranges = { MAX_FUTURE_SKEW_MS: [0, 86_400_000], PEER_TIMEOUT_MS: [1, 60_000], BLOB_MAX_BYTES: [1, 500 * 1024 * 1024] } as const
    const key = { MAX_FUTURE_SKEW_MS: 'futureSkewMs', PEER_TIMEOUT_MS: 'peerTimeoutMs', BLOB_MAX_BYTES: 'blobMaxBytes' } as const
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(ranges) as (keyof typeof ranges)[])), fc.oneof(fc.string(), fc.integer({ min: -1e10, max: 1e10 }).map(String), fc.double().map(String)), (name, raw) => {
        const [min, max] = ranges[name]
        const valid = raw.trim() === '' || (/^[0-9]+$/.test(raw.trim()) && Number(raw) >= min && Number(raw) <= max)
        if (valid) {
          const v = parseConfig({ [name]: raw })[key[name]]
          expect(Number.isSafeInteger(v)).toBe(true)
        } else {
          let err: unknown
          try {
            parseConfig({ [name]: raw })
          } catch (e) {
            err = e
          }
          expect(err, `${name}=${JSON.stringify(raw)}`).toBeInstanceOf(ConfigError)
          expect((err as ConfigError).variable).toBe(name)
        }
      }),
    )
  })
})

describe('settings in force', () => {
  it('/.well-known/vouch reports every limit, the configured ones included', async () => {
    const res = await call({ MAX_FUTURE_SKEW_MS: '60000', BLOB_MAX_BYTES: '1048576' }, '/.well-known/vouch')
    expect(res.status).toBe(200)
    const info = (await res.json()) as { limits: Record<string, number> }
    const gateLimits = {
      statementsPerDay: 10_000,
      blobBytesPerDay: 1_073_741_824,
      peerStatementsPerDay: 10_000_000,
      requestsPerMinute: 600,
      peerRequestsPerMinute: 6000,
      checksPerMinute: 10,
    }
    expect(info.limits).toEqual({ ...LIMITS, futureSkewMs: 60_000, blobBytes: 1_048_576, cpuBudgetMs: 30_000, ...gateLimits })
    const free = (await (await call({ CPU_BUDGET_MS: '10' }, '/.well-known/vouch')).json()) as { limits: Record<string, number> }
    expect(free.limits).toEqual({ ...LIMITS, blobBytes: 100 * 1024 * 1024, batchItems: 20, pageMax: 20, cpuBudgetMs: 10, ...gateLimits })
  })

  it('MAX_FUTURE_SKEW_MS is applied: 0 refuses a statement dated a minute ahead that the default accepts', async () => {
    const key = await testKey(41)
    const ahead = await makeStatement(key, { subject: 'pkg:generic/config-skew@1.0.0', time: Date.now() + 60_000 })
    const post = (vars: Record<string, string>) => call(vars, '/v1/statements', { method: 'POST', body: JSON.stringify(ahead), headers: { 'content-type': 'application/json' } })
    const refused = await post({ MAX_FUTURE_SKEW_MS: '0' })
    expect(refused.status).toBe(422)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('future_time')
    expect((await post({})).status).toBe(200)
  })

  it('BLOB_MAX_BYTES is applied to uploads', async () => {
    const res = await call({ BLOB_MAX_BYTES: '10' }, '/v1/blobs/sha256:' + '0'.repeat(64), {
      method: 'PUT',
      body: 'x'.repeat(11),
      headers: { authorization: 'Bearer test-admin-token', 'content-length': '11' },
    })
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toEqual({ code: 'blob_too_large', message: 'blobs are at most 10 bytes' })
  })
})

describe('CPU budget caps (CPU_BUDGET_MS)', () => {
  it('caps are floor(budget × 0.5 / 0.25 ms), within 10 and the protocol maxima, and grow with the budget', () => {
    expect(capsFor(10)).toEqual({ batchItems: 20, pageMax: 20 })
    expect(capsFor(1)).toEqual({ batchItems: 10, pageMax: 10 })
    expect(capsFor(30_000)).toEqual({ batchItems: LIMITS.batchItems, pageMax: LIMITS.pageMax })
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 1, max: 300_000 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        const c = capsFor(lo)
        expect(c.batchItems).toBeGreaterThanOrEqual(10)
        expect(c.batchItems).toBeLessThanOrEqual(LIMITS.batchItems)
        expect(c.pageMax).toBeLessThanOrEqual(LIMITS.pageMax)
        // Above the floor, the planned statements fit in half the budget.
        if (c.batchItems > 10) expect(c.batchItems * CPU_MS_PER_STATEMENT).toBeLessThanOrEqual(lo * 0.5)
        expect(capsFor(hi).batchItems).toBeGreaterThanOrEqual(c.batchItems)
      }),
    )
  })

  const FREE = { CPU_BUDGET_MS: '10' }
  const postBatch = (vars: Record<string, string>, batch: unknown[]) =>
    call(vars, '/v1/statements', { method: 'POST', body: JSON.stringify(batch), headers: { 'content-type': 'application/json' } })
  const signed = async (n: number, tag: string) => {
    const key = await testKey(43)
    return Promise.all(Array.from({ length: n }, (_, i) => makeStatement(key, { subject: `pkg:generic/cpu-${tag}-${i}@1.0.0`, time: Date.now() - 1000 })))
  }

  it('a POST over the relay cap gets 413 too_many_items naming the cap; one at the cap is stored', async () => {
    const batch = await signed(21, 'post')
    const over = await postBatch(FREE, batch)
    expect(over.status).toBe(413)
    expect(((await over.json()) as { error: unknown }).error).toEqual({ code: 'too_many_items', message: 'a batch holds at most 20 statements on this relay; got 21' })
    const at = await postBatch(FREE, batch.slice(0, 20))
    expect(at.status).toBe(200)
    expect(((await at.json()) as { accepted: number }).accepted).toBe(20)
    // The same 21 pass on the default (Paid) budget.
    expect((await postBatch({}, batch)).status).toBe(200)
  })

  it('lookups over pageMax get 413; feed and query pages are served at most pageMax long, with a cursor to go on', async () => {
    const batch = await signed(20, 'page')
    expect((await postBatch(FREE, batch)).status).toBe(200)
    const unknown = `sha256-${'A'.repeat(43)}=`
    const lookup = (n: number) => call(FREE, '/v1/statements/lookup', { method: 'POST', body: JSON.stringify({ ids: Array(n).fill(unknown) }), headers: { 'content-type': 'application/json' } })
    const refused = await lookup(21)
    expect(refused.status).toBe(413)
    expect(((await refused.json()) as { error: { code: string; message: string } }).error.message).toBe('at most 20 ids on this relay; got 21')
    expect((await lookup(20)).status).toBe(200)

    const ids = (await (await call(FREE, '/v1/feed?view=ids&limit=1000')).json()) as { ids: string[]; cursor: string; more: boolean }
    expect(ids.ids).toHaveLength(20)
    const full = (await (await call(FREE, '/v1/feed?limit=1000')).json()) as { statements: unknown[]; more: boolean }
    expect(full.statements).toHaveLength(20)
    const queried = (await (await call(FREE, `/v1/statements?actor=${encodeURIComponent(batch[0]!.actor)}&limit=500`)).json()) as { statements: unknown[]; cursor: string | null }
    expect(queried.statements).toHaveLength(20)
    // The protocol's range still holds: over 1000 is a bad request, not a short page.
    expect((await call(FREE, '/v1/feed?limit=1001')).status).toBe(400)
    // Every over-cap request is counted where peers and operators can see it.
    const info = (await (await call(FREE, '/.well-known/vouch')).json()) as { gossip: { overCap: number } }
    expect(info.gossip.overCap).toBeGreaterThanOrEqual(5)
  })
})
