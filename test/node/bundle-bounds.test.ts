import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkBundleBounds } from '../../src/cli/bundle-bounds.ts'
import { BundleError } from '../../src/cli/bundle.ts'
import {
  base64,
  consistencyProof,
  cosign,
  cosignerKey,
  formatCheckpoint,
  formatCosignerKey,
  formatVerifierKey,
  inclusionProof,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  signNote,
  splitNote,
  utf8,
  type KeyPair,
  type VerifiedStatement,
} from '../../src/verify/index.ts'

/**
 * A bundle's witnessed time bounds checked offline (docs/POLICY.md "The `bounds` field"): a bound
 * made from a log counts, with the time its cosignature names; any change to it (a proof hash,
 * the leaf index, the cosignature, the log's signature, a tree of another history) loses the
 * bound and says why, never a throw; a malformed field refuses the bundle.
 */

const ORIGIN = 'bounds.test/vouch-log'
const WITNESS = 'w.test/witness'
const T = 1_790_000_000
let logKey: KeyPair
let witness: KeyPair
let other: KeyPair

beforeAll(async () => {
  logKey = await keyPairFromSeed(new Uint8Array(32).fill(111))
  witness = await keyPairFromSeed(new Uint8Array(32).fill(112))
  other = await keyPairFromSeed(new Uint8Array(32).fill(113))
})

const leaf = (i: number, tag = 'leaf') => `{"${tag}":${i}}`
const subtree = (leaves: string[]) => async (level: number, index: number) => naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level).map((l) => leafHash(utf8(l))))
const note = (leaves: string[], key = logKey) => signNote(formatCheckpoint({ origin: ORIGIN, size: leaves.length, root: naiveRoot(leaves.map((l) => leafHash(utf8(l)))) }), ORIGIN, key.publicKey, key.secretKey)
const b64 = (hs: Uint8Array[]) => hs.map((h) => base64.encode(h))
const flip = (s: string) => base64.encode(Uint8Array.from(base64.decode(s), (x, i) => (i === 0 ? x ^ 1 : x)))
const requirement = () => ({ witnesses: [{ key: formatCosignerKey(WITNESS, witness.publicKey) }], k: 1 })

type Mutation = 'none' | 'inclusion' | 'consistency' | 'index' | 'cosigner' | 'log-key' | 'fork'

/** A one-group bundle log over a tree of n leaves, with a bound for leaf `index` from a witnessed tree of w leaves, changed as `m` says. */
async function bundle(n: number, w: number, index: number, m: Mutation) {
  const cur = Array.from({ length: n }, (_, i) => leaf(i))
  // A fork: the witnessed tree has other leaves than the current one (the bound's leaf kept, so only consistency fails).
  const wit = m === 'fork' ? Array.from({ length: w }, (_, i) => (i === index ? leaf(i) : leaf(i, 'other'))) : cur.slice(0, w)
  const wn = await note(wit, m === 'log-key' ? other : logKey)
  const cosigner = m === 'cosigner' ? other : witness
  const witnessed = wn + (await cosign(splitNote(wn).body, cosignerKey(WITNESS, cosigner.publicKey), cosigner.secretKey, T))
  const inclusion = b64(await inclusionProof(index, w, subtree(wit)))
  let consistency = w === n ? [] : b64(await consistencyProof(w, n, subtree(cur)))
  if (m === 'inclusion' && inclusion.length) inclusion[0] = flip(inclusion[0]!)
  if (m === 'consistency' && consistency.length) consistency = [flip(consistency[0]!), ...consistency.slice(1)]
  const statement = { id: `sha256-${index}`, canonical: cur[index]! } as VerifiedStatement
  const group = {
    relay: 'https://relay.test',
    verifierKey: formatVerifierKey(ORIGIN, logKey.publicKey),
    checkpoint: await note(cur),
    entries: [],
    bounds: [{ statement: statement.id, index: m === 'index' ? (index + 1) % w : index, witnessed, inclusion, consistency }],
  }
  return { log: [group], statements: [statement] }
}

describe('checkBundleBounds', () => {
  it('property: a bound made from the log counts at the end of its cosignature second; any change to it loses the bound, with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }))).chain(([n, w]) => fc.tuple(fc.constant(n), fc.constant(w), fc.integer({ min: 0, max: w - 1 }))),
        fc.constantFrom<Mutation>('none', 'inclusion', 'consistency', 'index', 'cosigner', 'log-key', 'fork'),
        async ([n, w, index], m) => {
          const b = await bundle(n, w, index, m)
          const r = await checkBundleBounds(b.log, b.statements, requirement(), undefined, () => (T + 60) * 1000)
          // A change the proofs cannot see (no hash to flip, an index moved within a one-leaf tree, a fork of a one-leaf tree) is no change.
          const noop = (m === 'inclusion' && w === 1) || (m === 'consistency' && w === n) || (m === 'index' && w === 1) || (m === 'fork' && w === 1)
          if (m === 'none' || noop) {
            expect(r.bounds.get(`sha256-${index}`)).toEqual({ at: (T + 1) * 1000, by: [WITNESS] })
            expect(r.refused).toEqual([])
          } else {
            expect(r.bounds.size).toBe(0)
            expect(r.refused).toEqual([{ id: `sha256-${index}`, message: expect.any(String) }])
          }
        },
      ),
      { numRuns: 120 },
    )
  })

  it('names why: cosignatures, the log key, consistency, inclusion', async () => {
    const why = async (m: Mutation) => (await checkBundleBounds(...Object.values(await bundle(9, 5, 2, m)) as [unknown, VerifiedStatement[]], requirement(), undefined, () => (T + 60) * 1000)).refused[0]?.message
    expect(await why('cosigner')).toBe('its witnessed checkpoint of 5 leaves has 0 of the 1 valid cosignatures the policy requires')
    expect(await why('log-key')).toBe(`its witnessed checkpoint is not a checkpoint of ${ORIGIN} signed by its key`)
    expect(await why('fork')).toBe("its witnessed checkpoint of 5 leaves is not proven consistent with the bundle's checkpoint of 9")
    expect(await why('inclusion')).toBe('its inclusion proof at leaf 2 does not lead to the witnessed root of 5 leaves')
  })

  it('a cosignature dated beyond now + skew does not count, as online', async () => {
    const b = await bundle(9, 5, 2, 'none')
    const r = await checkBundleBounds(b.log, b.statements, requirement(), 0, () => (T - 60) * 1000)
    expect(r.bounds.size).toBe(0)
  })

  it('a malformed bounds field refuses the bundle (bad_bundle); a bound of a statement not in the bundle is ignored', async () => {
    const b = await bundle(9, 5, 2, 'none')
    const g = b.log[0]!
    for (const bad of [{ ...g, bounds: 'x' }, { ...g, bounds: [{ ...g.bounds[0], inclusion: ['not base64!'] }] }, { ...g, bounds: [{ ...g.bounds[0], consistency: Array(65).fill(g.bounds[0]!.inclusion[0]) }] }, { ...g, bounds: [{ ...g.bounds[0], index: -1 }] }]) {
      const e = await checkBundleBounds([bad], b.statements, requirement()).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(BundleError)
      expect((e as BundleError).code).toBe('bad_bundle')
    }
    expect(await checkBundleBounds(b.log, [], requirement())).toEqual({ bounds: new Map(), refused: [] })
  })
})
