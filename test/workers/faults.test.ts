import { env, SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { visible } from '../../src/explorer/text.ts'
import { formatSri, hex, sha256, type Digest } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Small faults found by probing the relay as an attacker would (issue 13), each through the
 * real worker: a 500 where the client was at fault, a HEAD that read a whole blob, a 304 for a
 * blob the relay lacks, a page route that `.` could not match, and invisible characters shown raw.
 */

const BASE = 'http://relay.test'
const TOKEN = 'test-admin-token'
const hexName = (d: Digest) => `${d.alg}:${hex.encode(d.bytes)}`

let serial = 0
const uniq = (p: string) => `${p}${Date.now().toString(36)}${serial++}`

async function publish(subject: string, object?: string) {
  const s = await makeStatement(await testKey(7), { subject, ...(object && { object }), time: Date.now() })
  const res = await SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: JSON.stringify(s), headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(200)
  expect(((await res.json()) as { accepted: number }).accepted).toBe(1)
}

/** Stores `data` as the operator would (no statement needed). */
async function store(data: Uint8Array): Promise<Digest> {
  const d = await sha256(data)
  const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, {
    method: 'PUT',
    body: data,
    headers: { 'content-length': String(data.length), authorization: `Bearer ${TOKEN}` },
  })
  expect(res.status).toBeLessThan(300)
  return d
}

async function expectJsonError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
}

describe('POST /v1/statements refuses oversized containers while parsing', () => {
  const postText = (text: string) => SELF.fetch(`${BASE}/v1/statements`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } })

  it('answers an object of 300,000 keys and an array of 2,000 numbers with 413 too_many_items', async () => {
    await expectJsonError(await postText(`{${Array.from({ length: 300_000 }, (_, i) => `"k${i}":0`).join(',')}}`), 413, 'too_many_items')
    await expectJsonError(await postText(`[${Array(2000).fill('1').join(',')}]`), 413, 'too_many_items')
    await expectJsonError(await postText(`[{"meta":[${Array(2000).fill('1').join(',')}]}]`), 413, 'too_many_items')
  })

  it('still judges a statement whose meta holds 1020 array elements item by item (not a body error)', async () => {
    const s = await makeStatement(await testKey(7), { subject: `pkg:generic/${uniq('wide')}@1`, meta: { a: Array(1020).fill(0) }, time: Date.now() })
    const res = await postText(JSON.stringify(s))
    expect(res.status).toBeLessThan(500)
    const body = (await res.json()) as { accepted?: number; error?: { code: string } }
    expect(body.accepted === 1 || body.error?.code === 'bad_meta').toBe(true)
  })
})

describe('blob ranges on the empty blob', () => {
  it('answers a suffix range on the empty blob with 416 and bytes */0 (RFC 9110 §14.1.1), not a 500', async () => {
    const d = await store(new Uint8Array())
    for (const range of ['bytes=-1', 'bytes=-100', 'bytes=0-', 'bytes=0-0']) {
      const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { headers: { range } })
      expect(res.status, range).toBe(416)
      expect(res.headers.get('content-range'), range).toBe('bytes */0')
      await res.arrayBuffer()
    }
    // Without a range it is an ordinary, empty 200.
    const whole = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`)
    expect(whole.status).toBe(200)
    expect((await whole.arrayBuffer()).byteLength).toBe(0)
  })

  it('still serves the last byte of a non-empty blob for bytes=-1', async () => {
    const d = await store(Uint8Array.of(1, 2, 3))
    const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { headers: { range: 'bytes=-1' } })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe('bytes 2-2/3')
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([3])
  })
})

describe('HEAD /v1/blobs', () => {
  it('reads only metadata from R2 and answers with the GET headers and no body', async () => {
    const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 13) & 0xff)
    const d = await store(data)
    const calls: string[] = []
    const blobs = env.BLOBS
    const get = blobs.get.bind(blobs)
    const head = blobs.head.bind(blobs)
    // Observe (not replace) the real R2 binding the worker uses.
    blobs.get = ((...a: Parameters<R2Bucket['get']>) => (calls.push('get'), get(...a))) as R2Bucket['get']
    blobs.head = ((...a: Parameters<R2Bucket['head']>) => (calls.push('head'), head(...a))) as R2Bucket['head']
    let headRes: Response
    try {
      headRes = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { method: 'HEAD' })
    } finally {
      blobs.get = get
      blobs.head = head
    }
    expect(headRes.status).toBe(200)
    expect(calls).toEqual(['head'])
    expect((await headRes.arrayBuffer()).byteLength).toBe(0)
    const getRes = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`)
    expect(new Uint8Array(await getRes.arrayBuffer())).toEqual(data)
    const names = (h: Headers) => [...h.keys()].filter((k) => k !== 'date').sort()
    expect(names(headRes.headers)).toEqual(names(getRes.headers))
    for (const k of names(getRes.headers)) expect(headRes.headers.get(k), k).toBe(getRes.headers.get(k))
    expect(headRes.headers.get('content-length')).toBe(String(data.length))
  })

  it('answers 404 JSON headers for a blob nobody named', async () => {
    const d = await sha256(new TextEncoder().encode(uniq('absent')))
    const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { method: 'HEAD' })
    expect(res.status).toBe(404)
  })
})

describe('If-None-Match on blobs', () => {
  it('answers 304 for a blob the relay holds, in any list form', async () => {
    const d = await store(new TextEncoder().encode(uniq('held')))
    const etag = `"${formatSri(d)}"`
    for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
      const res = await SELF.fetch(`${BASE}/v1/blobs/${hexName(d)}`, { headers: { 'if-none-match': inm } })
      expect(res.status, inm).toBe(304)
      expect(res.headers.get('etag')).toBe(etag)
    }
  })

  it('answers 404, not 304, for a blob the relay does not hold, named or not', async () => {
    const absent = await sha256(new TextEncoder().encode(uniq('absent')))
    await expectJsonError(await SELF.fetch(`${BASE}/v1/blobs/${hexName(absent)}`, { headers: { 'if-none-match': `"${formatSri(absent)}"` } }), 404, 'not_found')
    await expectJsonError(await SELF.fetch(`${BASE}/v1/blobs/${hexName(absent)}`, { headers: { 'if-none-match': '*' } }), 404, 'not_found')
    // Named by a statement, but no bytes here and no peer to pull them from.
    const named = await sha256(new TextEncoder().encode(uniq('named')))
    await publish(`pkg:generic/${uniq('inm')}@1`, formatSri(named))
    await expectJsonError(await SELF.fetch(`${BASE}/v1/blobs/${hexName(named)}`, { headers: { 'if-none-match': `"${formatSri(named)}"` } }), 404, 'not_found')
  })
})

describe('POST /trust with a broken form', () => {
  const postForm = (contentType: string, body: string) =>
    SELF.fetch(`${BASE}/trust`, { method: 'POST', body, headers: { 'content-type': contentType, 'content-length': String(body.length) } })

  it('refuses multipart without a boundary with 400 naming the boundary, not a 500', async () => {
    const res = await postForm('multipart/form-data', '--x\r\nContent-Disposition: form-data; name="package"\r\n\r\nleft-pad\r\n--x--\r\n')
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await res.text()).toMatch(/boundary/)
  })

  it('refuses a multipart body that does not match its boundary with 400', async () => {
    const res = await postForm('multipart/form-data; boundary=abc', 'this is not multipart at all')
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/form could not be read/)
  })

  it('still reads a well-formed multipart form', async () => {
    const body = '--abc\r\nContent-Disposition: form-data; name="package"\r\n\r\nleft-pad@1.3.0\r\n--abc\r\nContent-Disposition: form-data; name="policy"\r\n\r\n\r\n--abc--\r\n'
    const res = await postForm('multipart/form-data; boundary=abc', body)
    expect(res.status).toBeLessThan(500)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    await res.text()
  })
})

describe('package pages for subjects with line terminators', () => {
  const pagePath = (purl: string) => `/package/${encodeURIComponent(purl).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@')}`

  // U+2028 and U+2029 are the line terminators a subject may hold (control characters are refused).
  for (const [name, sep] of [['U+2028', '\u2028'], ['U+2029', '\u2029']] as const) {
    it(`serves the page of a subject containing ${name}, with the character spelled out or escaped`, async () => {
      const purl = `pkg:generic/${uniq('lt')}${sep}x@1.0.0`
      await publish(purl)
      const res = await SELF.fetch(`${BASE}${pagePath(purl)}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await res.text()).toContain(purl.slice('pkg:generic/'.length, purl.indexOf(sep)))
    })
  }

  it('answers an unknown subject with a line terminator with an HTML 404, not the API JSON 404', async () => {
    const res = await SELF.fetch(`${BASE}${pagePath(`pkg:generic/${uniq('none')}\u2028@1`)}`)
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  })
})

describe('invisible characters are spelled out', () => {
  const invisibles: [string, string][] = [
    ['tag letter A', '\u{E0041}'],
    ['language tag', '\u{E0001}'],
    ['cancel tag', '\u{E007F}'],
    ['soft hyphen', '\u00AD'],
    ['combining grapheme joiner', '\u034F'],
    ['zero width space', '\u200B'],
    ['zero width joiner', '\u200D'],
    ['word joiner', '\u2060'],
    ['invisible separator', '\u2063'],
    ['right-to-left override', '\u202E'],
    ['right-to-left isolate', '\u2067'],
    ['left-to-right mark', '\u200E'],
    ['arabic letter mark', '\u061C'],
    ['variation selector 16', '\uFE0F'],
    ['variation selector 17', '\u{E0100}'],
    ['hangul filler', '\u3164'],
    ['halfwidth hangul filler', '\uFFA0'],
    ['mongolian vowel separator', '\u180E'],
    ['khmer vowel inherent', '\u17B4'],
    ['shorthand format letter overlap', '\u{1BCA0}'],
    ['musical symbol begin beam', '\u{1D173}'],
    ['byte order mark', '\uFEFF'],
  ]

  it('visible() writes every Default_Ignorable_Code_Point and bidi control as ⟨U+…⟩', () => {
    for (const [name, ch] of invisibles) {
      const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
      expect(visible(`left-pad${ch}@1`), name).toBe(`left-pad⟨U+${cp}⟩@1`)
    }
    // Ordinary text, including visible non-ASCII, is left alone.
    for (const s of ['left-pad@1.3.0', 'café', '日本語', '\u{1F602}', 'a b', 'ä']) expect(visible(s)).toBe(s)
  })

  it('spells out a tag character in the page heading and title, so left-pad⟨U+E0041⟩ does not pose as left-pad', async () => {
    const name = uniq('left-pad')
    const purl = `pkg:npm/${name}\u{E0041}\u00AD@1.3.0`
    await publish(purl)
    const res = await SELF.fetch(`${BASE}/package/pkg:npm/${encodeURIComponent(`${name}\u{E0041}\u00AD`)}@1.3.0`)
    expect(res.status).toBe(200)
    const body = await res.text()
    // The one raw copy is the search box's value: the query itself, kept exact so that searching
    // again finds this subject; everything shown as text spells the characters out.
    const input = `<input type="search" name="q" value="pkg:npm/${name}\u{E0041}\u00AD@1.3.0"`
    expect(body).toContain(input)
    expect(body.replace(input, '')).not.toMatch(/[\u{E0000}-\u{E007F}\u00AD]/u)
    expect(body).toMatch(new RegExp(`<h1[^>]*>pkg:npm/${name}⟨U\\+E0041⟩⟨U\\+00AD⟩@1\\.3\\.0</h1>`))
    expect(body).toMatch(new RegExp(`<title>pkg:npm/${name}⟨U\\+E0041⟩⟨U\\+00AD⟩@1\\.3\\.0`))
  })
})
