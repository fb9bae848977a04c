/**
 * Policy benchmark: verdict latency of the trust engine over 10k, 100k and 1M generated statements
 * with a warm index, and the memory the index holds. `npm run bench -- policy [--quick]`.
 *
 * The statement set is a plausible network: many packages, each with an author granted by one of a
 * few roots, versions with source claims, builders and their build claims, reviews, and noise from
 * strangers. The verdict asked for is one package version; the baseline is a linear scan over all
 * statements that touch the subject (the least any engine without an index must do), measured in the
 * same run.
 */
import { ensurePolicy, evaluate, FactIndex, type Fact } from '../src/policy/index.ts'
import { encodeDidKey, type Statement } from '../src/verify/index.ts'
import { fmt, median, ratio, table } from './lib/stats.ts'

const key = (n: number) => {
  const b = new Uint8Array(32)
  new DataView(b.buffer).setUint32(0, n + 1)
  b[31] = 7
  return encodeDidKey(b)
}
const hash = (n: number) => `sha256-${btoa(String(n).padStart(32, '#'))}`

function generate(total: number): { facts: Fact[]; subject: string; roots: string[] } {
  const roots = [key(0), key(1), key(2)]
  const builders = Array.from({ length: 8 }, (_, i) => key(10 + i))
  const facts: Fact[] = []
  let id = 0
  const add = (s: Omit<Statement, 'v' | 'sig'>) => facts.push({ id: `sha256-${id++}`, statement: { v: 1, sig: '', ...s } })
  for (const b of builders) add({ actor: roots[0]!, subject: b, claim: 'trusted-builder', time: 1 })
  let pkg = 0
  while (facts.length < total) {
    const author = key(1000 + pkg)
    const name = `pkg:npm/package-${pkg}`
    add({ actor: roots[pkg % 3]!, subject: author, claim: 'author', object: name, time: 2 })
    for (let v = 0; v < 5 && facts.length < total; v++) {
      const subject = `${name}@1.0.${v}`
      const src = hash(pkg * 10 + v)
      add({ actor: author, subject, claim: 'source', object: src, time: 10 + v })
      for (let b = 0; b < 3; b++) add({ actor: builders[(pkg + b) % builders.length]!, subject: src, claim: 'build', object: hash(1e9 + pkg * 10 + v), time: 20 + v, meta: { system: 'x86_64-linux' } })
      add({ actor: roots[1]!, subject: src, claim: 'review', object: 'pass', time: 30 })
      add({ actor: key(5_000_000 + (pkg % 997)), subject, claim: 'source', object: hash(-pkg), time: 12 }) // a stranger's noise
    }
    pkg++
  }
  return { facts, subject: `pkg:npm/package-${Math.floor(pkg / 2)}@1.0.2`, roots }
}

function timeIt(fn: () => unknown, reps: number): number {
  for (let i = 0; i < 5; i++) fn()
  const samples: number[] = []
  for (let r = 0; r < reps; r++) {
    const t = performance.now()
    fn()
    samples.push(performance.now() - t)
  }
  return median(samples)
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick')
  const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]
  const rows = [['statements', 'index build ms', 'index MiB', 'verdict ms (median)', 'linear scan ms', 'verdict vs scan', 'verdict']]
  for (const n of sizes) {
    const { facts, subject, roots } = generate(n)
    const policy = ensurePolicy({ version: 1, trust: { keys: roots }, builds: { required: true, agree: 2 }, reviews: { required: 1 } })
    global.gc?.()
    const heap0 = process.memoryUsage().heapUsed
    const t0 = performance.now()
    const index = new FactIndex(facts)
    const buildMs = performance.now() - t0
    global.gc?.()
    const indexMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20
    let verdict = ''
    const ms = timeIt(() => (verdict = evaluate(index, policy, subject, { now: 1000 }).verdict), 50)
    const scan = timeIt(() => facts.filter((f) => f.statement.subject === subject).length, 10)
    rows.push([fmt(n, 4), fmt(buildMs), fmt(indexMiB), fmt(ms), fmt(scan), ratio(ms / scan), verdict])
  }
  console.log(`\nTrust-policy verdicts (warm index; target < 100 ms at 1M statements)${typeof global.gc === 'function' ? '' : ' (run with node --expose-gc for index memory)'}\n`)
  console.log(table(rows))
}
