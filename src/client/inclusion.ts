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
export class ProvenTree {
  private readonly known = new Map<string, Uint8Array>()

  constructor(
    readonly size: number,
    readonly root: Uint8Array,
    private readonly h: TileSubtrees,
  ) {
    if (size > 0) this.known.set(`0:${size}`, root)
  }

  /** Whether the leaf hash `leaf` is at `index` in this tree. A tile that cannot be had throws (RangeError or the relay's error). */
  async includes(index: number, leaf: Uint8Array): Promise<boolean> {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) return false
    // The path from the leaf's range up to the whole tree, with each range's sibling.
    const path: { lo: number; hi: number; sib: [number, number]; left: boolean }[] = []
    for (let lo = 0, hi = this.size; hi - lo > 1; ) {
      const k = splitPoint(hi - lo)
      if (index < lo + k) path.push({ lo, hi: lo + k, sib: [lo + k, hi], left: true }), (hi = lo + k)
      else path.push({ lo: lo + k, hi, sib: [lo, lo + k], left: false }), (lo = lo + k)
    }
    let r = leaf
    const learnt: [string, Uint8Array][] = []
    for (let j = path.length - 1; ; j--) {
      const here = j < 0 ? `0:${this.size}` : `${path[j]!.lo}:${path[j]!.hi}`
      const proven = this.known.get(here)
      if (proven) {
        if (!equal(proven, r)) return false
        for (const [key, hash] of learnt) this.known.set(key, hash)
        return true
      }
      const p = path[j]!
      const s = this.range(p.sib[0], p.sib[1]) ?? (await this.rangeAsync(p.sib[0], p.sib[1]))
      learnt.push([here, r], [`${p.sib[0]}:${p.sib[1]}`, s])
      r = p.left ? nodeHash(r, s) : nodeHash(s, r)
    }
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
      const x = this.h.peek(level, index)
      if (!x) return undefined
      hashes.push(x)
    }
    return this.fold(hashes)
  }

  private async rangeAsync(lo: number, hi: number): Promise<Uint8Array> {
    const hashes: Uint8Array[] = []
    for (const [level, index] of this.parts(lo, hi)) hashes.push(await this.h(level, index))
    return this.fold(hashes)
  }
}
