/**
 * `vouch hash DIR` against `nix-hash --type sha256 DIR`, whole process against whole process
 * (start-up included: the number a user feels), on four shapes of tree. Part of
 * `npm run bench -- nar` (bench/nar.ts).
 *
 * What runs is what users run: bin/vouch.js, which loads the bundle in dist/ (rebuilt here first
 * with `npm run build:cli`, as `npm pack` and `npm install` do), never tsx. Two floors run in the
 * same rounds: Node running an empty module, the floor under any Node CLI on this machine, and
 * Node loading node:crypto and hashing nothing, the floor under any Node hasher; the last column
 * is that floor's CPU time over nix-hash's, the part of the 1.2x budget spent before a file is read.
 *
 * NODE_EXTRA_CA_CERTS is removed from the environment of everything timed: Node parses that file
 * eagerly at start-up (Node 20; ~40 ms for a full CA bundle, before any JavaScript runs), and it
 * is set on some machines (CI and sandboxes), not by default. Where it is set, its cost is
 * measured and printed on its own.
 *
 * `--baseline REV` also times the build of another commit (git archive of REV, built with its own
 * scripts/build-cli.mjs) in the same rounds: a change's effect measured against its parent under
 * the same load, which a shared machine makes the only fair comparison.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { writeSmallFiles, writeTree } from './lib/tree.ts'
import { fmt, markdownTable, median, ratio, table } from './lib/stats.ts'

const MiB = 1024 * 1024
const ROOT = join(import.meta.dirname, '..')
const BIN = join(ROOT, 'bin/vouch.js')
/** The goal: `vouch hash` within this factor of `nix-hash`, whole process. */
const TARGET = 1.2

interface Shape {
  name: string
  build: (dir: string) => { files: number; bytes: number }
}

/** The shapes of issue 17: a large source tree, a middling one, many small files, nothing. */
const SHAPES: Shape[] = [
  { name: '311 MB, 5,200 files', build: (d) => sum(writeTree(d, { bytes: 311 * 1e6, files: 5200 }, 0x311)) },
  { name: '64 MB, 3,000 files', build: (d) => sum(writeTree(d, { bytes: 64 * 1e6, files: 3000 }, 0x64)) },
  { name: '30,000 small files', build: (d) => ({ files: 30_000, bytes: writeSmallFiles(d, 30_000, 0x30) }) },
  { name: 'empty directory', build: (d) => (mkdirSync(d), { files: 0, bytes: 0 }) },
]
const sum = (files: { bytes: Uint8Array }[]) => ({ files: files.length, bytes: files.reduce((n, f) => n + f.bytes.length, 0) })

/**
 * Runs a command under bash's `time`, which reads the child's rusage: wall time and CPU time
 * (user + system, every thread) in ms. On a shared machine the CPU time is the steadier of the
 * two: waiting for a core counts in wall time only.
 */
function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = CLEAN_ENV): { ms: number; cpu: number; stdout: string } {
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@"'
  const r = spawnSync('bash', ['-c', script, 'bash', cmd, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: MiB })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const [real, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number]
  return { ms: real * 1000, cpu: (user + sys) * 1000, stdout: r.stdout.trim() }
}

const CLEAN_ENV: NodeJS.ProcessEnv = { ...process.env }
delete CLEAN_ENV.NODE_EXTRA_CA_CERTS

const hasNixHash = () => spawnSync('sh', ['-c', 'command -v nix-hash'], { stdio: 'ignore' }).status === 0

/** bin/vouch.js of commit `rev`, built in `dir` with that commit's own build script. */
function buildBaseline(rev: string, dir: string): string {
  const base = join(dir, 'baseline')
  mkdirSync(base)
  const files = spawnSync('sh', ['-c', 'git -C "$1" archive "$2" bin src scripts package.json | tar -x -C "$3"', 'sh', ROOT, rev, base], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (files.status !== 0) throw new Error(`git archive ${rev} failed`)
  symlinkSync(join(ROOT, 'node_modules'), join(base, 'node_modules'))
  const built = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: base, stdio: ['ignore', 'inherit', 'inherit'] })
  if (built.status !== 0) throw new Error(`building ${rev} failed`)
  return join(base, 'bin/vouch.js')
}

export async function wholeProcess(dir: string, o: { quick: boolean; markdown: boolean; baseline?: string }): Promise<void> {
  const rounds = o.quick ? 3 : 9
  const built = spawnSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
  if (built.status !== 0) throw new Error('npm run build:cli failed')
  const baseBin = o.baseline === undefined ? undefined : buildBaseline(o.baseline, dir)
  const nix = hasNixHash()
  const empty = join(dir, 'empty.mjs')
  writeFileSync(empty, '')
  // CommonJS, as bin/vouch.js is: the least a Node process that hashes must do.
  const hasher = join(dir, 'hash-nothing.cjs')
  writeFileSync(hasher, "require('node:crypto').createHash('sha256').digest()\n")
  const extraCa = process.env.NODE_EXTRA_CA_CERTS

  const rows = [['tree', 'files', 'MiB', 'vouch hash ms', 'nix-hash ms', 'vouch / nix-hash', `within ${TARGET}x`, 'CPU ms vouch / nix', 'CPU ratio', 'CPU Node hasher floor / nix']]
  if (baseBin) rows[0]!.push(`${o.baseline} ms`, `${o.baseline} / nix-hash`, `CPU ms ${o.baseline}`, `${o.baseline} CPU / nix`)
  const floor: number[] = []
  const floorCpu: number[] = []
  const hashFloor: number[] = []
  const hashFloorCpu: number[] = []
  const withCa: number[] = []
  const withCaCpu: number[] = []
  for (const [i, shape] of SHAPES.entries()) {
    const path = join(dir, `shape-${i}`)
    const { files, bytes } = shape.build(path)
    // Once untimed: warms the page cache, and the two must agree.
    const ours = exec(process.execPath, [BIN, 'hash', path]).stdout
    if (nix) {
      const theirs = exec('nix-hash', ['--type', 'sha256', path]).stdout
      const hex = Buffer.from(ours.slice('sha256-'.length), 'base64').toString('hex')
      if (hex !== theirs) throw new Error(`${shape.name}: vouch hash ${ours} (${hex}) != nix-hash ${theirs}`)
    }
    // Interleaved, so a noisy neighbour slows all three alike.
    const vouch: ReturnType<typeof exec>[] = []
    const theirs: ReturnType<typeof exec>[] = []
    const hashers: number[] = [] // CPU ms: under load the steadier measure
    const before: ReturnType<typeof exec>[] = []
    if (baseBin && exec(process.execPath, [baseBin, 'hash', path]).stdout !== ours) throw new Error(`${shape.name}: the baseline ${o.baseline} disagrees`)
    for (let r = 0; r < rounds; r++) {
      vouch.push(exec(process.execPath, [BIN, 'hash', path]))
      if (baseBin) before.push(exec(process.execPath, [baseBin, 'hash', path]))
      if (nix) theirs.push(exec('nix-hash', ['--type', 'sha256', path]))
      const f = exec(process.execPath, [empty])
      floor.push(f.ms)
      floorCpu.push(f.cpu)
      const h = exec(process.execPath, [hasher])
      hashers.push(h.cpu)
      hashFloor.push(h.ms)
      hashFloorCpu.push(h.cpu)
      if (extraCa) {
        const c = exec(process.execPath, [empty], process.env)
        withCa.push(c.ms)
        withCaCpu.push(c.cpu)
      }
    }
    const v = median(vouch.map((x) => x.ms))
    const n = nix ? median(theirs.map((x) => x.ms)) : NaN
    const vc = median(vouch.map((x) => x.cpu))
    const nc = nix ? median(theirs.map((x) => x.cpu)) : NaN
    rows.push([
      shape.name,
      fmt(files),
      fmt(bytes / MiB),
      fmt(v),
      nix ? fmt(n) : 'skipped',
      nix ? ratio(v / n) : '—',
      nix ? (v / n <= TARGET ? 'yes' : 'NO') : '—',
      `${fmt(vc)} / ${nix ? fmt(nc) : '—'}`,
      nix ? ratio(vc / nc) : '—',
      nix ? ratio(median(hashers) / nc) : '—',
    ])
    if (baseBin) {
      const b = median(before.map((x) => x.ms))
      const bc = median(before.map((x) => x.cpu))
      rows.at(-1)!.push(fmt(b), nix ? ratio(b / n) : '—', fmt(bc), nix ? ratio(bc / nc) : '—')
    }
  }
  const notes = [
    `Node running an empty module (the floor under any Node CLI here): ${fmt(median(floor))} ms median, ${fmt(median(floorCpu))} ms CPU.`,
    `Node loading node:crypto and hashing nothing (the floor under any Node hasher): ${fmt(median(hashFloor))} ms median, ${fmt(median(hashFloorCpu))} ms CPU.`,
    extraCa
      ? `NODE_EXTRA_CA_CERTS is set here (${extraCa}); everything above ran without it. With it, Node running an empty module takes ${fmt(median(withCa))} ms median, ${fmt(median(withCaCpu))} ms CPU: +${fmt(median(withCaCpu) - median(floorCpu))} ms CPU on every Node process.`
      : 'NODE_EXTRA_CA_CERTS is not set.',
    nix ? 'nix-hash and vouch hash agreed on every tree.' : 'nix-hash is not on PATH: its column is skipped (Debian: apt-get install nix-bin).',
    `Median of ${rounds} interleaved rounds after a warm-up, page cache warm; ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
  ]
  console.log(`Whole process: vouch hash DIR (node ${BIN.slice(ROOT.length + 1)}) vs nix-hash --type sha256 DIR\n`)
  console.log([o.markdown ? markdownTable(rows, 1) : table(rows, 1), '', ...notes].join('\n'))
}
