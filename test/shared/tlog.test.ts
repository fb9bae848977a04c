import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  consistencyProof,
  decodeBundle,
  emptyRoot,
  encodeBundle,
  encodeTileIndex,
  hashFullTile,
  formatCheckpoint,
  formatVerifierKey,
  hex,
  inclusionProof,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  openNote,
  parseCheckpoint,
  parseTilePath,
  parseVerifierKey,
  signNote,
  tileHashReader,
  tilePath,
  tileRoot,
  TILE_WIDTH,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type SubtreeHash,
} from '../../src/verify/index.ts'

/** The RFC 6962 test leaves used by Certificate Transparency's implementations. */
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => hex.decode(h))
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]

/** Every tile of a tree built the obvious way: level L+1 holds the roots of level L's full tiles. */
function tilesOf(leaves: Uint8Array[]): Map<string, Uint8Array[]> {
  const tiles = new Map<string, Uint8Array[]>()
  let hashes = leaves
  for (let level = 0; hashes.length > 0; level++) {
    const up: Uint8Array[] = []
    for (let i = 0; i * TILE_WIDTH < hashes.length; i++) {
      const t = hashes.slice(i * TILE_WIDTH, (i + 1) * TILE_WIDTH)
      tiles.set(`${level}/${i}`, t)
      if (t.length === TILE_WIDTH) up.push(tileRoot(t))
    }
    hashes = up
  }
  return tiles
}

function readerOf(leaves: Uint8Array[], size: number): SubtreeHash {
  const tiles = tilesOf(leaves)
  return tileHashReader(size, async (level, index, width) => {
    const t = tiles.get(`${level}/${index}`)!
    return Uint8Array.from(t.slice(0, width).flatMap((h) => [...h]))
  })
}

const leavesOf = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${salt} ${i}`)))

describe('RFC 6962 hashing', () => {
  it('matches the Certificate Transparency test vectors', async () => {
    expect(hex.encode(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    const hashes = CT_LEAVES.map(leafHash)
    for (let n = 1; n <= 8; n++) {
      expect(hex.encode(naiveRoot(hashes.slice(0, n)))).toBe(CT_ROOTS[n - 1])
      expect(hex.encode(await treeRoot(n, readerOf(hashes, n)))).toBe(CT_ROOTS[n - 1])
    }
    const path = await inclusionProof(0, 8, readerOf(hashes, 8))
    expect(path.map((h) => hex.encode(h))).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ])
  })
})

describe('tiles', () => {
  it('give the naive Merkle root, and proofs from them verify (property)', async () => {
    const all = leavesOf(1401)
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1400 }), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }), async (n, a, b) => {
        const leaves = all.slice(0, n)
        const h = readerOf(leaves, n)
        const root = await treeRoot(n, h)
        expect(root).toEqual(naiveRoot(leaves))
        const i = a % n
        const proof = await inclusionProof(i, n, h)
        expect(verifyInclusion(i, n, leaves[i]!, proof, root)).toBe(true)
        expect(verifyInclusion(i, n, all[n]!, proof, root)).toBe(false)
        if (n > 1) expect(verifyInclusion((i + 1) % n, n, leaves[i]!, proof, root)).toBe(false)
        const m = (b % n) + 1
        const old = naiveRoot(leaves.slice(0, m))
        const cons = await consistencyProof(m, n, h)
        expect(verifyConsistency(m, n, cons, old, root)).toBe(true)
        if (m < n) {
          // A fork: the same old size with one leaf changed is not a prefix.
          const forked = naiveRoot([...leaves.slice(0, m - 1), all[n]!])
          expect(verifyConsistency(m, n, cons, forked, root)).toBe(false)
        }
      }),
      { numRuns: 60 },
    )
  }, 60_000)

  it('reach level 2 (65,536 leaves and more)', async () => {
    const leaves = leavesOf(66_000, 1)
    expect(await treeRoot(66_000, readerOf(leaves, 66_000))).toEqual(naiveRoot(leaves))
  }, 60_000)

  it('have one spelling per path', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067')
    expect(encodeTileIndex(0)).toBe('000')
    expect(tilePath({ level: 1, index: 1234067, width: 256 })).toBe('tile/1/x001/x234/067')
    expect(tilePath({ level: 'entries', index: 5, width: 7 })).toBe('tile/entries/005.p/7')
    expect(parseTilePath('tile/entries/x001/x234/067.p/255')).toEqual({ level: 'entries', index: 1234067, width: 255 })
    expect(parseTilePath('tile/0/000')).toEqual({ level: 0, index: 0, width: 256 })
    for (const bad of ['tile/0/0', 'tile/0/x000/001', 'tile/0/001.p/0', 'tile/0/001.p/256', 'tile/0/001.p/07', 'tile/01/001', 'tile/6/000', 'tile/0/001/', 'tile/data/000', 'tile/0/x1/001', 'tile/0/000.p/']) {
      expect(parseTilePath(bad), bad).toBeUndefined()
    }
    fc.assert(
      fc.property(fc.oneof(fc.constant('entries' as const), fc.integer({ min: 0, max: 5 })), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 256 }), (level, index, width) => {
        expect(parseTilePath(tilePath({ level, index, width }))).toEqual({ level, index, width })
      }),
    )
  })

  it('bundle entries with big-endian uint16 lengths', () => {
    const entries = [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(300).fill(7)]
    const b = encodeBundle(entries)
    expect([...b.slice(0, 2)]).toEqual([0, 0])
    expect([...b.slice(2, 5)]).toEqual([0, 3, 1])
    expect([...b.slice(7, 9)]).toEqual([1, 44])
    expect(decodeBundle(b)).toEqual(entries)
    expect(() => decodeBundle(b.slice(0, -1))).toThrow(RangeError)
    expect(() => encodeBundle([new Uint8Array(65536)])).toThrow(RangeError)
  })

  it('hash a full tile in one batch to the same leaf hashes and root as one at a time (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 256, maxLength: 256 }), async (height, pool) => {
        const entries = pool.slice(0, 2 ** height)
        const { hashes, root } = await hashFullTile(entries)
        const one = entries.map(leafHash)
        expect(hashes).toEqual(one)
        expect(root).toEqual(tileRoot(one))
        expect(root).toEqual(naiveRoot(one))
      }),
      { numRuns: 40 },
    )
    for (const n of [0, 3, 255, 257]) await expect(hashFullTile(Array.from({ length: n }, () => new Uint8Array(1)))).rejects.toThrow(RangeError)
  })
})

describe('signed checkpoints', () => {
  it('sign and open as C2SP signed notes, and refuse what was changed', async () => {
    const kp = await keyPairFromSeed(new Uint8Array(32).fill(9))
    const origin = 'relay.example/vouch-log'
    const vkey = formatVerifierKey(origin, kp.publicKey)
    const v = parseVerifierKey(vkey)!
    expect(v.name).toBe(origin)
    expect(parseVerifierKey(vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toBeUndefined()
    const text = formatCheckpoint({ origin, size: 8, root: hex.decode(CT_ROOTS[7]!) })
    expect(text).toBe(`${origin}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`)
    const note = await signNote(text, origin, kp.publicKey, kp.secretKey)
    expect(note.startsWith(`${text}\n— ${origin} `)).toBe(true)
    const opened = await openNote(note, v)
    expect(opened.verified).toBe(true)
    expect(parseCheckpoint(opened.text)).toEqual({ origin, size: 8, root: hex.decode(CT_ROOTS[7]!) })
    expect((await openNote(note.replace('\n8\n', '\n9\n'), v)).verified).toBe(false)
    await expect(openNote(text, v)).rejects.toThrow(RangeError)
    for (const bad of ['o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n', 'o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n', 'o\n8\n', '\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n']) {
      expect(parseCheckpoint(bad), bad).toBeUndefined()
    }
  })
})
