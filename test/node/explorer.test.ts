import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, startNetwork } from '../../scripts/network-harness.ts'
import { signStatement, type Statement, type UnsignedStatement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * The explorer in a real browser: Debian's Chromium, driven by playwright-core, against a real
 * local relay (wrangler's dev engine, as `npm start` runs it). .ci/run installs Chromium; on a
 * machine without it these tests are skipped with a warning, except under CI, where they fail.
 *
 * `npm run screenshots` (VOUCH_SCREENSHOTS=1) also refreshes docs/screenshots/.
 *
 * No test here needs the internet: alias proofs are fetched from a loopback stand-in for DNS over
 * HTTPS and GitHub (the relay's ALIAS_PROOF_BASES), which answers 404 to everything.
 */

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
const INSTALL = `Chromium is needed for the explorer's browser tests and was not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does this)`
if (!hasChromium && !process.env.CI) console.warn(`test/node/explorer.test.ts skipped: ${INSTALL}`)
const SHOTS = process.env.VOUCH_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : undefined

const sri = (s: string) => `sha256-${createHash('sha256').update(s).digest('base64')}`
const hex = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`
const HOUR = 3_600_000

type Net = Awaited<ReturnType<typeof startNetwork>>
type Key = Awaited<ReturnType<typeof testKey>>

describe.skipIf(!hasChromium && !process.env.CI)('explorer in Chromium', () => {
  let net: Net
  let base = ''
  /** The stand-in for the alias proof services, and the paths the relay asked it for. */
  let proofs: Server
  const proofRequests: string[] = []
  let browser: Browser
  let page: Page
  /** Alerts, confirms and prompts the pages opened: there must be none. */
  const dialogs: string[] = []
  /** Console errors (CSP refusals among them): there must be none. */
  const consoleErrors: string[] = []
  let keys: Record<'org' | 'alice' | 'mallory' | 'b1' | 'b2' | 'b3' | 'reviewer' | 'old', Key>
  const EVIL_SUBJECT = `pkg:generic/evil<script>window.__pwned=1;alert(1)</script>"><img src=x onerror="window.__pwned=2;alert(2)">@1.0.0`
  const EVIL_META = { note: `"><img src=x onerror="window.__pwned=3;alert(3)"><svg onload="alert(4)">`, "</code><script>alert(5)</script>": 'x' }
  const V = 'pkg:generic/mylib@1.2.3'
  const SRC = sri('mylib 1.2.3 source')
  const OUT = sri('mylib 1.2.3 x86_64-linux output')
  const POLICY = () => JSON.stringify({ version: 1, trust: { keys: [keys.org.did] }, builds: { required: true, agree: 2 }, reviews: { required: 1, from: [keys.reviewer.did] } }, null, 2)

  const sign = (k: Key, f: Omit<UnsignedStatement, 'v' | 'actor'>) => signStatement({ v: 1, actor: k.did, ...f }, k.secretKey)
  async function post(items: Statement[]) {
    const res = await fetch(`${base}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
    const body = (await res.json()) as { rejected: number; results: unknown[] }
    if (res.status !== 200 || body.rejected) throw new Error(`post: HTTP ${res.status} ${JSON.stringify(body)}`)
  }

  beforeAll(async () => {
    if (!hasChromium) throw new Error(INSTALL)
    proofs = createServer((req, res) => {
      proofRequests.push(req.url ?? '')
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here')
    })
    await new Promise<void>((ok) => proofs.listen(0, '127.0.0.1', ok))
    const proofBase = `http://127.0.0.1:${(proofs.address() as AddressInfo).port}`
    const k = await Promise.all([41, 42, 43, 44, 45, 46, 47, 48].map(testKey))
    keys = { org: k[0]!, alice: k[1]!, mallory: k[2]!, b1: k[3]!, b2: k[4]!, b3: k[5]!, reviewer: k[6]!, old: k[7]! }
    const vars = {
      ALIAS_PROOF_BASES: JSON.stringify({ dohResolver: `${proofBase}/dns-query`, githubBase: `${proofBase}/github` }),
      // The explorer marks versions alice's key claims as trusted.
      EXPLORER_POLICY: JSON.stringify({ version: 1, trust: { keys: [keys.alice.did] } }),
    }
    const [relayNet, b] = await Promise.all([
      startNetwork({ relays: 1, topology: 'ring', peerTimeoutMs: 1000, vars }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ])
    net = relayNet
    browser = b
    base = net.relays[0]!.url
    const { org, alice, mallory, b1, b2, b3, reviewer, old } = keys
    const now = Date.now()
    const t = (hoursAgo: number) => now - hoursAgo * HOUR
    await post([
      // Who may speak for mylib: the org names alice and (once) an old key, later revoked.
      await makeStatement(org, { subject: alice.did, claim: 'author', object: 'pkg:generic/mylib', time: t(24 * 30) }),
      await makeStatement(org, { subject: old.did, claim: 'author', object: 'pkg:generic/mylib', time: t(24 * 60) }),
      await sign(org, { subject: old.did, claim: 'author', object: 'pkg:generic/mylib', not: true, time: t(24 * 20), meta: { reason: 'key lost with a laptop' } }),
      ...(await Promise.all([b1, b2, b3].map((k) => sign(org, { subject: k.did, claim: 'trusted-builder', time: t(24 * 30) })))),
      // Versions and their sources; mallory claims another source and alice yanked an old one.
      await makeStatement(alice, { subject: V, claim: 'source', object: SRC, meta: { format: 'nar' }, time: t(72) }),
      await makeStatement(mallory, { subject: V, claim: 'source', object: sri('mylib 1.2.3 backdoored'), time: t(30) }),
      await makeStatement(alice, { subject: 'pkg:generic/mylib@1.2.2', claim: 'source', object: sri('mylib 1.2.2 source'), time: t(24 * 10) }),
      await sign(alice, { subject: 'pkg:generic/mylib@1.2.2', claim: 'source', object: sri('mylib 1.2.2 source'), not: true, time: t(5), meta: { reason: 'CVE-2026-0001: use 1.2.3' } }),
      await makeStatement(alice, { subject: 'pkg:generic/mylib@1.3.0-rc.1', claim: 'source', object: sri('mylib 1.3.0-rc.1'), time: t(2) }),
      // Builds of 1.2.3: two builders agree, a third disagrees; one aarch64 build.
      await makeStatement(b1, { subject: SRC, claim: 'build', object: OUT, meta: { system: 'x86_64-linux', builder: 'nix' }, time: t(60) }),
      await makeStatement(b2, { subject: SRC, claim: 'build', object: OUT, meta: { system: 'x86_64-linux', builder: 'nix' }, time: t(58) }),
      await makeStatement(b3, { subject: SRC, claim: 'build', object: sri('mylib 1.2.3 odd output'), meta: { system: 'x86_64-linux', builder: 'nix' }, time: t(57) }),
      await makeStatement(b1, { subject: SRC, claim: 'build', object: sri('mylib 1.2.3 aarch64'), meta: { system: 'aarch64-linux', builder: 'nix' }, time: t(50) }),
      await makeStatement(reviewer, { subject: SRC, claim: 'review', object: 'pass', meta: { comment: 'Read the diff from 1.2.2; no new network or file access.', scope: 'full' }, time: t(40) }),
      // Alice's names (claims; proofs are checked on demand).
      await makeStatement(alice, { subject: alice.did, claim: 'alias', object: 'dns:alice.example', time: t(24 * 29) }),
      await makeStatement(alice, { subject: alice.did, claim: 'alias', object: 'github:alice', time: t(24 * 29) }),
      // Hostile text in a subject and in meta.
      await makeStatement(mallory, { subject: EVIL_SUBJECT, claim: 'source', object: SRC, meta: EVIL_META, time: t(1) }),
    ])
    // The source's bytes in the relay's blob cache (admitted: a statement names the hash).
    const blob = await fetch(`${base}/v1/blobs/${hex('mylib 1.2.3 source')}`, { method: 'PUT', body: 'mylib 1.2.3 source' })
    if (blob.status !== 201) throw new Error(`blob: HTTP ${blob.status}`)
    // A peer that is down, so the status page has a sync state to show.
    const peers = await fetch(`${base}/v1/admin/peers`, { method: 'PUT', body: JSON.stringify({ peers: ['http://127.0.0.1:9'] }), headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } })
    if (peers.status !== 200) throw new Error(`admin peers: HTTP ${peers.status}`)
    await net.pull(0)

    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    page.on('console', (m) => {
      // The browser's own request for /favicon.ico (the relay has none) is not the page's doing.
      if (m.type() === 'error' && !/\/favicon\.ico$/.test(m.location().url)) consoleErrors.push(`${m.text()} ${m.location().url}`)
    })
    // Count CSP refusals in the page itself too (an init script comes from the browser's driver, not the page).
    await page.addInitScript(() => {
      type Violation = { violatedDirective: string; blockedURI: string }
      const w = globalThis as unknown as { __violations: string[]; document: { addEventListener(type: string, f: (e: Violation) => void): void } }
      w.__violations = []
      w.document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`))
    })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await net?.stop()
    await new Promise((ok) => (proofs ? proofs.close(ok) : ok(undefined)))
  })

  const shot = async (name: string) => {
    if (!SHOTS) return
    await mkdir(SHOTS, { recursive: true })
    await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true })
  }
  /** How far the page scrolls sideways at this width (0 or less: it fits); the viewport is put back after. */
  const overflowAt = async (width: number) => {
    await page.setViewportSize({ width, height: width < 800 ? 844 : 900 })
    const px = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'))
    await page.setViewportSize({ width: 1280, height: 900 })
    return px
  }
  /** The page fits a 1280 px desktop and a 390 px phone without scrolling sideways. */
  const fits = async () => {
    expect(await overflowAt(1280), 'overflow at 1280 px').toBeLessThanOrEqual(0)
    expect(await overflowAt(390), 'overflow at 390 px').toBeLessThanOrEqual(0)
  }
  /** Whether `selector`'s first match is on screen at a 390 px phone width (the viewport is put back after). */
  const visibleAt390 = async (selector: string) => {
    await page.setViewportSize({ width: 390, height: 844 })
    const ok = await page.locator(selector).first().isVisible()
    const box = await page.locator(selector).first().boundingBox()
    await page.setViewportSize({ width: 1280, height: 900 })
    return ok && box !== null && box.x >= 0 && box.x + Math.min(box.width, 390) <= 390
  }
  const clean = async () => {
    expect(dialogs).toEqual([])
    expect(consoleErrors).toEqual([])
    expect(await page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations)).toEqual([])
  }

  it('serves the front page with a strict CSP, and its hashed stylesheet applies', async () => {
    const res = await page.goto(`${base}/`)
    expect(res!.status()).toBe(200)
    const csp = res!.headers()['content-security-policy']!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'/)
    expect(csp).not.toMatch(/script-src|unsafe/)
    // The browser applied the stylesheet, so its hash in the CSP is right.
    const style = (e: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor
    expect(await page.locator('header.top').evaluate(style)).toBe('rgb(21, 32, 43)')
    for (const href of ['/.well-known/vouch', '/openapi.json', '/v1/feed?limit=10']) await expect(page.locator(`a[href="${href}"]`).count()).resolves.toBeGreaterThan(0)
    // The latest statements, their meta as indented JSON (one key a line, not a character a line).
    expect(await page.locator('table.statements tbody tr').count()).toBeGreaterThan(5)
    const meta = page.locator('td.meta pre.json', { hasText: 'system' }).first()
    expect(await meta.textContent()).toMatch(/^\{\n {2}"builder": "nix",\n {2}"system": "/)
    expect((await meta.boundingBox())!.width).toBeGreaterThan(150)
    await fits()
    expect(await visibleAt390('.searchbig input[name=q]')).toBe(true)
    await shot('home')
    await clean()
  }, 30_000)

  it('search finds a package by name@version, a key and a hash', async () => {
    await page.goto(`${base}/`)
    await page.locator('.searchbig input[name=q]').fill('mylib@1.2.3')
    await page.locator('.searchbig input[name=q]').press('Enter')
    await page.waitForURL(`${base}/package/pkg:generic/mylib@1.2.3`)
    expect(await page.locator('h1').textContent()).toBe(V)

    await page.locator('header input[name=q]').fill(keys.alice.did)
    await page.locator('header button').click()
    await page.waitForURL(`${base}/actor/${keys.alice.did}`)
    expect(await page.locator('h1').textContent()).toBe(keys.alice.did)

    await page.locator('header input[name=q]').fill(SRC)
    await page.locator('header button').click()
    await page.waitForURL(`${base}/hash/${hex('mylib 1.2.3 source')}`)
    expect(await page.locator('h1').textContent()).toBe(SRC)
    await expect(page.locator('#source-of').textContent()).resolves.toContain('pkg:generic/mylib@1.2.3')
    await expect(page.locator('#blob').textContent()).resolves.toContain('(18 bytes)')
    const download = await page.locator('#blob a[download]').getAttribute('href')
    expect(await (await fetch(`${base}${download}`)).text()).toBe('mylib 1.2.3 source')
    await fits()
    expect(await visibleAt390('h1')).toBe(true)
    await shot('hash')

    // A name prefix lists the package with its kind and counts; a version prefix lists versions.
    await page.locator('header input[name=q]').fill('myl')
    await page.locator('header button').click()
    await page.waitForURL(`${base}/search?q=myl`)
    await expect(page.locator('#packages').textContent()).resolves.toContain('pkg:generic/mylib')
    await page.locator('header input[name=q]').fill('mylib 1.2')
    await page.locator('header button').click()
    await page.waitForURL(`${base}/search?q=mylib+1.2`)
    expect(await page.locator('#packages li').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('1.2.2'), expect.stringContaining('1.2.3')]))
    await fits()
    // A substring of the name finds it too, listed apart.
    await page.locator('header input[name=q]').fill('ylib')
    await page.locator('header button').click()
    await page.waitForURL(`${base}/search?q=ylib`)
    await expect(page.locator('#containing').textContent()).resolves.toContain('pkg:generic/mylib')
    await fits()
    expect(await visibleAt390('#containing a[href="/package/pkg:generic/mylib"]')).toBe(true)
    await shot('search')
    await clean()
  }, 30_000)

  it('a package page shows the posted claims: versions, sources, agreeing and disagreeing builders, reviews, yanks', async () => {
    await page.goto(`${base}/package/pkg:generic/mylib@1.2.3`)
    const versions = await page.locator('#versions li').allTextContents()
    expect(versions).toEqual(['1.2.2', '1.2.3', '1.3.0-rc.1'])
    const source = page.locator('#source')
    await expect(source.textContent()).resolves.toContain('Claims disagree')
    expect(await source.locator(`a[href="/actor/${keys.alice.did}"]`).count()).toBe(1)
    expect(await source.locator(`a[href="/actor/${keys.mallory.did}"]`).count()).toBe(1)
    const x86 = page.locator('#builds [data-system="x86_64-linux"]')
    await expect(x86.textContent()).resolves.toContain('builders disagree: 2 different outputs')
    // The agreeing builders are grouped on one output row.
    const agreeing = x86.locator('tbody tr').first()
    expect(await agreeing.locator('a[href^="/actor/"]').count()).toBe(2)
    await expect(agreeing.textContent()).resolves.toContain('2 builders')
    await expect(page.locator('#builds [data-system="aarch64-linux"]').textContent()).resolves.toContain('1 builder')
    await expect(page.locator('#reviews').textContent()).resolves.toContain('no new network or file access')
    await expect(page.locator('#authors').textContent()).resolves.toContain('revoked')
    await fits()
    await shot('package')

    await page.goto(`${base}/package/pkg:generic/mylib`)
    expect(await page.locator('#versions tr', { hasText: '1.2.2' }).textContent()).toContain('yanked')
    await expect(page.locator('#marks').textContent()).resolves.toContain('CVE-2026-0001')
    // Marked trusted by the operator's EXPLORER_POLICY (alice's key): the one version only she claims.
    expect(await page.locator('#versions tr', { hasText: '1.3.0-rc.1' }).textContent()).toContain('trusted')
    expect(await page.locator('#versions tr', { hasText: '1.2.3' }).textContent()).not.toContain('trusted')
    await expect(page.locator('#marks').textContent()).resolves.toContain('claimed by the key this explorer trusts')
    await fits()

    await page.goto(`${base}/package/pkg:generic/mylib@1.2.2`)
    await expect(page.locator('#negatives').textContent()).resolves.toContain('CVE-2026-0001')
    await expect(page.locator('#source').textContent()).resolves.toContain('yanked')
    await clean()
  }, 30_000)

  it('an injected <script> or "><img onerror> in a subject or meta is shown as text and never runs', async () => {
    await page.goto(`${base}/`)
    await page.locator('.searchbig input[name=q]').fill(EVIL_SUBJECT)
    await page.locator('.searchbig input[name=q]').press('Enter')
    await page.waitForURL(/\/package\//)
    // Shown exactly as the text it is.
    expect(await page.locator('h1').textContent()).toBe(EVIL_SUBJECT)
    const metaText = await page.locator('td.meta pre').first().textContent()
    expect(metaText).toContain('<img src=x onerror=')
    expect(metaText).toContain('<script>alert(5)</script>')
    for (const path of ['/', `/hash/${hex('mylib 1.2.3 source')}`, `/actor/${keys.mallory.did}`, page.url().slice(base.length)]) {
      await page.goto(`${base}${path}`)
      // No element was made from it, nothing ran, and nothing even tried (no CSP refusal).
      expect(await page.locator('script, img, iframe, object, embed, [onerror], [onload]').count(), path).toBe(0)
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), path).toBeUndefined()
      await expect(page.locator('body').textContent(), path).resolves.toContain('<script>')
      await clean()
    }
  })

  it('an actor page shows the key, its aliases (unchecked until asked), its claims and who vouches for it', async () => {
    await page.goto(`${base}/actor/${keys.alice.did}`)
    expect(await page.locator('#aliases [data-alias-status="unchecked"]').count()).toBe(2)
    expect(await page.locator(`#vouches a[href="/actor/${keys.org.did}"]`).count()).toBe(1)
    expect(await page.locator('#claimed tbody tr').count()).toBe(6)
    await fits()
    expect(await visibleAt390('h1')).toBe(true)
    await shot('actor')
    // The button POSTs (the browser sends its Origin, which must be accepted as this relay's own),
    // the relay checks the proofs now and sends the browser back to the page, which shows the results
    // (here they fail: the names are not real, or there is no network).
    const posted = page.waitForRequest((r) => r.method() === 'POST')
    await page.locator('#aliases button').click()
    expect((await posted).headers()['origin']).toBe(base)
    await page.waitForURL(`${base}/actor/${keys.alice.did}#aliases`)
    expect(await page.locator('#aliases [data-alias-status="failed"]').count()).toBe(2)
    await expect(page.locator('#aliases').textContent()).resolves.toContain('(checked')
    // The proofs were asked of the loopback stand-ins, not of the internet.
    expect(proofRequests).toEqual(expect.arrayContaining([expect.stringMatching(/^\/github\/alice\.keys/), expect.stringMatching(/^\/dns-query\?/)]))
    await fits()
    await clean()
  }, 30_000)

  it('the trust view evaluates a pasted policy and draws the explanation graph', async () => {
    await page.goto(`${base}/trust`)
    await page.locator('#package').fill('mylib@1.2.3')
    await page.locator('#policy').fill(POLICY())
    await page.locator('form.box button[type=submit]').click()
    await page.waitForSelector('[data-verdict]')
    expect(await page.locator('[data-verdict]').getAttribute('data-verdict')).toBe('trusted')
    const svg = page.locator('svg.graph')
    const box = await svg.boundingBox()
    expect(box!.width).toBeGreaterThan(500)
    expect(box!.height).toBeGreaterThan(200)
    expect(await svg.locator('g.node').count()).toBeGreaterThanOrEqual(10)
    expect(await svg.locator('g.node-bad').count()).toBeGreaterThan(0) // mallory's claim and the odd build are shown as not counted
    expect(await svg.locator('path.edge').count()).toBe((await svg.locator('g.node').count()) - 1)
    await expect(page.locator('pre.tree').textContent()).resolves.toContain('✓ pkg:generic/mylib@1.2.3: trusted')
    // The verdict is above the fold at 1280x900, and neither width scrolls the page sideways.
    expect((await page.locator('[data-verdict]').boundingBox())!.y + 40).toBeLessThan(900)
    await fits()
    expect(await visibleAt390('[data-verdict] .big')).toBe(true)
    // Graph labels in full: no box's text runs past its box.
    const spill = await svg.evaluate((el) => {
      type Box = { x: number; width: number }
      type El = { querySelectorAll(s: string): Iterable<El>; querySelector(s: string): El; getBBox(): Box }
      let worst = 0
      for (const g of (el as unknown as El).querySelectorAll('g.node')) {
        const rect = g.querySelector('rect').getBBox()
        for (const t of g.querySelectorAll('text')) worst = Math.max(worst, t.getBBox().x + t.getBBox().width - (rect.x + rect.width))
      }
      return worst
    })
    expect(spill).toBeLessThanOrEqual(0)
    await shot('trust')
    await clean()
  }, 30_000)

  it('the status page shows counts and each peer with its last sync', async () => {
    const res = await page.goto(`${base}/status`)
    expect(res!.status()).toBe(200)
    expect(await page.locator('[data-count="statements"]').textContent()).toBe('19')
    expect(await page.locator('[data-count="blobs"]').textContent()).toBe('1')
    await expect(page.locator('[data-peer="http://127.0.0.1:9"]').textContent()).resolves.toContain('1 failure')
    await expect(page.locator('#gossip').textContent()).resolves.toContain('statements received in pushes')
    await fits()
    await shot('status')
    await clean()
  }, 30_000)
})
