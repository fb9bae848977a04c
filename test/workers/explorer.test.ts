import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CSS } from '../../src/explorer/layout.tsx'
import { layoutTree } from '../../src/explorer/graph.tsx'
import { resolveSearch } from '../../src/explorer/search.ts'
import { visible } from '../../src/explorer/text.ts'
import { base64, formatSri, hex, hexForm, sha256, signStatement, utf8, type Statement, type UnsignedStatement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * The explorer in workerd, through SELF.fetch: status codes, redirects, headers, and that hostile
 * subjects and meta come out as text. test/node/explorer.test.ts drives the same pages in Chromium.
 */

const BASE = 'http://relay.test'
const get = (path: string) => SELF.fetch(`${BASE}${path}`, { redirect: 'manual' })
const post = async (items: Statement[]) => {
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
  return ((await res.json()) as { results: { id: string; status: string }[] }).results.map((r) => r.id)
}
const hashOf = async (s: string) => formatSri(await sha256(utf8(s)))
/** The same path encoding the explorer's links use. */
const pkgPath = (purl: string) => `/package/${encodeURIComponent(purl).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@')}`

let serial = 0
const uniq = (p: string) => `${p}${Date.now().toString(36)}${serial++}`

async function html(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  const csp = res.headers.get('content-security-policy')!
  expect(csp).toContain("default-src 'none'")
  expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/)
  return res.text()
}

/** Every tag the explorer writes. A hostile string that escaped escaping would add another, or an attribute. */
const TAGS = new Set('html head meta title style body header div a nav form input button main footer p h1 h2 h3 ul li code span table thead tbody tr th td time section details summary dl dt dd strong small br svg g path rect text label textarea pre'.split(' '))

/**
 * No element or attribute that could run: the markup is tokenised (tags and their quoted
 * attributes) and every tag must be one the explorer writes, with no event handler and no
 * script URL. Hostile text may only appear escaped, inside text or a quoted attribute value.
 */
function expectInert(body: string) {
  expect(body).not.toMatch(/<script/i)
  const tag = /<([a-zA-Z][\w:-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g
  const attr = /([^\s=>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g
  for (const [, name, attrs] of body.matchAll(tag)) {
    expect(TAGS.has(name!.toLowerCase()), `unexpected <${name}>`).toBe(true)
    for (const [, a, v1, v2, v3] of attrs!.matchAll(attr)) {
      expect(a!.toLowerCase().startsWith('on'), `event handler ${a} on <${name}>`).toBe(false)
      expect(['style', 'srcdoc', 'formaction'].includes(a!.toLowerCase()), `${a} on <${name}>`).toBe(false)
      if (/^(href|action|src|xlink:href)$/i.test(a!)) expect(v1 ?? v2 ?? v3 ?? '', `${a} on <${name}>`).toMatch(/^(\/|#|\?|https?:\/\/www\.w3\.org\/)/)
    }
  }
  // Every < in the body opened one of those tags (or closes one, or is the doctype).
  const opens = (body.match(/</g) ?? []).length
  const known = [...body.matchAll(tag)].length + (body.match(/<\/[a-zA-Z][\w:-]*>/g) ?? []).length + (body.match(/<!DOCTYPE html>/g) ?? []).length
  expect(opens).toBe(known)
}

type Key = Awaited<ReturnType<typeof testKey>>

/** A statement with no object (trusted-builder), which makeStatement's defaults cannot express. */
const sign = async (key: Key, f: Omit<UnsignedStatement, 'v' | 'actor'>) => signStatement({ v: 1, actor: key.did, ...f }, key.secretKey)

describe('explorer: pages and headers', () => {
  it('the front page keeps the API links, has a search form, and carries a CSP whose style hash matches its only stylesheet', async () => {
    const res = await get('/')
    const body = await html(res, 200)
    for (const link of ['href="/.well-known/vouch"', 'href="/openapi.json"', 'href="/v1/feed?limit=10"', 'action="/search"', 'href="/trust"', 'href="/status"']) expect(body).toContain(link)
    expect(body.startsWith('<!DOCTYPE html>')).toBe(true)
    const styles = [...body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!)
    expect(styles).toEqual([CSS])
    const hash = base64.encode((await sha256(utf8(CSS))).bytes)
    expect(res.headers.get('content-security-policy')).toContain(`style-src 'sha256-${hash}'`)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    // Forms post only here; same-origin referrers so that browsers send the pages' Origin (not `null`) with them.
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self'")
    expect(res.headers.get('referrer-policy')).toBe('same-origin')
    expect(body).toContain('<meta name="referrer" content="same-origin"/>')
    expect(body).not.toMatch(/\sstyle=/) // a hashed stylesheet does not allow style attributes
  })

  it('search redirects each kind of name to its page', async () => {
    const key = await testKey(61)
    const h = await hashOf('search')
    const d = { alg: 'sha256' as const, bytes: base64.decode(h.slice(7)) }
    const cases: [string, string][] = [
      ['pkg:npm/%40scope/name@1.0.0', '/package/pkg:npm/%2540scope/name@1.0.0'],
      [key.did, `/actor/${key.did}`],
      [h, `/hash/${hexForm(d)}`],
      [hexForm(d), `/hash/${hexForm(d)}`],
      [`sha256-${base64.encode(d.bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`, `/hash/${hexForm(d)}`],
    ]
    for (const [q, to] of cases) {
      for (const path of [`/search?q=${encodeURIComponent(q)}`, `/?q=${encodeURIComponent(q)}`]) {
        const res = await get(path)
        expect(res.status, path).toBe(303)
        expect(res.headers.get('location'), path).toBe(to)
      }
    }
    expect((await get('/search?q=')).headers.get('location')).toBe('/')
    expect(resolveSearch('did:key:nope')).toMatchObject({ kind: 'invalid' })
    const bad = await html(await get(`/search?q=${encodeURIComponent('did:key:z6Mk<b>x</b>')}`), 400)
    expect(bad).toContain('did:key:z6Mk&lt;b&gt;x&lt;/b&gt;')
    await html(await get(`/search?q=${encodeURIComponent('sha256:abc')}`), 400)
    // Names are searched, not redirected (test/workers/search.test.ts): an unknown one is a 404 list.
    await html(await get(`/search?q=${encodeURIComponent('two words')}`), 404)
    await html(await get(`/search?q=${encodeURIComponent('three words here')}`), 400)
  })

  it('an alias search lists the keys that claim it, marked unchecked', async () => {
    const key = await testKey(62)
    const alias = `dns:${uniq('alias')}.example`
    await post([await makeStatement(key, { subject: key.did, claim: 'alias', object: alias, time: Date.now() })])
    const body = await html(await get(`/search?q=${encodeURIComponent(alias)}`), 200)
    expect(body).toContain(`/actor/${key.did}`)
    expect(body).toContain('claimed, not checked')
    await html(await get(`/search?q=${encodeURIComponent('dns:nobody.example')}`), 404)
  })

  it('bad names are HTML 400s, unknown ones HTML 404s, and the API keeps its JSON errors', async () => {
    await html(await get('/package/not-a-purl'), 400)
    await html(await get(`/hash/sha256:${'zz'.repeat(32)}`), 400)
    await html(await get('/actor/did:key:z6Mkbad'), 400)
    await html(await get(`/hash/sha256:${'ab'.repeat(32)}`), 404)
    await html(await get(pkgPath(`pkg:generic/${uniq('nothing')}@1`)), 404)
    await html(await get(`/actor/${(await testKey(63)).did}`), 404)
    const api = await get('/v1/statements/nope')
    expect(api.headers.get('content-type')).toMatch(/^application\/json/)
  })
})

describe('explorer: content', () => {
  it('a package page shows versions, source claims, agreeing and disagreeing builders, reviews and yanks', async () => {
    const [author, b1, b2, b3, reviewer] = (await Promise.all([71, 72, 73, 74, 75].map(testKey))) as [Key, Key, Key, Key, Key]
    const name = uniq('pkgpage')
    const v = `pkg:generic/${name}@1.0.0`
    const src = await hashOf(`${name} source`)
    const bad = await hashOf(`${name} evil`)
    const out = await hashOf(`${name} out`)
    const other = await hashOf(`${name} other`)
    const t = Date.now() - 60_000
    const s = (k: Key, f: Partial<UnsignedStatement>) => makeStatement(k, { time: t, ...f })
    await post([
      await s(author, { subject: v, claim: 'source', object: src }),
      await s(author, { subject: `pkg:generic/${name}@2.0.0`, claim: 'source', object: other }),
      await s(b3, { subject: v, claim: 'source', object: bad }),
      await s(author, { subject: v, claim: 'source', object: bad, not: true, time: t + 1, meta: { reason: 'not ours' } }),
      await s(b1, { subject: src, claim: 'build', object: out, meta: { system: 'x86_64-linux' } }),
      await s(b2, { subject: src, claim: 'build', object: out, meta: { system: 'x86_64-linux' } }),
      await s(b3, { subject: src, claim: 'build', object: other, meta: { system: 'x86_64-linux' } }),
      await s(reviewer, { subject: src, claim: 'review', object: 'pass', meta: { comment: 'read every line' } }),
      await s(author, { subject: author.did, claim: 'author', object: `pkg:generic/${name}` }),
    ])
    const body = await html(await get(pkgPath(v)), 200)
    expect(body).toContain(`/package/pkg:generic/${name}@2.0.0`) // the other version
    expect(body).toContain(`/hash/${hexForm({ alg: 'sha256', bytes: base64.decode(src.slice(7)) })}`)
    expect(body).toContain('yanked')
    expect(body).toContain('not ours')
    expect(body).toContain('builders disagree: 2 different outputs')
    expect(body).toContain('2 builders')
    expect(body).toContain('read every line')
    expect(body).toContain(`/actor/${b1.did}`)
    const pkgPage = await html(await get(pkgPath(`pkg:generic/${name}`)), 200)
    expect(pkgPage).toContain('1.0.0')
    expect(pkgPage).toContain('2.0.0')
  })

  it('hostile subjects, objects and meta are escaped text on every page', async () => {
    const key = await testKey(76)
    const evil = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
    const evilAlias = `<script>alert(1)</script>"><img/src=x/onerror=alert(2)>`
    const subject = `pkg:generic/${uniq('x')}${evil}@1`
    const h = await hashOf(subject)
    const meta = { note: `"><img src=x onerror=alert(3)><svg onload=alert(4)>`, "<b onmouseover='x'>": 'javascript:alert(5)' }
    const rtl = `pkg:generic/${uniq('rtl')}\u202Egpj.exe@1`
    await post([
      await makeStatement(key, { subject, object: h, meta, time: Date.now() }),
      await makeStatement(key, { subject: h, claim: 'review', object: evil, meta, time: Date.now() }),
      await makeStatement(key, { subject: key.did, claim: 'alias', object: `dns:${evilAlias}`, time: Date.now() }),
      await makeStatement(key, { subject: rtl, object: h, time: Date.now() }),
    ])
    const pages = [pkgPath(subject), `/hash/${encodeURIComponent(h)}`, `/actor/${key.did}`, '/', `/search?q=${encodeURIComponent(`dns:${evilAlias}`)}`]
    for (const path of pages) {
      const body = await html(await get(path), 200)
      expectInert(body)
      expect(body, path).toMatch(/&lt;script&gt;|&lt;img/)
    }
    const rtlPage = await html(await get(pkgPath(rtl)), 200)
    expect(rtlPage).toContain('⟨U+202E⟩')
    // Only the search box keeps the text as it is, so that searching again finds the same subject.
    expect(rtlPage.replace(/ value="[^"]*"/g, '')).not.toContain('\u202E')
  })

  it('a hash page says whether the blob is cached, with its size and a download link', async () => {
    const data = utf8('explorer blob '.repeat(100))
    const d = await sha256(data)
    const sri = formatSri(d)
    const key = await testKey(77)
    await post([await makeStatement(key, { subject: `pkg:generic/${uniq('blob')}@1`, object: sri, time: Date.now() })])
    const before = await html(await get(`/hash/${hexForm(d)}`), 200)
    expect(before).toContain('not cached')
    const up = await SELF.fetch(`${BASE}/v1/blobs/${hexForm(d)}`, { method: 'PUT', body: data, headers: { 'content-length': String(data.length) } })
    expect(up.status).toBe(201)
    const after = await html(await get(`/hash/${hexForm(d)}`), 200)
    expect(after).toContain(`${data.length} bytes`)
    expect(after).toContain(`href="/v1/blobs/${hexForm(d)}"`)
    // A statement id is a hash too: its page shows the statement.
    const [id] = await post([await makeStatement(key, { subject: `pkg:generic/${uniq('id')}@1`, time: Date.now() })])
    const idPage = await html(await get(`/hash/${encodeURIComponent(id!)}`), 200)
    expect(idPage).toContain('A statement with this id')
  })

  it('an actor page lists its aliases unchecked, and checks them only when asked (a POST)', async () => {
    const key = await testKey(78)
    const voucher = await testKey(79)
    const alias = `nosuchscheme:${uniq('me')}`
    await post([
      await makeStatement(key, { subject: key.did, claim: 'alias', object: alias, time: Date.now() }),
      await sign(voucher, { subject: key.did, claim: 'trusted-builder', time: Date.now() }),
    ])
    const page = await html(await get(`/actor/${key.did}`), 200)
    expect(page).toContain('data-alias-status="unchecked"')
    expect(page).toContain('Check alias proofs now')
    expect(page).toContain(`/actor/${voucher.did}`) // who vouches for it
    const asked = await SELF.fetch(`${BASE}/actor/${key.did}`, { method: 'POST', redirect: 'manual' })
    expect(asked.status).toBe(303)
    expect(asked.headers.get('location')).toBe(`/actor/${key.did}#aliases`)
    const checked = await html(await get(`/actor/${key.did}`), 200)
    expect(checked).toContain('data-alias-status="failed"')
    expect(checked).toContain('no proof method for scheme nosuchscheme')
  })

  it('the trust view evaluates a pasted policy and draws the explanation as an SVG graph', async () => {
    const [root, builder] = (await Promise.all([81, 82].map(testKey))) as [Key, Key]
    const name = uniq('trust')
    const v = `pkg:generic/${name}@1.0.0`
    const src = await hashOf(`${name} src`)
    const out = await hashOf(`${name} out`)
    const t = Date.now() - 1000
    await post([
      await makeStatement(root, { subject: v, claim: 'source', object: src, time: t }),
      await sign(root, { subject: builder.did, claim: 'trusted-builder', time: t }),
      await makeStatement(builder, { subject: src, claim: 'build', object: out, meta: { system: 'x86_64-linux' }, time: t }),
    ])
    const policy = JSON.stringify({ version: 1, trust: { keys: [root.did] }, builds: { required: true } })
    const form = new URLSearchParams({ package: `${name}@1.0.0`, policy })
    const res = await SELF.fetch(`${BASE}/trust`, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    const body = await html(res, 200)
    expect(body).toContain('data-verdict="trusted"')
    expect(body).toMatch(/<svg[^>]*class="graph"/)
    expect((body.match(/<g class="node/g) ?? []).length).toBeGreaterThanOrEqual(5)
    expect(body).toContain('✓ builds')
    expect(body).toContain('1 trusted build output')

    // The same by GET (a shareable link), and as multipart with an uploaded file.
    const viaGet = await html(await get(`/trust?${new URLSearchParams({ package: v, policy })}`), 200)
    expect(viaGet).toContain('data-verdict="trusted"')
    const fd = new FormData()
    fd.set('package', v)
    fd.set('policy', '')
    fd.set('policyFile', new File([policy], 'policy.json', { type: 'application/json' }))
    const multipart = new Request(`${BASE}/trust`, { method: 'POST', body: fd })
    const buf = await multipart.arrayBuffer()
    const up = await SELF.fetch(`${BASE}/trust`, { method: 'POST', body: buf, headers: { 'content-type': multipart.headers.get('content-type')!, 'content-length': String(buf.byteLength) } })
    expect(await html(up, 200)).toContain('data-verdict="trusted"')

    // Without the builder's trust the verdict fails, on the builds branch.
    const strict = JSON.stringify({ version: 1, trust: { keys: [root.did] }, builds: { required: true, builderDepth: 0 } })
    const untrusted = await html(await get(`/trust?${new URLSearchParams({ package: v, policy: strict })}`), 200)
    expect(untrusted).toContain('data-verdict="untrusted"')
    expect(untrusted).toContain('class="node node-bad"')
  })

  it('the trust view refuses a bad policy or package with a 400 that says why, and shows the form first', async () => {
    expect(await html(await get('/trust'), 200)).toContain('<form method="post" action="/trust"')
    const bad = await html(await get(`/trust?${new URLSearchParams({ package: 'pkg:generic/a@1', policy: '{"version": 1, "trust": {"keyz": []}}' })}`), 400)
    expect(bad).toContain('invalid policy')
    const notJson = await html(await get(`/trust?${new URLSearchParams({ package: 'pkg:generic/a@1', policy: '<script>' })}`), 400)
    expect(notJson).toContain('not JSON')
    expectInert(notJson)
    const noVersion = await html(await get(`/trust?${new URLSearchParams({ package: 'pkg:generic/a', policy: '{"version":1}' })}`), 400)
    expect(noVersion).toContain('with a version')
    const big = await SELF.fetch(`${BASE}/trust`, { method: 'POST', body: 'policy=' + 'x'.repeat(100_000), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    await html(big, 413)
  })

  it('the status page counts statements and blobs and lists peers', async () => {
    const body = await html(await get('/status'), 200)
    const n = (await env.DB.prepare('SELECT count(*) AS n FROM statements').first<number>('n'))!
    expect(body).toContain(`data-count="statements">${n.toLocaleString('en')}<`)
    const blobs = (await env.BLOBS.list({ prefix: 'blobs/' })).objects.length
    expect(body).toContain(`data-count="blobs">${blobs.toLocaleString('en')}<`)
    expect(body).toContain('Peers')
    // Gossip counters in words, never the code's camelCase names.
    const gossip = body.slice(body.indexOf('id="gossip"'))
    expect(gossip).toContain('statements received in pushes')
    expect(gossip).toContain('requests refused for a bad signature')
    expect(gossip).not.toMatch(/>[a-z]+[A-Z][A-Za-z]*</)
  })

  it('meta is shown as indented JSON, one key a line', async () => {
    const key = await testKey(77)
    const subject = `pkg:generic/${uniq('meta')}@1`
    await post([await makeStatement(key, { subject, object: await hashOf(subject), meta: { reason: 'rebuilt', builder: { os: 'linux' } }, time: Date.now() })])
    for (const path of ['/', `/actor/${key.did}`]) {
      const body = await html(await get(path), 200)
      // Keys in canonical (sorted) order, as signed.
      expect(body, path).toContain('<pre class="json u">{\n  &quot;builder&quot;: {\n    &quot;os&quot;: &quot;linux&quot;\n  },\n  &quot;reason&quot;: &quot;rebuilt&quot;\n}</pre>')
    }
  })
})

describe('explorer: pieces', () => {
  it('visible() spells out direction and zero-width characters', () => {
    expect(visible('a\u202Eb\u200Bc')).toBe('a⟨U+202E⟩b⟨U+200B⟩c')
    expect(visible('plain')).toBe('plain')
  })
  it('the graph layout stacks leaves, centres parents on their children, and never overlaps boxes in a column', () => {
    const tree = { rule: 'verdict', ok: true, text: 'v', children: [{ rule: 'a', ok: true, text: 'a', children: [{ rule: 'a1', ok: true, text: '' }, { rule: 'a2', ok: false, text: '' }] }, { rule: 'b', ok: false, text: 'b' }] }
    const { nodes, depth } = layoutTree(tree)
    const at = (rule: string) => nodes.find((n) => n.rule === rule)!
    expect(depth).toBe(2)
    expect(at('a1').top).toBe(0)
    expect(at('a2').top).toBeGreaterThanOrEqual(at('a1').top + at('a1').height)
    const mid = (n: { top: number; height: number }) => n.top + n.height / 2
    expect(mid(at('a'))).toBeCloseTo((mid(at('a1')) + mid(at('a2'))) / 2)
    const wide = { rule: 'r', ok: true, text: '', children: Array.from({ length: 300 }, (_, i) => ({ rule: `c${i}`, ok: true, text: '' })) }
    const cut = layoutTree(wide, 20)
    expect(cut.nodes).toHaveLength(21)
    expect(cut.nodes.at(-1)!.more).toBe(281)
  })
  it('graph labels are wrapped in full: every character of a long text is drawn, in a taller box', () => {
    const long = `the key did:key:z6Mk${'x'.repeat(50)} claims sha256-${'A'.repeat(43)}= as the source of pkg:npm/left-pad@1.3.0 and this sentence goes on`
    const tree = { rule: 'verdict', ok: false, text: long, children: [{ rule: 'a', ok: true, text: 'short' }, { rule: 'b', ok: false, text: long }] }
    const { nodes } = layoutTree(tree)
    for (const n of nodes) {
      expect(n.textLines.join('').replace(/\s/g, '')).toBe((n.rule === 'a' ? 'short' : long).replace(/\s/g, ''))
      for (const l of n.textLines) expect([...l].length).toBeLessThanOrEqual(30)
    }
    expect(nodes[2]!.height).toBeGreaterThan(nodes[1]!.height)
    // Random trees: boxes in one column never overlap.
    fc.assert(
      fc.property(fc.letrec((tie) => ({ node: fc.record({ rule: fc.constantFrom('x', 'y'), ok: fc.boolean(), text: fc.string({ maxLength: 200 }), children: fc.oneof({ maxDepth: 3, depthIdentifier: 'tree' }, fc.constant([]), fc.array(tie('node'), { maxLength: 3 })) }) })).node, (t) => {
        const { nodes } = layoutTree(t as Parameters<typeof layoutTree>[0])
        for (const a of nodes) for (const b of nodes) if (a !== b && a.depth === b.depth) expect(a.top + a.height <= b.top || b.top + b.height <= a.top).toBe(true)
      }),
      { numRuns: 100 },
    )
  })
  it('hex ids in links are the hex form of the hash', () => {
    expect(hexForm({ alg: 'sha256', bytes: hex.decode('00'.repeat(32)) })).toBe(`sha256:${'00'.repeat(32)}`)
  })
})
