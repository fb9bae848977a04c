import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { LogForkError, memoryCheckpointStore, ProvenTree, type TileSubtrees } from '../../src/client/index.ts'
import { BundleError, readBundle, type Bundle } from '../../src/cli/bundle.ts'
import { checkBundleLog } from '../../src/cli/bundle-log.ts'
import { formatCheckpoint, inclusionProof, keyPairFromSeed, leafHash, naiveRoot, signNote, utf8, verifyInclusion } from '../../src/verify/index.ts'
import { checkBundleBounds } from '../../src/cli/bundle-bounds.ts'
import { buildBundleVector, LOG_SEED, ORIGIN, RELAY, SLOTS, WITNESS, WITNESSED_AT, WITNESSED_SIZE, witnessKey } from '../vectors/bundle/build.ts'

const VECTOR = readFileSync(new URL('../vectors/bundle/bundle.json', import.meta.url), 'utf8')
const NOW = Date.parse('2026-06-01')

/** A tree over `leaves` as tiles would give it; `peek` answers only for nodes `cached` says, so both the waiting and the synchronous paths run. */
function subtrees(leaves: Uint8Array[], cached: (level: number, index: number) => boolean, lie?: (level: number, index: number) => boolean): TileSubtrees {
  const node = (level: number, index: number) => {
    const hash = naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))
    return lie?.(level, index) ? Uint8Array.from(hash, (x, i) => (i === 0 ? x ^ 1 : x)) : hash
  }
  return Object.assign(async (level: number, index: number) => node(level, index), { peek: (level: number, index: number) => (cached(level, index) ? node(level, index) : undefined) })
}

describe('ProvenTree: inclusion checks that stop at a node an earlier check proved', () => {
  it('property: over any order of checks it answers exactly as a full RFC 9162 verification does, and never accepts a wrong leaf even when tiles lie', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.record({ at: fc.nat(), wrong: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        fc.boolean(),
        async (size, checks, seed, lying) => {
          const leaves = Array.from({ length: size }, (_, i) => leafHash(utf8(`leaf ${i}`)))
          const root = naiveRoot(leaves)
          const cached = (l: number, i: number) => ((l * 31 + i + seed) & 3) !== 0
          const lie = lying ? (l: number, i: number) => ((l * 7 + i * 13 + seed) % 11) === 0 : undefined
          const h = subtrees(leaves, cached, lie)
          const tree = new ProvenTree(size, root, h)
          for (const { at, wrong } of checks) {
            const index = at % size
            const leaf = wrong ? leafHash(utf8(`other ${index}`)) : leaves[index]!
            const got = await tree.includes(index, leaf)
            if (wrong) expect(got).toBe(false)
            if (!lying) expect(got).toBe(verifyInclusion(index, size, leaf, await inclusionProof(index, size, h), root))
          }
          // Out of range is never included.
          expect(await tree.includes(size, leaves[0]!)).toBe(false)
          expect(await tree.includes(-1, leaves[0]!)).toBe(false)
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('ProvenTree.includesByProof: a bundle\'s proofs checked with shared paths', () => {
  it('property: over any order of proofs, right or wrong, it answers exactly as RFC 9162 verification of each proof does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.record({ at: fc.nat(), wrong: fc.constantFrom('none', 'leaf', 'proof', 'short', 'index') }), { minLength: 1, maxLength: 40 }),
        async (size, checks) => {
          const leaves = Array.from({ length: size }, (_, i) => leafHash(utf8(`leaf ${i}`)))
          const root = naiveRoot(leaves)
          const h = subtrees(leaves, () => true)
          const tree = new ProvenTree(size, root)
          for (const { at, wrong } of checks) {
            const index = at % size
            let proof = await inclusionProof(index, size, h)
            let leaf = leaves[index]!
            let where = index
            if (wrong === 'leaf') leaf = leafHash(utf8(`other ${index}`))
            if (wrong === 'proof' && proof.length) proof = proof.map((p, i) => (i === at % proof.length ? Uint8Array.from(p, (x, k) => (k === 0 ? x ^ 1 : x)) : p))
            if (wrong === 'short' && proof.length) proof = proof.slice(0, -1)
            if (wrong === 'index') where = (index + 1 + (at % 3)) % (size + 1)
            const want = verifyInclusion(where, size, leaf, proof, root)
            expect(tree.includesByProof(where, leaf, proof)).toBe(want)
            if (wrong === 'leaf' || (wrong === 'proof' && proof.length) || (wrong === 'short' && proof.length)) expect(want).toBe(false)
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('offline bundle with log proofs (test/vectors/bundle)', () => {
  const open = async (text = VECTOR) => readBundle(text, NOW)
  const edited = (change: (b: Bundle) => void) => {
    const b = JSON.parse(VECTOR) as Bundle
    change(b)
    return JSON.stringify(b)
  }

  it('is exactly what the generator writes, and every statement in it is log-checked', async () => {
    expect(VECTOR).toBe((await buildBundleVector()).text)
    const { bundle, statements } = await open()
    const r = await checkBundleLog(bundle.log, statements)
    expect(r.report).toEqual({ logs: [{ relay: RELAY, origin: ORIGIN, size: 7, kept: 'none' }], logChecked: 3, notLogChecked: 0, dropped: [] })
    expect(r.statements.map((s) => s.id)).toEqual(statements.map((s) => s.id))
  })

  it('statements are verified all at once, yet the first bad one by position is the one named, with its reason', async () => {
    // statements[1]'s signature fails only once its check comes back from WebCrypto; statements[2]
    // fails its shape check at once, before that. The report must still name statements[1].
    const text = edited((b) => {
      b.statements[1]!.time += 1
      ;(b.statements[2] as unknown as Record<string, unknown>).extra = 1
    })
    await expect(open(text)).rejects.toMatchObject({ code: 'tampered', message: expect.stringMatching(/^statements\[1\] does not verify \(bad_signature: signature does not verify\)/) })
    await expect(open(edited((b) => ((b.statements[2] as unknown as Record<string, unknown>).extra = 1)))).rejects.toMatchObject({ code: 'tampered', message: expect.stringMatching(/^statements\[2\] does not verify \(unknown_field/) })
  })

  it('a tampered proof drops that statement and names it; the others still count', async () => {
    const { bundle, statements } = await open(edited((b) => (b.log![0]!.entries[1]!.proof[0] = b.log![0]!.entries[0]!.proof[0]!)))
    const r = await checkBundleLog(bundle.log, statements)
    expect(r.report.logChecked).toBe(2)
    expect(r.report.dropped).toEqual([{ id: bundle.log![0]!.entries[1]!.statement, message: expect.stringMatching(/inclusion proof at leaf 4 of relay.example\/vouch-log \(7 leaves\) does not lead to the signed root/) }])
    expect(r.statements.map((s) => s.id)).not.toContain(bundle.log![0]!.entries[1]!.statement)
    // A statement moved to another leaf fails the same way.
    const moved = await open(edited((b) => (b.log![0]!.entries[0]!.index = 0)))
    expect((await checkBundleLog(moved.bundle.log, moved.statements)).report.dropped).toHaveLength(1)
  })

  it('a checkpoint whose signature does not verify under the recorded key refuses the bundle', async () => {
    const { bundle, statements } = await open(edited((b) => (b.log![0]!.checkpoint = b.log![0]!.checkpoint.replace('\n7\n', '\n8\n'))))
    await expect(checkBundleLog(bundle.log, statements)).rejects.toMatchObject({ code: 'tampered', message: expect.stringMatching(/not a checkpoint of relay.example\/vouch-log signed by/) })
    const other = await keyPairFromSeed(new Uint8Array(32).fill(9))
    const resigned = await signNote(formatCheckpoint({ origin: ORIGIN, size: 7, root: new Uint8Array(32) }), ORIGIN, other.publicKey, other.secretKey)
    const b2 = await open(edited((b) => (b.log![0]!.checkpoint = resigned)))
    await expect(checkBundleLog(b2.bundle.log, b2.statements)).rejects.toBeInstanceOf(BundleError)
  })

  it('malformed log evidence is bad_bundle, naming where', async () => {
    for (const [change, message] of [
      [(b: Bundle) => (b.log![0]!.entries[0]!.proof[0] = 'not base64!'), /log\[0\]\.entries\[0\]\.proof/],
      [(b: Bundle) => (b.log![0]!.entries[0]!.statement = 'sha256-AAAA'), /which the bundle does not hold/],
      [(b: Bundle) => ((b.log![0] as { verifierKey?: string }).verifierKey = undefined), /log\[0\] must be/],
      [(b: Bundle) => (b.log![0]!.entries[0]!.index = -1), /non-negative index/],
    ] as const) {
      const { bundle, statements } = await open(edited(change))
      await expect(checkBundleLog(bundle.log, statements)).rejects.toMatchObject({ code: 'bad_bundle', message: expect.stringMatching(message) })
    }
  })

  it('its bounds case: the witnessed checkpoint of the first 5 leaves bounds leaves 1 and 4, not 6; a changed cosignature or a second required witness loses them', async () => {
    const { bundle, statements } = await open()
    const checked = (await checkBundleLog(bundle.log, statements)).statements
    const logs = { witnesses: [{ key: await witnessKey() }], k: 1 }
    const r = await checkBundleBounds(bundle.log, checked, logs, undefined, () => NOW)
    const bounded = statements.filter((_, k) => SLOTS[k]! < WITNESSED_SIZE).map((s) => s.id)
    expect(bounded).toHaveLength(2)
    expect(r).toEqual({ bounds: new Map(bounded.map((id) => [id, { at: (WITNESSED_AT + 1) * 1000, by: [WITNESS] }])), refused: [] })
    const flipped = edited((b) => {
      for (const x of b.log![0]!.bounds!) x.witnessed = x.witnessed.replace(/(— witness\.example\/bundle \S{20})(.)/, (_, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'))
    })
    const f = await open(flipped)
    const lost = await checkBundleBounds(f.bundle.log, (await checkBundleLog(f.bundle.log, f.statements)).statements, logs, undefined, () => NOW)
    expect(lost.bounds.size).toBe(0)
    expect(lost.refused).toEqual(bounded.map((id) => ({ id, message: `its witnessed checkpoint of ${WITNESSED_SIZE} leaves has 0 of the 1 valid cosignatures the policy requires` })))
    const other = 'witness.example/w1+918b6299+BMhAafoiFsbtwdUsqDqhHCZ91UQK+lJgkMpD69DKhqnP'
    expect((await checkBundleBounds(bundle.log, checked, { witnesses: [{ key: await witnessKey() }, { key: other }], k: 2 }, undefined, () => NOW)).bounds.size).toBe(0)
  })

  it('without log proofs every statement is judged but counted not log-checked', async () => {
    const { bundle, statements } = await open(edited((b) => delete b.log))
    expect((await checkBundleLog(bundle.log, statements)).report).toEqual({ logs: [], logChecked: 0, notLogChecked: 3, dropped: [] })
  })

  it('beside the checkpoint this user keeps: same tree passes, another root at the same size is a fork, another key or log is refused', async () => {
    const { bundle, statements } = await open()
    const g = bundle.log![0]!
    const kp = await keyPairFromSeed(LOG_SEED)
    const store = memoryCheckpointStore()
    await store.keepCheckpoint(ORIGIN, { verifierKey: g.verifierKey, note: g.checkpoint })
    expect((await checkBundleLog(bundle.log, statements, store)).report.logs[0]!.kept).toBe('same tree')
    await store.keepCheckpoint(ORIGIN, { verifierKey: g.verifierKey, note: await signNote(formatCheckpoint({ origin: ORIGIN, size: 9, root: new Uint8Array(32) }), ORIGIN, kp.publicKey, kp.secretKey) })
    expect((await checkBundleLog(bundle.log, statements, store)).report.logs[0]!.kept).toMatch(/consistency not checked offline/)
    await store.keepCheckpoint(ORIGIN, { verifierKey: g.verifierKey, note: await signNote(formatCheckpoint({ origin: ORIGIN, size: 7, root: new Uint8Array(32) }), ORIGIN, kp.publicKey, kp.secretKey) })
    await expect(checkBundleLog(bundle.log, statements, store)).rejects.toBeInstanceOf(LogForkError)
    await store.keepCheckpoint(ORIGIN, { verifierKey: `${ORIGIN}+00000000+AAAA`, note: g.checkpoint })
    await expect(checkBundleLog(bundle.log, statements, store)).rejects.toMatchObject({ code: 'wrong_log' })
    const pinned = memoryCheckpointStore()
    await pinned.keepRelayLog(RELAY, 'other.example/log')
    await expect(checkBundleLog(bundle.log, statements, pinned)).rejects.toMatchObject({ code: 'wrong_log', message: expect.stringMatching(/served you the log other.example\/log/) })
  })
})
