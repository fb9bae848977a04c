/**
 * NAR hashing benchmark, two goals in one run.
 *
 * In process: how fast `narHashPath` (src/nar/fs-hash.ts) hashes a directory, against two
 * floors that do no NAR work at all: node:crypto over one file holding the same bytes (1 MiB
 * reads, the best a Node hasher can do), and coreutils `sha256sum` over the same files
 * (`find -type f | sort | xargs cat | sha256sum`). `nix-hash` is timed too where installed, and must
 * agree with narHashPath. The goal: narHashPath >= 0.9x node:crypto.
 *
 * Whole process (bench/nar-process.ts): `vouch hash DIR` as users run it (the built CLI,
 * bin/vouch.js → dist/) against `nix-hash --type sha256 DIR`, start-up included, on four tree
 * shapes. The goal: within 1.2x.
 *
 * `npm run bench -- nar [--quick] [--markdown] [--process] [--baseline REV]`; docs/PERFORMANCE.md records results.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { narHashPath } from '../src/nar/fs.ts'
import { writeTree } from './lib/tree.ts'
import { fmt, markdownTable, median, ratio, table } from './lib/stats.ts'
import { wholeProcess } from './nar-process.ts'

const run = promisify(execFile)
const MiB = 1024 * 1024
/** The goal this benchmark checks: narHashPath throughput over node:crypto's over the same bytes. */
const TARGET_RATIO = 0.9

interface Plan {
  bytes: number
  files: number
  rounds: number
}
const FULL: Plan = { bytes: 200 * MiB, files: 2000, rounds: 5 }
const QUICK: Plan = { bytes: 40 * MiB, files: 500, rounds: 3 }

/** The benchmark's tree (bench/lib/tree.ts) plus one file holding all its bytes, for the baselines. */
function buildTree(dir: string, plan: Plan): { root: string; files: string[]; concat: string; bytes: number } {
  const root = join(dir, 'tree')
  const concat = join(dir, 'concat.bin')
  const written = writeTree(root, plan, 0x5eed)
  const contents = new Map(written.map((f) => [f.path, f.bytes]))
  const files = written.map((f) => f.path)
  // In byte order of the paths, as `LC_ALL=C sort` gives them to sha256sum.
  files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const all = Buffer.concat(files.map((f) => contents.get(f)!))
  writeFileSync(concat, all)
  return { root, files, concat, bytes: all.length }
}

/** node:crypto over one file, 1 MiB reads, one at a time: the floor narHashPath is held to. */
async function hashConcat(path: string): Promise<string> {
  const hash = createHash('sha256')
  const fh = await open(path)
  try {
    const buf = Buffer.allocUnsafe(MiB)
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, MiB, null)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
    }
  } finally {
    await fh.close()
  }
  return hash.digest('base64')
}

const sh = async (script: string, ...args: string[]) => (await run('sh', ['-c', script, 'sh', ...args], { maxBuffer: 16 * MiB })).stdout.trim()
const has = async (cmd: string) => sh('command -v "$1"', cmd).then(() => true, () => false)

interface Contender {
  name: string
  what: string
  run: () => Promise<string>
}

export async function main(args: string[]): Promise<void> {
  const b = args.indexOf('--baseline')
  const baseline = b >= 0 ? args[b + 1] : undefined
  if (b >= 0 && (baseline === undefined || baseline.startsWith('--'))) throw new Error('--baseline needs a git revision')
  const unknown = args.filter((a, i) => a !== '--quick' && a !== '--markdown' && a !== '--process' && (b < 0 || (i !== b && i !== b + 1)))
  if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}; options: --quick, --markdown, --process (whole process only), --baseline REV`)
  const plan = args.includes('--quick') ? QUICK : FULL
  const dir = mkdtempSync(join(tmpdir(), 'vouch-bench-nar-'))
  try {
    if (args.includes('--process')) return await wholeProcess(dir, { quick: args.includes('--quick'), markdown: args.includes('--markdown'), baseline })
    const started = performance.now()
    const { root, concat, files, bytes: payload } = buildTree(dir, plan)
    console.error(`built ${files.length} files, ${fmt(payload / MiB)} MiB in ${dir} (${fmt((performance.now() - started) / 1000)} s)`)

    let narSize = 0
    const contenders: Contender[] = [
      {
        name: 'narHashPath',
        what: 'src/nar/fs-hash.ts, sha256 of the NAR',
        run: async () => {
          const r = await narHashPath(root)
          narSize = r.narSize
          return r.sri
        },
      },
      { name: 'node:crypto', what: 'one file of the same bytes, 1 MiB reads', run: () => hashConcat(concat) },
    ]
    if (await has('sha256sum')) {
      contenders.push({ name: 'sha256sum', what: 'find -type f | sort | xargs cat | sha256sum', run: () => sh('find "$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 cat | sha256sum', root) })
    }
    const hasNix = await has('nix-hash')
    if (hasNix) contenders.push({ name: 'nix-hash', what: 'nix-hash --type sha256 (Nix, C++)', run: () => sh('nix-hash --type sha256 "$1"', root) })

    // Once untimed: warms the page cache and the JIT, and checks that everyone agrees.
    const first = new Map<string, string>()
    for (const c of contenders) first.set(c.name, await c.run())
    if (hasNix) {
      const ours = Buffer.from(first.get('narHashPath')!.slice('sha256-'.length), 'base64').toString('hex')
      if (ours !== first.get('nix-hash')) throw new Error(`narHashPath ${ours} != nix-hash ${first.get('nix-hash')}`)
    }
    const concatHex = Buffer.from(first.get('node:crypto')!, 'base64').toString('hex')
    if (first.has('sha256sum') && !first.get('sha256sum')!.startsWith(concatHex)) throw new Error('sha256sum and node:crypto disagree on the bytes')

    // Rounds interleave the contenders, so a noisy neighbour slows them all alike.
    const seconds = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
    const cpu = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
    for (let round = 0; round < plan.rounds; round++) {
      for (const c of contenders) {
        const before = process.cpuUsage()
        const t = performance.now()
        await c.run()
        seconds.get(c.name)!.push((performance.now() - t) / 1000)
        const used = process.cpuUsage(before)
        cpu.get(c.name)!.push((used.user + used.system) / 1000)
      }
    }

    const speed = (name: string) => payload / MiB / median(seconds.get(name)!)
    const best = (name: string) => payload / MiB / Math.min(...seconds.get(name)!)
    const base = speed('node:crypto')
    const rows = [
      ['hasher', 'what', 'MiB/s (median)', 'MiB/s (best)', 'vs node:crypto', 'CPU ms (in-process)'],
      ...contenders.map((c) => [
        c.name,
        c.what,
        fmt(speed(c.name)),
        fmt(best(c.name)),
        ratio(speed(c.name) / base),
        c.name === 'narHashPath' || c.name === 'node:crypto' ? fmt(median(cpu.get(c.name)!)) : '—',
      ]),
    ]
    const goal = speed('narHashPath') / base
    const summary = [
      `${files.length} files, ${fmt(payload / MiB)} MiB of contents (NAR ${fmt(narSize / MiB)} MiB), ${plan.rounds} interleaved rounds after a warm-up; page cache warm.`,
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
      `Goal narHashPath >= ${TARGET_RATIO}x node:crypto: ${ratio(goal)} ${goal >= TARGET_RATIO ? 'met' : 'NOT met'}.`,
    ]
    const escaped = rows.map((r) => r.map((cell) => cell.replaceAll('|', '\\|')))
    console.log('In process: narHashPath vs node:crypto over the same bytes\n')
    if (args.includes('--markdown')) console.log([markdownTable(escaped, 2), '', ...summary].join('\n'))
    else console.log([table(rows, 2), '', ...summary].join('\n'))
    console.log('')
    await wholeProcess(dir, { quick: args.includes('--quick'), markdown: args.includes('--markdown'), baseline })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export default main
