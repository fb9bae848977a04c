/** Inclusion checks against one signed tree, many leaves at a time (PROTOCOL §6.10). */
import { nodeHash } from '../verify/index.ts'
import type { TileSubtrees } from './tiles.ts'

/** The largest power of two strictly below n (n ≥ 2): RFC 6962's split. */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * One signed tree (size, root) and the nodes already proven to lie in it. An inclusion check
 * hashes from the leaf up, as RFC 9162's verifier does, but stops at the first node (a range
 * [lo, hi) of RFC 6962's recursion) an earlier check proved: from there up the path is that
 * check's, ending at the signed root. This is the same check (SHA-256 collision resistance is
 * all either rests on), done once per shared node instead of once per leaf: 1,000 statements of
 * one log share the upper half of their paths, and statements in one tile most of the rest.
 * Only nodes on a path that reached the root (or a proven node) are ever remembered; a tile
 * that lies leaves nothing behind.
 */
type Step = { lo: number; hi: number; sib: [number, number]; left: boolean }

export class ProvenTree {
  private readonly known = new Map<string, Uint8Array>()

  /** `h` gives the siblings from the log's tiles; without it only `includesByProof` can be asked. */
  constructor(
    readonly size: number,
    readonly root: Uint8Array,
    private readonly h?: TileSubtrees,
  ) {
    if (size > 0) this.known.set(`0:${size}`, root)
  }

  /** Whether the leaf hash `leaf` is at `index` in this tree. A tile that cannot be had throws (RangeError or the relay's error). */
  async includes(index: number, leaf: Uint8Array): Promise<boolean> {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) return false
    if (!this.h) throw new TypeError('this tree has no tiles to read siblings from; use includesByProof')
    const path = this.pathOf(index)
    let r = leaf
    const learnt: [string, Uint8Array][] = []
    for (let j = path.length - 1; ; j--) {
      const met = this.meet(j, path, r, learnt)
      if (met !== undefined) return met
      const p = path[j]!
      const s = this.range(p.sib[0], p.sib[1]) ?? (await this.rangeAsync(p.sib[0], p.sib[1]))
      r = this.up(p, r, s, learnt)
    }
  }

  /**
   * RFC 9162's verification of an inclusion proof (the leaf's sibling first), with the same
   * answer for every proof, valid or not, but hashing each shared node once: an offline bundle's
   * proofs of many statements of one log share their upper paths. A node whose two children are
   * exactly the hashes an earlier successful check proved is that check's proven parent, so it is
   * looked up, not hashed; every hash of the proof is still compared on the way up, so a proof
   * with a wrong hash anywhere fails even where the leaf was proven before.
   */
  includesByProof(index: number, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) return false
    const path = this.pathOf(index)
    if (proof.length !== path.length) return false
    let r = leaf
    const learnt: [string, Uint8Array][] = []
    const known = (k: string, x: Uint8Array) => {
      const v = this.known.get(k)
      return v !== undefined && equal(v, x)
    }
    for (let j = path.length - 1; j >= 0; j--) {
      const p = path[j]!
      const s = proof[path.length - 1 - j]!
      const parent = j === 0 ? `0:${this.size}` : `${path[j - 1]!.lo}:${path[j - 1]!.hi}`
      const same = known(`${p.lo}:${p.hi}`, r) && known(`${p.sib[0]}:${p.sib[1]}`, s) ? this.known.get(parent) : undefined
      r = same ?? this.up(p, r, s, learnt)
    }
    if (!equal(r, this.root)) return false
    for (const [key, hash] of learnt) this.known.set(key, hash)
    return true
  }

  /** The path from the leaf's range up to the whole tree, with each range's sibling (RFC 6962's recursion). */
  private pathOf(index: number): Step[] {
    const path: Step[] = []
    for (let lo = 0, hi = this.size; hi - lo > 1; ) {
      const k = splitPoint(hi - lo)
      if (index < lo + k) path.push({ lo, hi: lo + k, sib: [lo + k, hi], left: true }), (hi = lo + k)
      else path.push({ lo: lo + k, hi, sib: [lo, lo + k], left: false }), (lo = lo + k)
    }
    return path
  }

  /** At step j (the whole tree when j < 0): undefined when the node there is not proven yet; else whether `r` is it, remembering the climb's nodes when it is. */
  private meet(j: number, path: Step[], r: Uint8Array, learnt: [string, Uint8Array][]): boolean | undefined {
    const proven = this.known.get(j < 0 ? `0:${this.size}` : `${path[j]!.lo}:${path[j]!.hi}`)
    if (!proven) return undefined
    if (!equal(proven, r)) return false
    for (const [key, hash] of learnt) this.known.set(key, hash)
    return true
  }

  /** One level up from `r` at step `p` with its sibling's hash `s`; both are remembered should the climb succeed. */
  private up(p: Step, r: Uint8Array, s: Uint8Array, learnt: [string, Uint8Array][]): Uint8Array {
    learnt.push([`${p.lo}:${p.hi}`, r], [`${p.sib[0]}:${p.sib[1]}`, s])
    return p.left ? nodeHash(r, s) : nodeHash(s, r)
  }

  /** The complete subtrees [lo, hi) splits into, as RFC 6962 ranges do: from the left, folded from the right. */
  private parts(lo: number, hi: number): [number, number][] {
    const out: [number, number][] = []
    while (lo < hi) {
      let level = 0
      while (lo % 2 ** (level + 1) === 0 && lo + 2 ** (level + 1) <= hi) level++
      out.push([level, lo / 2 ** level])
      lo += 2 ** level
    }
    return out
  }

  private fold(hashes: Uint8Array[]): Uint8Array {
    let acc = hashes.pop()!
    while (hashes.length) acc = nodeHash(hashes.pop()!, acc)
    return acc
  }

  /** A range's hash from cached tiles without waiting, or undefined when a tile must be fetched. */
  private range(lo: number, hi: number): Uint8Array | undefined {
    const hashes: Uint8Array[] = []
    for (const [level, index] of this.parts(lo, hi)) {
      const x = this.h!.peek(level, index)
      if (!x) return undefined
      hashes.push(x)
    }
    return this.fold(hashes)
  }

  private async rangeAsync(lo: number, hi: number): Promise<Uint8Array> {
    const hashes: Uint8Array[] = []
    for (const [level, index] of this.parts(lo, hi)) hashes.push(await this.h!(level, index))
    return this.fold(hashes)
  }
}
