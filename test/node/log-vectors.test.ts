import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  decodeBase64,
  decodeBundle,
  leafHash,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  splitTile,
  tileHashReader,
  tilePath,
  treeRoot,
  utf8,
  verifyConsistency,
  verifyInclusion,
} from '../../src/verify/index.ts'
import { buildLogVectors } from '../vectors/log/build.ts'

const DIR = new URL('../vectors/log/', import.meta.url).pathname
const read = (p: string) => new Uint8Array(readFileSync(join(DIR, p)))
const text = (p: string) => readFileSync(join(DIR, p), 'utf8')
const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [relative(DIR, join(d, f))]))
const b64 = (s: string) => decodeBase64(s)!

interface Proofs {
  verifierKey: string
  roots: Record<string, string>
  inclusion: { index: number; size: number; entry: string; leafHash: string; proof: string[] }[]
  consistency: { from: number; to: number; proof: string[] }[]
}

describe('log test vectors (test/vectors/log)', () => {
  it('are exactly what the generator writes', async () => {
    const built = await buildLogVectors()
    expect(walk(DIR).filter((f) => f !== 'build.ts').sort()).toEqual([...built.keys()].sort())
    for (const [path, bytes] of built) expect(read(path), path).toEqual(bytes)
  })

  it('verify: signed checkpoints, the tree from the tile files, bundles, proofs', async () => {
    const p = JSON.parse(text('proofs.json')) as Proofs
    const verifier = parseVerifierKey(p.verifierKey)!
    for (const [size, root] of Object.entries(p.roots)) {
      const opened = await openNote(text(`checkpoint.${size}`), verifier)
      expect(opened.verified).toBe(true)
      const cp = parseCheckpoint(opened.text)!
      expect(cp).toEqual({ origin: verifier.name, size: Number(size), root: b64(root) })
      const h = tileHashReader(cp.size, async (level, index, width) => read(tilePath({ level, index, width })))
      expect(await treeRoot(cp.size, h)).toEqual(cp.root)
    }
    for (const [bundle, tile] of [['tile/entries/000', 'tile/0/000'], ['tile/entries/001.p/44', 'tile/0/001.p/44']] as const) {
      expect(decodeBundle(read(bundle)).map(leafHash)).toEqual(splitTile(read(tile)))
    }
    for (const inc of p.inclusion) {
      expect(leafHash(utf8(inc.entry))).toEqual(b64(inc.leafHash))
      expect(verifyInclusion(inc.index, inc.size, b64(inc.leafHash), inc.proof.map(b64), b64(p.roots[inc.size]!))).toBe(true)
      expect(verifyInclusion(inc.index, inc.size, b64(inc.leafHash), inc.proof.map(b64), b64(p.roots[100]!))).toBe(false)
    }
    for (const c of p.consistency) {
      expect(verifyConsistency(c.from, c.to, c.proof.map(b64), b64(p.roots[c.from]!), b64(p.roots[c.to]!))).toBe(true)
      expect(verifyConsistency(c.from, c.to, c.proof.slice(1).map(b64), b64(p.roots[c.from]!), b64(p.roots[c.to]!))).toBe(false)
    }
  })
})
