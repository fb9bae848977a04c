import { createExecutionContext, env, SELF, waitOnExecutionContext } from 'cloudflare:test'
import { jsx } from 'hono/jsx'
import { describe, expect, it } from 'vitest'
import { packageData } from '../../src/explorer/data.ts'
import { PackagePage } from '../../src/explorer/package.tsx'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { formatSri, sha256, utf8, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Package and version pages mark yanked, revoked, conflicting and trusted versions, each with the
 * statements behind the mark (issue 19). The regression: a package page said "Yanks and
 * revocations: None." while one of its versions was yanked.
 */

const BASE = 'http://relay.test'
const post = async (items: Statement[]) => {
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
  return ((await res.json()) as { results: { id: string }[] }).results.map((r) => r.id)
}
const pageOf = async (purl: string, status = 200) => {
  const res = await SELF.fetch(`${BASE}/package/${encodeURIComponent(purl).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@')}`)
  expect(res.status).toBe(status)
  return res.text()
}
let serial = 0
const uniq = (p: string) => `${p}${Date.now().toString(36)}${serial++}`
const hashOf = async (s: string) => formatSri(await sha256(utf8(s)))
/** The part of a page from the section with this id to the next section. */
const section = (body: string, id: string) => body.slice(body.indexOf(`id="${id}"`)).split('<section')[0]!
/** The versions table row of one version. */
const rowOf = (body: string, version: string) => section(body, 'versions').split('<tr>').find((r) => r.includes(`>${version}</a>`)) ?? ''

describe('package pages mark versions', () => {
  it('a yanked version is marked on the package page, and its yank is listed (not "None.")', async () => {
    const key = await testKey(221)
    const pkg = `pkg:npm/${uniq('yanky')}`
    const [h1, h2] = [await hashOf(uniq('a')), await hashOf(uniq('b'))]
    const t = Date.now() - 10_000
    const ids = await post([
      await makeStatement(key, { subject: `${pkg}@1.0.0`, object: h1, time: t }),
      await makeStatement(key, { subject: `${pkg}@1.0.1`, object: h2, time: t }),
      await makeStatement(key, { subject: `${pkg}@1.0.0`, object: h1, not: true, meta: { reason: 'bad build' }, time: t + 1 }),
    ])
    const body = await pageOf(pkg)
    expect(rowOf(body, '1.0.0')).toContain('>yanked<')
    expect(rowOf(body, '1.0.1')).not.toContain('>yanked<')
    const negatives = section(body, 'negatives')
    expect(negatives).not.toContain('None.')
    expect(negatives).toContain(ids[2]!.slice(7, 15))
    expect(negatives).toContain('bad build')
    const marks = section(body, 'marks')
    expect(marks).toContain('yanked by')
    expect(marks).toContain('bad build')
    // The version page: the yanked hash still shows who claimed it, and the mark says why.
    const v = await pageOf(`${pkg}@1.0.0`)
    const source = section(v, 'source')
    expect(source).toContain('earlier, since withdrawn')
    expect(source).toContain(`/actor/${key.did}`)
    expect(section(v, 'marks')).toContain('>yanked<')
  })

  it('conflicting claims and a registry revocation are marked, with the statements behind them', async () => {
    const [a, b] = [await testKey(222), await testKey(223)]
    const pkg = `pkg:npm/${uniq('twofaced')}`
    const [h1, h2] = [await hashOf(uniq('c')), await hashOf(uniq('d'))]
    const t = Date.now() - 10_000
    await post([
      await makeStatement(a, { subject: `${pkg}@2.0.0`, object: h1, time: t }),
      await makeStatement(b, { subject: `${pkg}@2.0.0`, object: h2, time: t }),
      await makeStatement(a, { subject: `${pkg}@3.0.0`, claim: 'published', object: h1, meta: { registry: 'https://registry.npmjs.org' }, time: t }),
      await makeStatement(a, { subject: `${pkg}@3.0.0`, claim: 'published', object: h1, not: true, meta: { registry: 'https://registry.npmjs.org', reason: 'unpublished' }, time: t + 1 }),
    ])
    const body = await pageOf(pkg)
    expect(rowOf(body, '2.0.0')).toContain('>conflicting<')
    expect(rowOf(body, '3.0.0')).toContain('>revoked<')
    expect(rowOf(body, '2.0.0')).not.toContain('>trusted<')
    const marks = section(body, 'marks')
    expect(marks).toContain('2 different source hashes')
    expect(marks).toContain('revoked (unpublished) according to')
    expect(marks).toContain('No key is trusted by this explorer')
  })

  it('a version whose one live hash a trusted key claims is marked trusted; without trusted keys none is', async () => {
    const [root, other] = [await testKey(224), await testKey(225)]
    const pkg = `pkg:npm/${uniq('trusty')}`
    const [h1, h2] = [await hashOf(uniq('e')), await hashOf(uniq('f'))]
    const t = Date.now() - 10_000
    await post([
      await makeStatement(root, { subject: `${pkg}@1.0.0`, object: h1, time: t }),
      await makeStatement(other, { subject: `${pkg}@1.1.0`, object: h2, time: t }),
    ])
    const render = async (trusted: string[]) => {
      const d = await packageData(env.DB, pkg, trusted)
      return String(await jsx(PackagePage, { d, now: Date.now(), trusted }).toString())
    }
    const withRoot = await render([root.did])
    expect(rowOf(withRoot, '1.0.0')).toContain('>trusted<')
    expect(rowOf(withRoot, '1.1.0')).not.toContain('>trusted<')
    expect(section(withRoot, 'marks')).toContain('trusted: claimed by the key this explorer trusts')
    const none = await render([])
    expect(none).not.toContain('>trusted<')
  })

  it('the relay marks by the operator\'s EXPLORER_POLICY, by default its admission roots (OPERATOR_KEYS)', async () => {
    const [root, chosen] = [await testKey(226), await testKey(227)]
    const pkg = `pkg:npm/${uniq('policy')}`
    const t = Date.now() - 10_000
    await post([
      await makeStatement(root, { subject: `${pkg}@1.0.0`, object: await hashOf(uniq('g')), time: t }),
      await makeStatement(chosen, { subject: `${pkg}@2.0.0`, object: await hashOf(uniq('h')), time: t }),
    ])
    const view = async (vars: Record<string, string>) => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(new Request(`${BASE}/package/${pkg}`), { ...(env as unknown as RelayEnv), ...vars } as RelayEnv, ctx)
      await waitOnExecutionContext(ctx)
      expect(res.status).toBe(200)
      return res.text()
    }
    const byRoots = await view({ OPERATOR_KEYS: root.did })
    expect(rowOf(byRoots, '1.0.0')).toContain('>trusted<')
    expect(rowOf(byRoots, '2.0.0')).not.toContain('>trusted<')
    const byPolicy = await view({ OPERATOR_KEYS: root.did, EXPLORER_POLICY: JSON.stringify({ version: 1, trust: { keys: [chosen.did] } }) })
    expect(rowOf(byPolicy, '1.0.0')).not.toContain('>trusted<')
    expect(rowOf(byPolicy, '2.0.0')).toContain('>trusted<')
    expect(section(byPolicy, 'marks')).toContain(`/actor/${chosen.did}`)
    // The trust view's form starts from the same policy.
    const ctx = createExecutionContext()
    const form = await (await worker.fetch(new Request(`${BASE}/trust`), { ...(env as unknown as RelayEnv), EXPLORER_POLICY: JSON.stringify({ version: 1, trust: { keys: [chosen.did] } }) } as RelayEnv, ctx)).text()
    await waitOnExecutionContext(ctx)
    expect(form).toContain(`&quot;${chosen.did}&quot;`)
  })
})
