import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, runVouch } from './run-vouch.ts'
import { startNetwork } from '../../scripts/network-harness.ts'
import {
  BridgeError,
  bridgeNix,
  bridgeNpm,
  CACHE_NIXOS_ORG_KEY,
  decodeNix32,
  encodeNix32,
  exportEnvelope,
  fingerprint,
  importEnvelope,
  integrityOf,
  NIX32_ALPHABET,
  npmPurl,
  pae,
  packumentUrl,
  parseEnvelope,
  parseNarInfo,
  parseNixPublicKey,
  parsePackageSpec,
  parsePublicKey,
  readPackument,
  verifyEnvelope,
  verifyNarInfo,
  parseInTotoStatement,
  provenanceClaims,
  signEnvelope,
  type TrustedKey,
} from '../../src/bridges/index.ts'
import { createStatement, fetchBlob, keySigner, query, sign } from '../../src/client/index.ts'
import { base64, hex, keyPairFromSeed, sign as ed25519Sign } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

const ROOT = join(import.meta.dirname, '../..')
const VECTORS = join(ROOT, 'test/vectors')
const read = (p: string) => readFileSync(join(VECTORS, p))
const text = (p: string) => readFileSync(join(VECTORS, p), 'utf8')
const NIXOS_KEY = parseNixPublicKey(CACHE_NIXOS_ORG_KEY)
const NARINFOS = ['xcp9cav49dmsjbwdjlmkjxj10gkpx553', 'p4pclmv1gyja5kzc26npqpia1qqxrf0l', 'gdh8165b7rg4y53v64chjys7mbbw89f9']

/** Expects a BridgeError of this kind (and code, if given). */
async function refused(p: Promise<unknown> | (() => unknown), kind: string, code?: string) {
  let err: unknown
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    err = e
  }
  expect(err, 'expected a BridgeError').toBeInstanceOf(BridgeError)
  expect((err as BridgeError).kind).toBe(kind)
  if (code) expect((err as BridgeError).code).toBe(code)
  return err as BridgeError
}

// ---------------------------------------------------------------------------------------------
describe('nix base-32', () => {
  const hasNix = spawnSync('nix-hash', ['--version'], { encoding: 'utf8' }).status === 0

  it('has Nix’s 32 characters (no e, o, u, t) and known encodings', () => {
    expect(NIX32_ALPHABET).toHaveLength(32)
    expect(NIX32_ALPHABET).not.toMatch(/[eout]/)
    const empty = createHash('sha256').update('').digest()
    expect(encodeNix32(empty)).toBe('0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73') // nix-hash --to-base32
    // The attic fixture gives the same NAR hash in both spellings.
    expect(hex.encode(decodeNix32('16mvl7v0ylzcg2n3xzjn41qhzbmgcn5iyarx16nn5l2r36n2kqci', 32))).toBe('91e129ac1959d062ad093d2b1f8b65afae0f712056fe3eac78ec530ff6a1bb9a')
  })

  it('property: decode(encode(x)) = x for every length; one spelling per hash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), (b) => {
        const s = encodeNix32(b)
        expect(decodeNix32(s, b.length)).toEqual(b)
      }),
    )
    // 52 characters carry 260 bits; the top four of a sha256 must be zero, so only 0 and 1 start one.
    expect(() => decodeNix32(`2${'0'.repeat(51)}`, 32)).toThrow(BridgeError)
    expect(() => decodeNix32('e'.repeat(52), 32)).toThrow(/alphabet/)
    expect(() => decodeNix32('0'.repeat(51), 32)).toThrow(/characters/)
  })

  it.skipIf(!hasNix)('agrees with nix-hash --to-base32 on random hashes', () => {
    for (let i = 0; i < 10; i++) {
      const b = randomBytes(32)
      const want = execFileSync('nix-hash', ['--type', 'sha256', '--to-base32', b.toString('hex')], { encoding: 'utf8' }).trim()
      expect(encodeNix32(b)).toBe(want)
    }
  })
})

// ---------------------------------------------------------------------------------------------
describe('narinfo (real cache.nixos.org files)', () => {
  it('every fixture verifies with the real cache.nixos.org-1 key', async () => {
    for (const h of NARINFOS) {
      const info = parseNarInfo(text(`nix/${h}.narinfo`))
      const r = await verifyNarInfo(info, NIXOS_KEY)
      expect(r.sig.startsWith('cache.nixos.org-1:')).toBe(true)
    }
  })

  it('fingerprint is Nix’s: full reference paths, sorted; a hex NarHash is written in nix32', async () => {
    const want =
      '1;/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10;sha256:16mvl7v0ylzcg2n3xzjn41qhzbmgcn5iyarx16nn5l2r36n2kqci;206104;/nix/store/563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56,/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10'
    expect(fingerprint(parseNarInfo(text('nix/xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo')))).toBe(want)
    const hexForm = parseNarInfo(text('nix/hello-2.10-hex-narhash.narinfo'))
    expect(fingerprint(hexForm)).toBe(want)
    await verifyNarInfo(hexForm, NIXOS_KEY)
    // References listed out of order are sorted for the fingerprint, as Nix does.
    const t = text('nix/xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo').replace(
      'References: 563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56 xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10',
      'References: xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10 563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56',
    )
    await verifyNarInfo(parseNarInfo(t), NIXOS_KEY)
  })

  it('changing any signed field breaks the signature; unsigned fields do not (and are not claimed as signed)', async () => {
    const base = text('nix/p4pclmv1gyja5kzc26npqpia1qqxrf0l.narinfo')
    const signed: [string, string][] = [
      ['NarSize: 18735072', 'NarSize: 18735073'],
      ['NarHash: sha256:1impfw8zdgisxkghq9a3q7cn7jb9zyzgxdydiamp8z2nlyyl0h5h', 'NarHash: sha256:1impfw8zdgisxkghq9a3q7cn7jb9zyzgxdydiamp8z2nlyyl0h5i'],
      [' 65ys3k6gn2s27apky0a0la7wryg3az9q-zlib-1.2.11', ''],
    ]
    for (const [a, b] of signed) await refused(verifyNarInfo(parseNarInfo(base.replace(a, b)), NIXOS_KEY), 'verification', 'bad_signature')
    const unsigned = base.replace('Deriver: bidkcs01mww363s4s7akdhbl6ws66b0z-ruby-2.7.3.drv', 'Deriver: 00000000000000000000000000000000-evil.drv').replace('Compression: xz', 'Compression: zstd')
    await verifyNarInfo(parseNarInfo(unsigned), NIXOS_KEY)
    // Another key name: not signed by the key asked for.
    await refused(verifyNarInfo(parseNarInfo(base), { name: 'cache.example.org-1', publicKey: NIXOS_KEY.publicKey }), 'verification', 'unsigned')
    // The right name with another key: bad signature.
    await refused(verifyNarInfo(parseNarInfo(base), { name: NIXOS_KEY.name, publicKey: (await testKey(90)).publicKey }), 'verification', 'bad_signature')
  })

  it('malformed narinfos are refused with a clear error', async () => {
    const base = text('nix/xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo')
    const cases: [string, RegExp][] = [
      [base.slice(0, -1), /newline/],
      [`${base}Foo: bar\n`, /unknown field "Foo"/],
      [`${base}NarSize: 1\n`, /NarSize appears twice/],
      [base.replace(/\n/g, '\r\n'), /control character|not "Name: value"/],
      [base.replace('StorePath: /nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10', 'StorePath: /nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx55e-hello-2.10'), /not a store path/],
      [base.replace(/^NarHash: .*\n/m, ''), /no NarHash/],
      [base.replace('NarSize: 206104', 'NarSize: 0'), /NarSize is 0/],
      [base.replace('NarSize: 206104', 'NarSize: 0206104'), /decimal integer/],
      [base.replace('NarHash: sha256:16mvl7v0ylzcg2n3xzjn41qhzbmgcn5iyarx16nn5l2r36n2kqci', 'NarHash: md5:abc'), /not a hash/],
      [base.replace(/Sig: cache.nixos.org-1:.*/, 'Sig: cache.nixos.org-1:AAAA'), /64-byte signature/],
      [base.replace('References: ', 'References:  '), /base name/],
      ['', /newline/],
    ]
    for (const [t, msg] of cases) {
      const e = await refused(() => parseNarInfo(t), 'malformed', 'bad_narinfo').catch(async () => refused(() => parseNarInfo(t), 'malformed'))
      expect(e.message).toMatch(msg)
    }
    // Hostile size: refused before any parsing work.
    const t0 = performance.now()
    await refused(() => parseNarInfo(`StorePath: ${'a'.repeat(4 * 1024 * 1024)}\n`), 'malformed')
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})

// ---------------------------------------------------------------------------------------------
describe('npm packuments (real left-pad and @isaacs/string-locale-compare; constructed uuid)', () => {
  it('package specs, purls and packument URLs', () => {
    expect(parsePackageSpec('@isaacs/string-locale-compare@^1.1')).toEqual({ name: '@isaacs/string-locale-compare', scope: 'isaacs', bare: 'string-locale-compare', range: '^1.1' })
    expect(npmPurl('@isaacs/string-locale-compare', '1.1.0')).toBe('pkg:npm/%40isaacs/string-locale-compare@1.1.0')
    expect(npmPurl('left-pad', '1.0.0+build.1')).toBe('pkg:npm/left-pad@1.0.0%2Bbuild.1')
    expect(npmPurl('JSONStream', '1.3.5')).toBe('pkg:npm/jsonstream@1.3.5') // purl: npm names are lowercased
    expect(packumentUrl('https://registry.npmjs.org/', '@isaacs/string-locale-compare')).toBe('https://registry.npmjs.org/@isaacs%2fstring-locale-compare')
    for (const bad of ['', '../etc', '@/x', 'a b', 'left-pad@latest', 'x@^^1']) expect(() => parsePackageSpec(bad), bad).toThrow(RangeError)
  })

  it('integrity: strongest SRI, canonical padding, shasum only as weak sha1, contradictions refused', () => {
    const s512 = createHash('sha512').update('x').digest('base64')
    const s256 = createHash('sha256').update('x').digest('base64')
    const sha1hex = createHash('sha1').update('x').digest('hex')
    expect(integrityOf({ integrity: `sha256-${s256} sha512-${s512.replace(/=+$/, '')}?opt` }, 'x')).toEqual({ sri: `sha512-${s512}`, alg: 'sha512', weak: false })
    expect(integrityOf({ shasum: sha1hex }, 'x')).toEqual({ sri: `sha1-${Buffer.from(sha1hex, 'hex').toString('base64')}`, alg: 'sha1', weak: true })
    expect(integrityOf({ integrity: `md5-abc sha256-${s256}` }, 'x').alg).toBe('sha256') // unknown algorithms are ignored, as SRI says
    expect(() => integrityOf({ integrity: `sha1-${Buffer.from(sha1hex, 'hex').toString('base64')}`, shasum: '0'.repeat(40) }, 'x')).toThrow(/differ/)
    expect(() => integrityOf({ integrity: `sha512-${s512} sha512-${createHash('sha512').update('y').digest('base64')}` }, 'x')).toThrow(/2 different sha512/)
    expect(() => integrityOf({ integrity: 'sha512-AAAA' }, 'x')).toThrow(/not a sha512 digest/)
    expect(() => integrityOf({}, 'x')).toThrow(/neither/)
  })

  it('reads the fixtures: versions, weak claims, deprecations', () => {
    const lp = readPackument(read('npm/left-pad.json'), 'left-pad')
    expect(lp.versions).toHaveLength(15)
    expect(lp.versions.find((v) => v.version === '1.3.0')!.integrity.sri).toBe('sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==')
    const scoped = readPackument(read('npm/isaacs-string-locale-compare.json'), '@isaacs/string-locale-compare')
    expect(scoped.versions.map((v) => v.subject)).toContain('pkg:npm/%40isaacs/string-locale-compare@1.1.0')
    const uuid = readPackument(read('npm/uuid-deprecated.json'), 'uuid')
    expect(uuid.versions.filter((v) => v.integrity.weak)).toHaveLength(5)
    expect(uuid.versions.filter((v) => v.deprecated)).toHaveLength(18)
    expect(uuid.removed).toEqual([])
  })

  it('malformed packuments are refused, naming the field; a malformed version is skipped, not the packument', async () => {
    const lp = JSON.parse(text('npm/left-pad.json'))
    const variant = (f: (d: any) => void) => {
      const d = structuredClone(lp)
      f(d)
      return new TextEncoder().encode(JSON.stringify(d))
    }
    await refused(() => readPackument(new TextEncoder().encode('{"name": "left-pad", '), 'left-pad'), 'malformed', 'malformed_json')
    await refused(() => readPackument(new Uint8Array([0xff, 0xfe]), 'left-pad'), 'malformed', 'invalid_utf8')
    await refused(() => readPackument(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'left-pad'), 'malformed', 'invalid_utf8')
    await refused(() => readPackument(variant((d) => (d.name = 'right-pad')), 'left-pad'), 'malformed', 'bad_packument')
    await refused(() => readPackument(variant((d) => (d.versions = [])), 'left-pad'), 'malformed', 'bad_packument')
    // Two readers must not see two integrities: duplicate keys refuse the document (the strict parser).
    const dup = text('npm/left-pad.json').replace('"dist": {"integrity": ', '"dist": {"integrity": "sha512-AAAA", "integrity": ')
    await refused(() => readPackument(new TextEncoder().encode(dup), 'left-pad'), 'malformed', 'malformed_json')
    const skipped = (f: (d: any) => void) => {
      const p = readPackument(variant(f), 'left-pad')
      expect(p.versions).toHaveLength(14)
      expect(p.versions.map((v) => v.version)).not.toContain('1.3.0')
      return p.skipped.map((x) => [x.version, x.code])
    }
    expect(skipped((d) => (d.versions['1.3.0'].version = '1.3.1'))).toEqual([['1.3.0', 'bad_manifest']])
    expect(skipped((d) => (d.versions['1.3.0'].dist.integrity = 'sha512-nope'))).toEqual([['1.3.0', 'bad_integrity']])
    expect(skipped((d) => delete d.versions['1.3.0'].dist)).toEqual([['1.3.0', 'bad_dist']])
    // A tarball URL is meta, not what the claim is about: an unusable one is left out, the claim kept.
    const noTarball = readPackument(variant((d) => (d.versions['1.3.0'].dist.tarball = 'file:///etc/passwd')), 'left-pad')
    expect(noTarball.versions.find((v) => v.version === '1.3.0')).toMatchObject({ integrity: { alg: 'sha512' } })
    expect(noTarball.versions.find((v) => v.version === '1.3.0')!.tarball).toBeUndefined()
  })

  it('realistic packuments: floats, huge integers and odd values in unread fields sink nothing; unpublished and deprecated versions', () => {
    const p = readPackument(read('npm/realistic-pkg.json'), 'realistic-pkg')
    expect(p.versions.map((v) => v.version)).toEqual(['0.1.0', '0.2.0', '1.0.0', '1.0.1', '1.1.0', '2.0.0'])
    expect(p.skipped).toEqual([{ version: '2.0.0-beta.1', code: 'bad_integrity', message: expect.stringMatching(/realistic-pkg@2.0.0-beta.1: dist.integrity/) }])
    expect(p.removed).toEqual(['0.0.9'])
    const by = Object.fromEntries(p.versions.map((v) => [v.version, v]))
    expect(by['0.1.0']!.integrity.sri).toBe(`sha512-${createHash('sha512').update('tarball 0.1.0').digest('base64')}`)
    expect(by['1.0.0']!.deprecated).toMatch(/security bug/)
    expect(by['1.0.1']!.deprecated).toBeUndefined() // `deprecated: true` carries no message
    expect(by['1.1.0']!.tarball).toBeUndefined()
    expect(by['2.0.0']!.tarball).toBe('https://registry.example/realistic-pkg/-/realistic-pkg-2.0.0.tgz')
    // Wholly unpublished: no versions to claim, every listed version to withdraw.
    const gone = readPackument(read('npm/unpublished-pkg.json'), 'gone-pkg')
    expect(gone.versions).toEqual([])
    expect(gone.removed.sort()).toEqual(['1.0.0', '1.0.1'])
  })

  it('a packument of 5,000 versions in the full shape parses with the strict parser in well under a second per MB', () => {
    const doc = JSON.parse(text('npm/realistic-pkg.json'))
    const template = doc.versions['2.0.0']
    doc.versions = {}
    for (let i = 0; i < 5000; i++) {
      const v = `${Math.floor(i / 100)}.${i % 100}.0`
      doc.versions[v] = { ...structuredClone(template), version: v, _id: `realistic-pkg@${v}`, dist: { ...template.dist, integrity: `sha512-${createHash('sha512').update(v).digest('base64')}` } }
      doc.time[v] = '2020-01-01T00:00:00.000Z'
    }
    const bytes = new TextEncoder().encode(JSON.stringify(doc).replace(/"unpackedSize":(\d+)/g, '"unpackedSize":$1.0'))
    const t0 = performance.now()
    const p = readPackument(bytes, 'realistic-pkg')
    const ms = performance.now() - t0
    expect(p.versions).toHaveLength(5000)
    expect(p.skipped).toEqual([])
    expect(ms / (bytes.length / 1e6)).toBeLessThan(1000)
  })
})

// ---------------------------------------------------------------------------------------------
describe('DSSE (the official secure-systems-lab/dsse vectors) and in-toto', () => {
  const vectors = JSON.parse(text('intoto/dsse-vectors.json')) as {
    keys: Record<string, { public: string }>
    vectors: { id: string; envelope: unknown; trustedKeys: string[]; threshold: number; supportedPayloadTypes: string[]; pae: string; expect: 'accept' | 'reject' }[]
  }
  const RFC8032_1 = hex.decode(vectors.keys.A!.public)

  it.each(vectors.vectors.map((v) => [v.id, v] as const))('%s', async (_id, v) => {
    const env = parseEnvelope(new TextEncoder().encode(JSON.stringify(v.envelope)))
    // PAE is checked byte for byte, for the type the signature really covers when it is the envelope's.
    if (v.expect === 'accept') expect(hex.encode(pae(env.payloadType, env.payload))).toBe(v.pae)
    const keys: TrustedKey[] = v.trustedKeys.map((k) => ({ keyid: k, publicKey: hex.decode(vectors.keys[k]!.public) }))
    const result = verifyEnvelope(env, keys, { threshold: v.threshold, payloadTypes: v.supportedPayloadTypes }).then(() => 'accept', () => 'reject')
    expect(await result).toBe(v.expect)
  })

  it('envelope parsing is strict where the spec lets it be, lenient where it must be', async () => {
    const good = JSON.parse(text('intoto/slsa-provenance-v1.dsse.json'))
    const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))
    await refused(() => parseEnvelope(enc(`{"payload":"e30=","payload":"e30=","payloadType":"x","signatures":[{"sig":"AA=="}]}`)), 'malformed', 'bad_envelope') // duplicate member
    await refused(() => parseEnvelope(enc({ ...good, signatures: [] })), 'malformed')
    await refused(() => parseEnvelope(enc({ ...good, payload: '%%%' })), 'malformed')
    await refused(() => parseEnvelope(enc({ ...good, payload: 7 })), 'malformed')
    await refused(() => parseEnvelope(enc('[1, 2')), 'malformed')
    // Unknown members are ignored (DSSE: consumers MUST ignore them); unpadded base64 is accepted.
    const env = parseEnvelope(enc({ ...good, payload: good.payload.replace(/=+$/, ''), extension: { kind: 'x' } }))
    await verifyEnvelope(env, [{ publicKey: RFC8032_1 }])
    expect(parsePublicKey(vectors.keys.A!.public)).toEqual(RFC8032_1)
    expect(parsePublicKey(`-----BEGIN PUBLIC KEY-----\n${base64.encode(new Uint8Array([...hex.decode('302a300506032b6570032100'), ...RFC8032_1]))}\n-----END PUBLIC KEY-----\n`)).toEqual(RFC8032_1)
    expect(() => parsePublicKey('not a key')).toThrow(BridgeError)
  })

  it('SLSA provenance v1 becomes build claims: each resolved dependency to each subject', async () => {
    const bytes = read('intoto/slsa-provenance-v1.dsse.json')
    const env = parseEnvelope(bytes)
    await verifyEnvelope(env, [{ keyid: 'rfc8032-test-1', publicKey: RFC8032_1 }])
    const claims = provenanceClaims(parseInTotoStatement(env.payload), { envelope: 'sha256-E', payload: 'sha256-P' })
    const tgz = `sha512-${createHash('sha512').update(read('npm/tarballs/left-pad-1.3.0.tgz')).digest('base64')}`
    expect(claims.map((c) => [c.subject, c.claim, c.object])).toEqual([
      ['gitCommit:a0b1c2d3e4f5061728394a5b6c7d8e9f00112233', 'build', tgz],
      [`sha256-${createHash('sha256').update('left-pad 1.3.0 source').digest('base64')}`, 'build', tgz],
    ])
    expect(claims[0]!.meta).toMatchObject({ builder: 'https://github.com/actions/runner/github-hosted', name: 'pkg:npm/left-pad@1.3.0', envelope: 'sha256-E', dependency: 'git+https://github.com/example/left-pad@refs/tags/v1.3.0' })
    // Regenerating the fixture gives the same bytes (deterministic signatures).
    const { provenance } = await import('../vectors/intoto/generate.ts')
    expect(JSON.parse(new TextDecoder().decode(env.payload))).toEqual(JSON.parse(JSON.stringify(provenance)))
  })

  const python = spawnSync('/usr/bin/python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey'], { encoding: 'utf8' }).status === 0
  it.skipIf(!python)('an exported envelope verifies with an independent DSSE check (Python, pyca/cryptography)', async () => {
    const key = await testKey(70)
    const v = await sign(createStatement({ actor: key.did, subject: 'pkg:generic/mylib@1.2.3', claim: 'source', object: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' }), key)
    const env = await exportEnvelope(v, keySigner(key))
    const dir = mkdtempSync(join(tmpdir(), 'vouch-dsse-'))
    writeFileSync(join(dir, 'env.json'), JSON.stringify(env))
    const script = `
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
env = json.load(open(sys.argv[1]))
body = base64.b64decode(env['payload'])
t = env['payloadType'].encode('utf-8')
pae = b'DSSEv1 %d %b %d %b' % (len(t), t, len(body), body)
Ed25519PublicKey.from_public_bytes(bytes.fromhex(sys.argv[2])).verify(base64.b64decode(env['signatures'][0]['sig']), pae)
st = json.loads(body)
assert st['_type'] == 'https://in-toto.io/Statement/v1' and env['payloadType'] == 'application/vnd.in-toto+json'
print(st['predicateType'], st['subject'][0]['digest']['sha256'])`
    const out = execFileSync('/usr/bin/python3', ['-c', script, join(dir, 'env.json'), hex.encode(key.publicKey)], { encoding: 'utf8' })
    expect(out.trim()).toBe(`urn:vouch:statement:v1 ${createHash('sha256').update('').digest('hex')}`)
  })
})

// ---------------------------------------------------------------------------------------------
// Through real local relays: the fixtures served by a local HTTP server.

type Net = Awaited<ReturnType<typeof startNetwork>>
let net: Net
let relays: string[]
let server: Server
let origin = ''
/** Per-path replacements of what the fixture server serves (status, body). */
const override = new Map<string, { status: number; body: string | Buffer }>()
let corruptTarball = false

function fixture(path: string, rewrite: boolean): { status: number; body: string | Buffer } {
  const o = override.get(path)
  if (o) return o
  const files: Record<string, string> = {
    '/left-pad': 'npm/left-pad.json',
    '/@isaacs%2fstring-locale-compare': 'npm/isaacs-string-locale-compare.json',
    '/uuid': 'npm/uuid-deprecated.json',
    '/left-pad/-/left-pad-1.3.0.tgz': 'npm/tarballs/left-pad-1.3.0.tgz',
    '/@isaacs/string-locale-compare/-/string-locale-compare-1.1.0.tgz': 'npm/tarballs/isaacs-string-locale-compare-1.1.0.tgz',
    ...Object.fromEntries(NARINFOS.map((h) => [`/${h}.narinfo`, `nix/${h}.narinfo`])),
  }
  const file = files[path]
  if (!file) return { status: 404, body: '{"error":"Not found"}' }
  let body: string | Buffer = read(file)
  if (path === '/left-pad/-/left-pad-1.3.0.tgz' && corruptTarball) body = Buffer.concat([body, Buffer.from('x')])
  if (rewrite && file.endsWith('.json')) body = body.toString('utf8').replaceAll('https://registry.example/', `${origin}/`)
  return { status: 200, body }
}

/** The fixtures point at https://registry.example; this fetch maps it to the local server. */
const mapped: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  return fetch(url.replace(/^https:\/\/registry\.example(?=\/|$)/, origin), init)
}
const REGISTRY = 'https://registry.example'
const mine = async (did: string) => (await query(relays, { actor: did })).statements

beforeAll(async () => {
  server = createServer((req, res) => {
    const rewrite = req.url!.startsWith('/rw/')
    const path = rewrite ? req.url!.slice(3) : req.url!
    const { status, body } = fixture(path, rewrite)
    res.writeHead(status, { 'content-type': path.endsWith('.tgz') ? 'application/octet-stream' : 'application/json' }).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  net = await startNetwork({ relays: 2, topology: 'mesh', peerTimeoutMs: 2000 })
  relays = net.relays.map((r) => r.url)
}, 120_000)
afterAll(async () => {
  await net?.stop()
  server?.close()
})

describe('npm bridge through two local relays', () => {
  it('publishes every left-pad version once; a second run publishes nothing', async () => {
    const key = await testKey(61)
    const o = { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY }
    const first = await bridgeNpm('left-pad', o)
    expect(first.versions.map((v) => v.status)).toEqual(Array(15).fill('published'))
    expect(first.statements).toHaveLength(15)
    expect(first.relays.every((r) => r.ok)).toBe(true)
    const s = first.statements.find((x) => x.statement.subject === 'pkg:npm/left-pad@1.3.0')!.statement
    expect(s).toMatchObject({ actor: key.did, claim: 'published', object: 'sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==', meta: { registry: REGISTRY, tarball: 'https://registry.example/left-pad/-/left-pad-1.3.0.tgz' } })
    // Both relays hold all of them (one by the POST, the other by the POST too: publish goes to every relay).
    for (const relay of relays) expect((await query([relay], { actor: key.did })).statements).toHaveLength(15)
    const again = await bridgeNpm('left-pad', o)
    expect(again.versions.every((v) => v.status === 'already')).toBe(true)
    expect(again.statements).toHaveLength(0)
  })

  it('a range selects versions; a scoped package with --upload puts the real, checked tarball in the blob cache', async () => {
    const key = await testKey(62)
    const r = await bridgeNpm('@isaacs/string-locale-compare@>=1.1.0', { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY, upload: true })
    expect(r.versions.map((v) => [v.version, v.status, v.upload?.status])).toEqual([['1.1.0', 'published', 'stored']])
    expect(r.statements[0]!.statement.subject).toBe('pkg:npm/%40isaacs/string-locale-compare@1.1.0')
    const blob = await fetchBlob(relays, r.versions[0]!.object)
    expect(Buffer.from(blob).equals(read('npm/tarballs/isaacs-string-locale-compare-1.1.0.tgz'))).toBe(true)
    const again = await bridgeNpm('@isaacs/string-locale-compare@1.1.0', { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY, upload: true })
    expect(again.versions[0]).toMatchObject({ status: 'already', upload: { status: 'exists' } })
  })

  it('a tarball that does not match the registry’s integrity is not uploaded, and says so', async () => {
    const key = await testKey(63)
    corruptTarball = true
    try {
      const r = await bridgeNpm('left-pad@1.3.0', { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY, upload: true })
      expect(r.versions[0]!.upload).toMatchObject({ status: 'failed', detail: expect.stringContaining('hashes to') })
      expect((await fetch(`${relays[0]}/v1/blobs/sha512-${encodeURIComponent(r.versions[0]!.object.slice(7))}`)).status).not.toBe(200)
    } finally {
      corruptTarball = false
    }
  })

  it('weak (shasum-only) and deprecated versions; prereleases only when the range asks', async () => {
    const key = await testKey(64)
    const o = { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY }
    const old = await bridgeNpm('uuid@<2', o)
    expect(old.versions).toHaveLength(5)
    for (const s of old.statements) {
      expect(s.statement.object).toMatch(/^sha1-/)
      expect(s.statement.meta).toMatchObject({ weak: true, deprecated: expect.stringContaining('Please upgrade') })
    }
    const seven = await bridgeNpm('uuid@^7.0.0', o)
    expect(seven.versions.map((v) => v.version).sort()).toEqual(['7.0.0', '7.0.1', '7.0.2', '7.0.3'])
    expect(seven.statements.every((s) => s.statement.meta!.deprecated === undefined && s.statement.meta!.weak === undefined)).toBe(true)
    const pre = await bridgeNpm('uuid@>=7.0.0-beta.0 <7.0.0', o)
    expect(pre.versions.map((v) => v.version)).toEqual(['7.0.0-beta.0'])
  })

  it('unpublished: withdraws (IS NOT) what it had claimed; deprecation later: a new positive claim', async () => {
    const key = await testKey(65)
    const o = { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY }
    await bridgeNpm('left-pad@>=1.2.0', o)
    const doc = JSON.parse(text('npm/left-pad.json'))
    delete doc.versions['1.2.0'] // npm keeps an unpublished version in `time`
    doc.versions['1.3.0'].deprecated = 'use String.prototype.padStart()'
    override.set('/left-pad', { status: 200, body: JSON.stringify(doc) })
    try {
      const r = await bridgeNpm('left-pad@>=1.2.0', o)
      const withdrawn = r.versions.find((v) => v.withdrawn)!
      expect(withdrawn).toMatchObject({ version: '1.2.0', status: 'retracted', object: 'sha512-OQadpCyFCT/VLniZQgym8d3/ofIJtuZyw2ibsVeIUOexKgW/osn8+mMFJbwGMPeDC4GnLzD8q115WPCDx4YRWg==' })
      const not = r.statements.find((s) => s.statement.not)!.statement
      expect(not).toMatchObject({ subject: 'pkg:npm/left-pad@1.2.0', claim: 'published', not: true, meta: { registry: REGISTRY, reason: 'unpublished' } })
      expect(r.versions.find((v) => v.version === '1.3.0')).toMatchObject({ status: 'published', deprecated: 'use String.prototype.padStart()' })
      // Nothing left to say.
      const again = await bridgeNpm('left-pad@>=1.2.0', o)
      expect(again.statements).toHaveLength(0)
      // The withdrawal is what stands for 1.2.0 (the same rule the policy engine applies).
      const all = (await query(relays, { actor: key.did, subject: 'pkg:npm/left-pad@1.2.0' })).statements.map((s) => s.statement)
      expect(all.sort((a, b) => b.time - a.time)[0]!.not).toBe(true)
    } finally {
      override.delete('/left-pad')
    }
  })

  it('a malformed packument, a missing package or an empty range: clear error, nothing published; a malformed version is skipped and reported', async () => {
    const key = await testKey(66)
    const o = { relays, signer: keySigner(key), fetch: mapped, registry: REGISTRY }
    const doc = JSON.parse(text('npm/left-pad.json'))
    doc.versions['1.1.0'].dist.integrity = 'sha512-bm90IGEgZGlnZXN0'
    override.set('/left-pad', { status: 200, body: JSON.stringify(doc) })
    try {
      const r = await bridgeNpm('left-pad', { ...o, dryRun: true })
      expect(r.skipped).toEqual([{ version: '1.1.0', code: 'bad_integrity', message: expect.stringContaining('left-pad@1.1.0') }])
      expect(r.versions.map((v) => v.version)).not.toContain('1.1.0')
      expect(r.versions).toHaveLength(14)
      override.set('/left-pad', { status: 200, body: '<html>maintenance</html>' })
      await refused(bridgeNpm('left-pad', o), 'malformed', 'malformed_json')
    } finally {
      override.delete('/left-pad')
    }
    await refused(bridgeNpm('no-such-package', o), 'not_found', 'no_package')
    await refused(bridgeNpm('left-pad@^9', o), 'not_found', 'no_version')
    override.set('/left-pad', { status: 302, body: '' })
    try {
      await refused(bridgeNpm('left-pad', o), 'network', 'redirect')
    } finally {
      override.delete('/left-pad')
    }
    await refused(bridgeNpm('left-pad', { ...o, maxPackumentBytes: 1000 }), 'network', 'too_large')
    expect(await mine(key.did)).toHaveLength(0)
  })
})

describe('Nix bridge through two local relays', () => {
  it('verifies real narinfos and publishes build claims; a second run publishes nothing', async () => {
    const key = await testKey(67)
    const o = { relays, signer: keySigner(key), cache: origin, cacheKey: CACHE_NIXOS_ORG_KEY }
    const r = await bridgeNix(['/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10', 'p4pclmv1gyja5kzc26npqpia1qqxrf0l', `${origin}/gdh8165b7rg4y53v64chjys7mbbw89f9.narinfo`], o)
    expect(r.paths.map((p) => p.status)).toEqual(['published', 'published', 'published'])
    const hello = r.statements[0]!.statement
    expect(hello).toMatchObject({
      subject: 'nix:/nix/store/xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10',
      claim: 'build',
      object: `sha256-${Buffer.from('91e129ac1959d062ad093d2b1f8b65afae0f712056fe3eac78ec530ff6a1bb9a', 'hex').toString('base64')}`,
      meta: { builder: 'nix', format: 'nar', cache: origin, narSize: 206104, deriver: 'vvb4wxmnjixmrkhmj2xb75z62hrr41i7-hello-2.10.drv', references: ['563528481rvhc5kxwipjmg6rqrl95mdx-glibc-2.33-56', 'xcp9cav49dmsjbwdjlmkjxj10gkpx553-hello-2.10'] },
    })
    // The statement carries what is needed to re-check the cache's own signature.
    const m = hello.meta as { storePath: string; narSize: number; references: string[]; sig: string }
    const fp = fingerprint({ storePath: m.storePath, storeDir: '/nix/store', narHash: { alg: 'sha256', bytes: Buffer.from(hello.object!.slice(7), 'base64') }, narSize: m.narSize, references: m.references })
    await verifyNarInfo({ ...parseNarInfo(text('nix/xcp9cav49dmsjbwdjlmkjxj10gkpx553.narinfo')), sigs: [m.sig] }, NIXOS_KEY)
    expect(fp).toContain(';206104;')
    const again = await bridgeNix(['xcp9cav49dmsjbwdjlmkjxj10gkpx553'], o)
    expect(again.paths[0]!.status).toBe('already')
    expect(again.statements).toHaveLength(0)
  })

  it('a tampered, unsigned, wrongly keyed or mismatched narinfo: clear error, nothing published', async () => {
    const key = await testKey(68)
    const o = { relays, signer: keySigner(key), cache: origin, cacheKey: CACHE_NIXOS_ORG_KEY }
    const h = 'xcp9cav49dmsjbwdjlmkjxj10gkpx553'
    const t = text(`nix/${h}.narinfo`)
    const serve = (body: string) => override.set(`/${h}.narinfo`, { status: 200, body })
    try {
      serve(t.replace('NarSize: 206104', 'NarSize: 206105'))
      await refused(bridgeNix([h, 'p4pclmv1gyja5kzc26npqpia1qqxrf0l'], o), 'verification', 'bad_signature')
      serve(t.replace(/^Sig: .*\n/m, ''))
      await refused(bridgeNix([h], o), 'verification', 'unsigned')
      serve(text('nix/p4pclmv1gyja5kzc26npqpia1qqxrf0l.narinfo'))
      await refused(bridgeNix([h], o), 'malformed', 'wrong_path')
      serve(`${t}Garbage: 1\n`)
      await refused(bridgeNix([h], o), 'malformed', 'bad_narinfo')
    } finally {
      override.delete(`/${h}.narinfo`)
    }
    const other = await keyPairFromSeed(new Uint8Array(32).fill(91))
    await refused(bridgeNix([h], { ...o, cacheKey: `cache.nixos.org-1:${base64.encode(other.publicKey)}` }), 'verification', 'bad_signature')
    await refused(bridgeNix([h], { ...o, cacheKey: undefined }), 'unsupported', 'no_cache_key')
    await refused(bridgeNix(['00000000000000000000000000000000'], o), 'not_found', 'no_narinfo')
    await refused(bridgeNix(['/etc/passwd'], o), 'unsupported', 'bad_target')
    expect(await mine(key.did)).toHaveLength(0)
  })
})

describe('in-toto import and export through two local relays', () => {
  const A: TrustedKey = { keyid: 'rfc8032-test-1', publicKey: hex.decode('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a') }

  it('imports SLSA provenance as build claims of the importer, once', async () => {
    const key = await testKey(69)
    const bytes = read('intoto/slsa-provenance-v1.dsse.json')
    const r = await importEnvelope(bytes, { relays, signer: keySigner(key), keys: [A] })
    expect(r.kind).toBe('claims')
    expect(r.items.map((i) => i.status)).toEqual(['published', 'published'])
    expect(r.statements[0]!.statement.meta).toMatchObject({ envelope: `sha256-${createHash('sha256').update(bytes).digest('base64')}`, builder: 'https://github.com/actions/runner/github-hosted' })
    const again = await importEnvelope(bytes, { relays, signer: keySigner(key), keys: [A] })
    expect(again.items.map((i) => i.status)).toEqual(['already', 'already'])
  })

  it('a wrong key, a tampered payload or an unsupported predicate: clear error, nothing published', async () => {
    const key = await testKey(71)
    const o = { relays, signer: keySigner(key) }
    const good = JSON.parse(text('intoto/slsa-provenance-v1.dsse.json'))
    const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x))
    await refused(importEnvelope(enc(good), { ...o, keys: [{ publicKey: key.publicKey }] }), 'verification', 'bad_signature')
    const payload = JSON.parse(Buffer.from(good.payload, 'base64').toString())
    payload.subject[0].digest.sha512 = '00'.repeat(64)
    await refused(importEnvelope(enc({ ...good, payload: Buffer.from(JSON.stringify(payload)).toString('base64') }), { ...o, keys: [A] }), 'verification', 'bad_signature')
    // Correctly signed, but not something vouch imports.
    const other = { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: '00'.repeat(32) } }], predicateType: 'https://spdx.dev/Document', predicate: {} }
    const seedA = hex.decode('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
    const kA = await keyPairFromSeed(seedA)
    const spdx = await signEnvelope('application/vnd.in-toto+json', new TextEncoder().encode(JSON.stringify(other)), { sign: (m) => ed25519Sign(m, kA.secretKey) })
    await refused(importEnvelope(enc(spdx), { ...o, keys: [A] }), 'unsupported', 'unsupported_predicate')
    const v01 = await signEnvelope('application/vnd.in-toto+json', new TextEncoder().encode(JSON.stringify({ ...other, _type: 'https://in-toto.io/Statement/v0.1' })), { sign: (m) => ed25519Sign(m, kA.secretKey) })
    await refused(importEnvelope(enc(v01), { ...o, keys: [A] }), 'unsupported', 'unsupported_statement')
    expect(await mine(key.did)).toHaveLength(0)
  })

  it('export → import gives back the statement itself, unchanged', async () => {
    const author = await testKey(72)
    const exporter = await testKey(73)
    const v = await sign(createStatement({ actor: author.did, subject: 'pkg:generic/roundtrip@1.0.0', claim: 'source', object: `sha256-${createHash('sha256').update('roundtrip').digest('base64')}` }), author)
    const env = await exportEnvelope(v, keySigner(exporter))
    expect(env.signatures[0]!.keyid).toBe(exporter.did)
    const r = await importEnvelope(new TextEncoder().encode(JSON.stringify(env)), { relays, signer: keySigner(exporter), keys: [{ publicKey: exporter.publicKey }] })
    expect(r).toMatchObject({ kind: 'statement', items: [{ id: v.id, status: 'published', actor: author.did }] })
    const held = await query(relays, { subject: 'pkg:generic/roundtrip@1.0.0' })
    expect(held.statements.map((s) => s.id)).toEqual([v.id])
    const again = await importEnvelope(new TextEncoder().encode(JSON.stringify(env)), { relays, signer: keySigner(exporter), keys: [{ publicKey: exporter.publicKey }] })
    expect(again.items[0]!.status).toBe('already')
    // A statement swapped inside a re-signed envelope whose subject no longer matches is refused.
    const other = await sign(createStatement({ actor: author.did, subject: 'pkg:generic/other@1', claim: 'source', object: v.statement.object! }), author)
    const payload = JSON.parse(Buffer.from(env.payload, 'base64').toString())
    payload.predicate = other.statement
    payload.subject[0].name = 'pkg:generic/roundtrip@1.0.0'
    const forged = await signEnvelope('application/vnd.in-toto+json', new TextEncoder().encode(JSON.stringify(payload)), { sign: keySigner(exporter).sign })
    await refused(importEnvelope(new TextEncoder().encode(JSON.stringify(forged)), { relays, signer: keySigner(exporter), keys: [{ publicKey: exporter.publicKey }] }), 'malformed', 'bad_statement')
  })
})

// ---------------------------------------------------------------------------------------------
describe('the vouch CLI: bridge, import, export', () => {
  let home = ''
  const vouch = (args: string[]) => runVouch(args, { json: true, env: { HOME: home, VOUCH_HOME: home, VOUCH_RELAYS: relays.join(' ') } })

  beforeAll(() => {
    execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
    home = mkdtempSync(join(tmpdir(), 'vouch-bridges-cli-'))
    execFileSync(process.execPath, [BIN, 'init'], { env: { ...process.env, VOUCH_HOME: home }, stdio: 'ignore' })
  }, 60_000)

  it('help for each command', async () => {
    for (const c of ['bridge', 'import', 'export']) {
      const r = await vouch([c, '--help'])
      expect(r.code, c).toBe(0)
      expect(r.stdout, c).toMatch(/Usage:[\s\S]*Examples:\n {2}vouch /)
    }
  }, 30_000)

  it('bridge npm with --upload, then again (nothing new); exit codes for bad input', async () => {
    const r = await vouch(['bridge', 'npm', 'left-pad@1.3.0', '--registry', `${origin}/rw`, '--upload', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.json.packages[0].versions[0]).toMatchObject({ version: '1.3.0', status: 'published', upload: { status: 'stored' } })
    const text2 = await vouch(['bridge', 'npm', 'left-pad@1.3.0', '--registry', `${origin}/rw`])
    expect(text2.code).toBe(0)
    expect(text2.stdout).toMatch(/0 published, 1 already published/)
    expect(text2.stdout).toMatch(/nothing new to publish/)
    override.set('/left-pad', { status: 200, body: '{"name":"left-pad","versions":{"1.0.0":{"dist":{}}}}' })
    try {
      const bad = await vouch(['bridge', 'npm', 'left-pad', '--registry', `${origin}/rw`])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/left-pad@1.0.0: dist has neither integrity nor shasum/)
      expect(bad.stderr).toMatch(/nothing was published/)
      expect(bad.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/) // no stack trace
    } finally {
      override.delete('/left-pad')
    }
    expect((await vouch(['bridge', 'npm', 'nope-nope', '--registry', `${origin}/rw`])).code).toBe(4)
    expect((await vouch(['bridge', 'npm', 'left-pad@latest'])).code).toBe(2)
    expect((await vouch(['bridge', 'npm', 'left-pad', '--cache', origin])).code).toBe(2)
    expect((await vouch(['bridge', 'pypi', 'x'])).code).toBe(2)
  }, 60_000)

  it('bridge nix, export a statement, import it back', async () => {
    const n = await vouch(['bridge', 'nix', 'gdh8165b7rg4y53v64chjys7mbbw89f9', '--cache', origin, '--cache-key', CACHE_NIXOS_ORG_KEY, '--json'])
    expect(n.code).toBe(0)
    expect(n.json.paths[0]).toMatchObject({ storePath: '/nix/store/gdh8165b7rg4y53v64chjys7mbbw89f9-hello-2.10', status: 'published' })
    const id = n.json.paths[0].id
    const out = join(home, 'hello.intoto.json')
    const e = await vouch(['export', id, '-o', out])
    expect(e.code).toBe(0)
    expect((await vouch(['export', id, '-o', out])).code).toBe(5) // never overwrites
    const did = (await vouch(['key', 'show', '--json'])).json.did as string
    const i = await vouch(['import', out, '--public-key', did, '--json'])
    expect(i.code).toBe(0)
    expect(i.json).toMatchObject({ kind: 'statement', items: [{ id, status: 'already' }] })
    const wrong = await vouch(['import', out, '--public-key', (await testKey(99)).did])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/no signature on the envelope verifies/)
    expect((await vouch(['import', out])).code).toBe(2)
  }, 60_000)
})

