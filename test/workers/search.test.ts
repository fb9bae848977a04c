import { env, SELF } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { distance, rank } from '../../src/explorer/find.ts'
import { parseNameQuery, resolveSearch } from '../../src/explorer/search.ts'
import { splitPurl } from '../../src/explorer/data.ts'
import { insertStatements } from '../../src/store/statements.ts'
import { base64, formatSri, hex, sha256, utf8, verifyStatement, type Statement } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Search over the names index (migrations/0003_names.sql): every purl type, prefixes, versions,
 * aliases, hashes in any spelling, "did you mean"; and what the index costs in D1 rows written.
 */

const BASE = 'http://relay.test'
const get = (path: string) => SELF.fetch(`${BASE}${path}`, { redirect: 'manual' })
const search = (q: string) => get(`/search?q=${encodeURIComponent(q)}`)
const post = async (items: Statement[]) => {
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
}
let serial = 0
const uniq = (p: string) => `${p}${Date.now().toString(36)}${serial++}`
const hashOf = async (s: string) => formatSri(await sha256(utf8(s)))

async function page(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  return res.text()
}

describe('search finds packages by name', () => {
  it('a bare name lists the package of every purl type, with counts and newest time; a prefix finds it too', async () => {
    const key = await testKey(201)
    const name = uniq('leftpad')
    const t = Date.now()
    await post([
      await makeStatement(key, { subject: `pkg:npm/${name}@1.3.0`, time: t - 2000 }),
      await makeStatement(key, { subject: `pkg:npm/${name}@1.2.0`, time: t - 1000 }),
      await makeStatement(key, { subject: `pkg:pypi/${name}@0.1`, time: t - 3000 }),
    ])
    const body = await page(await search(name), 200)
    expect(body).toContain(`href="/package/pkg:npm/${name}"`)
    expect(body).toContain(`href="/package/pkg:pypi/${name}"`)
    expect(body).not.toContain('pkg:generic')
    const npmRow = body.slice(body.indexOf(`pkg:npm/${name}</a>`)).split('</tr>')[0]!
    expect(npmRow).toContain('<td>2</td>')
    expect(npmRow).toContain(new Date(t - 1000).toISOString())
    // A prefix, and upper case, find the same packages.
    const prefix = await page(await search(name.slice(0, -3).toUpperCase()), 200)
    expect(prefix).toContain(`pkg:npm/${name}`)
    expect(prefix).toContain(`pkg:pypi/${name}`)
  })

  it('a version (`name 1.2` or `name@1.2`) lists the versions that start so; a scope narrows', async () => {
    const key = await testKey(202)
    const name = uniq('mylib')
    await post([
      await makeStatement(key, { subject: `pkg:npm/%40acme/${name}@1.0.0` }),
      await makeStatement(key, { subject: `pkg:npm/%40acme/${name}@1.0.1` }),
      await makeStatement(key, { subject: `pkg:npm/%40acme/${name}@2.0.0` }),
      await makeStatement(key, { subject: `pkg:generic/${name}@1.0.0` }),
    ])
    for (const q of [`${name} 1.0`, `${name}@1.0`]) {
      const body = await page(await search(q), 200)
      expect(body).toContain(`/package/pkg:npm/%2540acme/${name}@1.0.0`)
      expect(body).toContain(`/package/pkg:npm/%2540acme/${name}@1.0.1`)
      expect(body).toContain(`/package/pkg:generic/${name}@1.0.0`)
      expect(body).not.toContain('@2.0.0')
    }
    const scoped = await page(await search(`@acme/${name}`), 200)
    expect(scoped).toContain(`pkg:npm/%40acme/${name}`)
    expect(scoped).not.toContain(`pkg:generic/${name}`)
    // A full version that exactly one package holds goes straight to its page.
    const res = await search(`@acme/${name}@1.0.1`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/package/pkg:npm/%2540acme/${name}@1.0.1`)
    const none = await page(await search(`${name} 9`), 200)
    expect(none).toContain('no version starting so')
  })

  it('a substring of a name finds it (`pad` finds left-pad), listed apart from names starting so', async () => {
    const key = await testKey(209)
    const word = uniq('qpad').toLowerCase()
    await post([
      await makeStatement(key, { subject: `pkg:npm/left-${word}@1.3.0` }),
      await makeStatement(key, { subject: `pkg:pypi/right_${word}er@2` }),
      await makeStatement(key, { subject: `pkg:npm/${word}ding@0.1` }),
    ])
    const body = await page(await search(word.toUpperCase()), 200)
    const [starting, containing] = body.split('id="containing"') as [string, string]
    expect(starting).toContain(`pkg:npm/${word}ding`)
    expect(containing).toContain(`pkg:npm/left-${word}`)
    expect(containing).toContain(`pkg:pypi/right_${word}er`)
    expect(containing).not.toContain(`${word}ding`)
    // The middle of a name, not only a word after a dash.
    const middle = await page(await search(word.slice(1, 6)), 200)
    expect(middle).toContain(`left-${word}`)
    // Two characters are too few to list substrings: only names starting so.
    expect(await (await search(word.slice(1, 3))).text()).not.toContain('id="containing"')
  })

  it('counts stay exact: a duplicate (posted again, or twice in one batch) counts once', async () => {
    const key = await testKey(210)
    const name = uniq('dup')
    const a = await makeStatement(key, { subject: `pkg:npm/${name}@1.0.0`, time: Date.now() - 5000 })
    const b = await makeStatement(key, { subject: `pkg:npm/${name}@1.0.1`, time: Date.now() - 1000 })
    await post([a, a, b])
    await post([a, b])
    const row = await env.DB.prepare('SELECT statements, latest FROM names WHERE pkg = ?1').bind(`pkg:npm/${name}`).first<{ statements: number; latest: number }>()
    expect(row).toEqual({ statements: 2, latest: b.time })
  })

  it('a near miss gets "did you mean", a miss with nothing near a plain 404', async () => {
    const key = await testKey(203)
    const name = `zq${uniq('reactish')}`
    await post([await makeStatement(key, { subject: `pkg:npm/${name}@1.0.0` })])
    const typo = name.slice(0, 4) + 'x' + name.slice(5)
    const body = await page(await search(typo), 404)
    expect(body).toContain('Did you mean')
    expect(body).toContain(`href="/search?q=${name}"`)
    const far = await page(await search('qqqqqqqqqqqqqqqqqqqqqqqqqqqqq'), 404)
    expect(far).not.toContain('Did you mean')
  })

  it('a word is also looked up as a forge or DNS alias', async () => {
    const key = await testKey(204)
    const user = uniq('alice').toLowerCase()
    await post([await makeStatement(key, { subject: key.did, claim: 'alias', object: `github:${user}` })])
    const body = await page(await search(user), 200)
    expect(body).toContain(`/actor/${key.did}`)
    expect(body).toContain('claimed, not checked')
  })

  it('names from hostile subjects come out as text', async () => {
    const key = await testKey(205)
    const name = `${uniq('x')}<img src=x onerror=alert(1)>`
    await post([await makeStatement(key, { subject: `pkg:npm/${name}@1` })])
    const body = await page(await search(name.slice(0, 8)), 200)
    expect(body).not.toContain('<img')
    expect(body).toContain('&lt;img')
  })

  it('hashes in any spelling, and bare keys, go to their page; a key prefix is refused, not a package', async () => {
    const h = await hashOf(uniq('blob'))
    const bytes = base64.decode(h.slice(7))
    for (const q of [h, `sha256:${hex.encode(bytes)}`, hex.encode(bytes), hex.encode(bytes).toUpperCase()]) {
      const res = await search(q)
      expect(res.status, q).toBe(303)
      expect(res.headers.get('location'), q).toBe(`/hash/sha256:${hex.encode(bytes)}`)
    }
    const key = await testKey(206)
    expect(resolveSearch(key.did.slice('did:key:'.length))).toEqual({ kind: 'page', href: `/actor/${key.did}`, term: key.did })
    await page(await search(key.did.slice(8, 20)), 400)
  })
})

describe('parsing a name query', () => {
  it('splits name, scope and version as a package page would', () => {
    expect(parseNameQuery('left-pad')).toEqual({ name: 'left-pad' })
    expect(parseNameQuery('MyLib 1.0')).toEqual({ name: 'mylib', version: '1.0' })
    expect(parseNameQuery('@scope/name@1.0.0')).toEqual({ name: 'name', scope: '@scope', version: '1.0.0' })
    expect(parseNameQuery('a b c')).toBeUndefined()
    expect(parseNameQuery('name@')).toBeUndefined()
  })

  it('the names upsert keys a subject by the name splitPurl gives (property)', async () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9._%-]{1,12}$/)
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('npm', 'generic', 'github'), fc.array(seg, { maxLength: 2 }), seg, fc.option(fc.stringMatching(/^[A-Za-z0-9.@+-]{1,10}$/)), async (type, ns, name, version) => {
        const subject = `pkg:${type}/${[...ns, name].join('/')}${version === null ? '' : `@${version}`}`
        const pkg = splitPurl(subject).pkg
        const key = await testKey(207)
        const v = await verifyStatement(await makeStatement(key, { subject, time: Date.now(), object: await hashOf(uniq('p')) }), { now: Date.now() })
        await insertStatements(env.DB, [v])
        const row = await env.DB.prepare('SELECT name FROM names WHERE pkg = ?1').bind(pkg).first<string>('name')
        expect(row).toBe(pkg.slice(pkg.lastIndexOf('/') + 1).toLowerCase())
      }),
      { numRuns: 40 },
    )
  })

  it('edit distance and ranking', () => {
    expect(distance('react', 'raect', 3)).toBe(2)
    expect(distance('left-pad', 'leftpad', 2)).toBe(1)
    expect(distance('abc', 'xyzxyz', 2)).toBe(3)
    expect(rank('lodsh', ['lodash', 'lodash-es', 'zzz', 'lodsh'])).toEqual(['lodash'])
  })
})

describe('cost: D1 rows written per statement by the names index', () => {
  /** Sums meta.rows_written of the insert batch, as test/workers/gate.test.ts does. */
  async function written(items: Statement[]): Promise<number> {
    const verified = await Promise.all(items.map((s) => verifyStatement(s, { now: Date.now() })))
    let n = 0
    const db = new Proxy(env.DB, {
      get(t, p) {
        if (p === 'batch') return async (s: D1PreparedStatement[]) => {
          const r = await t.batch(s)
          n += r.reduce((a, x) => a + (x.meta.rows_written ?? 0), 0)
          return r
        }
        const v = Reflect.get(t, p, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
    expect((await insertStatements(db, verified)).size).toBe(items.length)
    return n / items.length
  }

  it('measures it: statements about keys (no package) against statements about packages, new and known', async () => {
    const key = await testKey(208)
    const now = Date.now()
    const other = await Promise.all(Array.from({ length: 100 }, async (_, i) => makeStatement(key, { subject: (await testKey(300 + (i % 5))).did, claim: 'review', time: now - i })))
    const name = uniq('cost')
    // 10 new packages of 10 versions each (names of ~15 characters: ~12 suffix rows each, written once).
    const fresh = await Promise.all(Array.from({ length: 100 }, (_, i) => makeStatement(key, { subject: `pkg:npm/${name}-${i % 10}@1.0.${i}`, time: now - i })))
    // The same 10 packages again, 10 more versions each: only the counts change.
    const known = await Promise.all(Array.from({ length: 100 }, (_, i) => makeStatement(key, { subject: `pkg:npm/${name}-${i % 10}@2.0.${i}`, time: now - i })))
    const plain = await written(other)
    const withNew = await written(fresh)
    const withKnown = await written(known)
    // One statement per batch about a known package, the worst case: one names row.
    const alone = await written([await makeStatement(key, { subject: `pkg:npm/${name}-0@3.0.0`, time: now })])
    const plainOne = await written([await makeStatement(key, { subject: key.did, claim: 'review', object: await hashOf(uniq('r')), time: now })])
    console.log(
      `D1 rows written per statement: no package ${plain.toFixed(2)}; 10 new packages x 10 versions ${withNew.toFixed(2)} (+${(withNew - plain).toFixed(2)}); ` +
        `10 known packages x 10 versions ${withKnown.toFixed(2)} (+${(withKnown - plain).toFixed(2)}); one statement alone +${(alone - plainOne).toFixed(2)}`,
    )
    // The counts: one names row per package per batch, 10 rows for 100 statements (a trigger wrote 100).
    expect(withKnown - plain).toBeCloseTo(0.1, 5)
    // A new name adds its suffix rows once: 10 names x (length - 3) rows, plus the 10 names rows.
    expect(withNew - plain).toBeGreaterThan(1)
    expect(withNew - plain).toBeLessThanOrEqual(1.6)
    expect(alone - plainOne).toBe(1)
  })
})
