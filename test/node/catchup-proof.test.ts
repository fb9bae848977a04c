import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bundleMatches, leafCursor, LogMismatchError, openPeerCheckpoint } from '../../src/gossip/catchup.ts'
import { concat, encodeDidKey, formatCheckpoint, leafHash, naiveRoot, signNote, tileHashReader, TILE_WIDTH, utf8, type Checkpoint } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

/** A log of `size` entries with its tiles computed the naive way (RFC 6962 read literally), as a model peer serves them. */
function model(size: number, seed: number) {
  const entries = Array.from({ length: size }, (_, i) => utf8(`entry ${seed} ${i}`))
  const hashes = entries.map(leafHash)
  const c: Checkpoint = { origin: 'peer.example/vouch-log', size, root: naiveRoot(hashes) }
  const tiles = tileHashReader(size, async (level, index, width) => {
    const span = TILE_WIDTH ** level
    return concat(...Array.from({ length: width }, (_, j) => naiveRoot(hashes.slice((index * TILE_WIDTH + j) * span, (index * TILE_WIDTH + j + 1) * span))))
  })
  return { entries, hashes, c, tiles }
}

describe('a copied bundle is checked against the signed tree', () => {
  it('every full bundle of a log matches; a changed, swapped or foreign entry does not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: TILE_WIDTH, max: 4 * TILE_WIDTH + 300 }), fc.nat(), fc.nat(), async (size, seed, pick) => {
        const { hashes, c, tiles } = model(size, seed)
        const bundles = Math.floor(size / TILE_WIDTH)
        const k = pick % bundles
        const own = hashes.slice(k * TILE_WIDTH, (k + 1) * TILE_WIDTH)
        expect(await bundleMatches(k, own, c, tiles)).toBe(true)
        const i = pick % TILE_WIDTH
        const changed = own.slice()
        changed[i] = leafHash(utf8('forged'))
        expect(await bundleMatches(k, changed, c, tiles)).toBe(false)
        const swapped = own.slice()
        ;[swapped[i], swapped[(i + 1) % TILE_WIDTH]] = [swapped[(i + 1) % TILE_WIDTH]!, swapped[i]!]
        expect(await bundleMatches(k, swapped, c, tiles)).toBe(false)
        // Another bundle of the same log, true in itself, is not bundle k.
        if (bundles > 1) expect(await bundleMatches(k, hashes.slice(((k + 1) % bundles) * TILE_WIDTH, (((k + 1) % bundles) + 1) * TILE_WIDTH), c, tiles)).toBe(false)
      }),
      { numRuns: 25 },
    )
  })
})

describe('the peer checkpoint and cursor', () => {
  it('a checkpoint must be signed by the key the peer publishes, under its origin', async () => {
    const [peer, other] = [await testKey(51), await testKey(52)]
    const text = formatCheckpoint({ origin: 'peer.example/vouch-log', size: 3, root: new Uint8Array(32) })
    const note = await signNote(text, 'peer.example/vouch-log', peer.publicKey, peer.secretKey)
    expect((await openPeerCheckpoint(note, peer.did)).checkpoint.size).toBe(3)
    await expect(openPeerCheckpoint(note, encodeDidKey(other.publicKey))).rejects.toThrow(LogMismatchError)
    await expect(openPeerCheckpoint(note.replace('\n3\n', '\n4\n'), peer.did)).rejects.toThrow(/not signed by the key it publishes/)
    await expect(openPeerCheckpoint('garbage', peer.did)).rejects.toThrow(/not a signed note/)
  })

  it('only a leaf count is a cursor the log can resume from', () => {
    expect([leafCursor(''), leafCursor('0'), leafCursor('2300')]).toEqual([0, 0, 2300])
    for (const c of ['01', '-1', '1e3', 'abc', '99999999999999999']) expect(leafCursor(c)).toBeUndefined()
  })
})
