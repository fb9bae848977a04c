/**
 * Client benchmark: `vouch publish` of a ~100 MiB source tree end to end (hash the NAR, sign,
 * post, upload the NAR) against what a shell does with no protocol at all, in the same run on the
 * same relay: `tar c DIR | sha256sum` plus a raw upload of the same bytes vouch uploads (the NAR,
 * with `curl -T`: PUT /v1/blobs with the operator token). Also the startup time of `vouch --help` (median of 20),
 * which must stay under 150 ms.
 *
 * The CLI and curl send their requests from 127.0.0.1 (they cannot take bench/lib/client-ip.ts's
 * addresses), a handful a round, far under the relay's 600 a minute per address; the NAR is
 * charged to the publishing key's daily blob quota (1 GiB), 3 rounds of 99 MiB at most.
 *
 * `npm run bench -- client [--quick] [--markdown]`; docs/PERFORMANCE.md records results.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ADMIN_TOKEN, startNetwork } from '../scripts/network-harness.ts'
import { narStreamPath } from '../src/nar/fs.ts'
import { writeTree } from './lib/tree.ts'
import { fmt, markdownTable, median, ratio, table } from './lib/stats.ts'

const run = promisify(execFile)
const MiB = 1024 * 1024
const ROOT = join(import.meta.dirname, '..')
const BIN = join(ROOT, 'bin/vouch.js')
/** The goal: `vouch --help` in under this many ms. */
const STARTUP_TARGET_MS = 150

interface Plan {
  /** Bytes of file content; the NAR adds ~200 B per file and must fit the relays' 100 MiB blob limit. */
  bytes: number
  files: number
  rounds: number
  startups: number
}
const FULL: Plan = { bytes: 99 * MiB, files: 2000, rounds: 3, startups: 20 }
const QUICK: Plan = { bytes: 20 * MiB, files: 500, rounds: 1, startups: 10 }

/** Wall time of a process, in ms. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('close', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, stdout }) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${stderr}`))))
  })
}

/** utime + stime of a finished child, from GNU time (10 ms resolution). */
async function cpuOf(args: string[]): Promise<{ wall: number; cpu: number }> {
  const t0 = performance.now()
  const { stderr } = await run('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, ...args])
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr)
  return { wall: performance.now() - t0, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN }
}

/**
 * Wall time (median, fastest) and CPU time (median) of each command, run in turns so that load
 * from other processes hits all alike. On a busy machine wall time mostly measures the queue for
 * a CPU; CPU time and the difference from an empty script do not.
 */
async function startup(plan: Plan, dir: string) {
  const empty = join(dir, 'empty.mjs')
  writeFileSync(empty, '')
  const cases = { node: ['-e', '0'], esm: [empty], help: [BIN, '--help'], publishHelp: [BIN, 'publish', '--help'] }
  type K = keyof typeof cases
  const wall: Record<K, number[]> = { node: [], esm: [], help: [], publishHelp: [] }
  const cpu: Record<K, number[]> = { node: [], esm: [], help: [], publishHelp: [] }
  const gnuTime = await run('/usr/bin/time', ['-f', '%U', 'true']).then(() => true, () => false)
  for (let i = 0; i < plan.startups; i++) {
    for (const k of Object.keys(cases) as K[]) {
      if (gnuTime) {
        const r = await cpuOf(cases[k])
        wall[k].push(r.wall)
        cpu[k].push(r.cpu)
      } else wall[k].push((await timed(process.execPath, cases[k])).ms)
    }
  }
  const stat = (k: K) => ({ median: median(wall[k]), min: Math.min(...wall[k]), cpu: gnuTime ? median(cpu[k]) : NaN })
  return { node: stat('node'), esm: stat('esm'), help: stat('help'), publishHelp: stat('publishHelp') }
}

/** Markdown, with the pipes of shell commands escaped. */
const md = (rows: string[][]) => markdownTable(rows.map((r) => r.map((c) => c.replaceAll('|', '\\|'))))

function startupTable(s: Awaited<ReturnType<typeof startup>>, plan: Plan, markdown: boolean): string {
  const starts = [
    ['command', `wall, median of ${plan.startups}`, 'wall, fastest', 'CPU, median', 'fastest, over an empty ESM file', 'target'],
    ...([['node -e 0', s.node], ['node empty.mjs (floor)', s.esm], ['vouch --help', s.help], ['vouch publish --help', s.publishHelp]] as const).map(([name, x]) => [
      name,
      `${fmt(x.median)} ms`,
      `${fmt(x.min)} ms`,
      `${fmt(x.cpu)} ms`,
      x === s.node || x === s.esm ? '' : `${x.min >= s.esm.min ? '+' : '−'}${fmt(Math.abs(x.min - s.esm.min))} ms`,
      x === s.help ? `< ${STARTUP_TARGET_MS} ms: ${s.help.median < STARTUP_TARGET_MS ? 'met' : s.help.min < STARTUP_TARGET_MS ? 'met when a CPU is free (fastest run)' : 'missed'}` : '',
    ]),
  ]
  return markdown ? md(starts) : table(starts)
}

export async function main(args: string[]): Promise<void> {
  const unknown = args.filter((a) => a !== '--quick' && a !== '--markdown' && a !== '--startup')
  if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}; options: --quick, --markdown, --startup (startup only)`)
  const plan = args.includes('--quick') ? QUICK : FULL
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
  const dir = mkdtempSync(join(tmpdir(), 'vouch-bench-client-'))
  if (args.includes('--startup')) {
    try {
      console.log(startupTable(await startup(plan, dir), plan, args.includes('--markdown')))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    return
  }
  const net = await startNetwork({ relays: 1, topology: 'line' })
  try {
    const relay = net.relays[0]!.url
    const tree = join(dir, 'tree')
    writeTree(tree, plan, 0xc11e)
    const env = { ...process.env, VOUCH_HOME: join(dir, 'home'), VOUCH_RELAYS: relay }
    await timed(process.execPath, [BIN, 'init'], env)
    // Warm the relay and the page cache once, untimed.
    await timed(process.execPath, [BIN, 'hash', tree], env)

    const rows: { publish: number; hash: number; tarSha: number; upload: number; nar: number; tar: number }[] = []
    for (let round = 0; round < plan.rounds; round++) {
      // New content every round, so every upload is a real one.
      writeFileSync(join(tree, 'ROUND'), `round ${round} ${Date.now()}\n`)
      const hash = await timed(process.execPath, [BIN, 'hash', tree], env)
      const pub = await timed(process.execPath, [BIN, 'publish', `bench@${round}.${Date.now()}`, tree, '--json'], env)
      const out = JSON.parse(pub.stdout) as { size: number; uploads: { status: string }[] }
      if (out.uploads[0]?.status !== 'stored') throw new Error(`round ${round}: the NAR was not uploaded (${JSON.stringify(out.uploads)})`)

      const tarSha = await timed('sh', ['-c', 'tar cf - -C "$1" . | sha256sum', 'sh', tree])
      const tar = Number((await run('sh', ['-c', 'tar cf - -C "$1" . | wc -c', 'sh', tree])).stdout.trim())
      // The raw upload sends the bytes vouch sent (the NAR, written out untimed; a tar of the
      // tree is a little larger than the relays' 100 MiB limit), under a name no statement uses.
      const narFile = join(dir, 'tree.nar')
      await pipeline(narStreamPath(tree), createWriteStream(narFile))
      writeFileSync(narFile, `${round}`, { flag: 'a' })
      const hex = execFileSync('sha256sum', [narFile], { encoding: 'utf8' }).split(' ')[0]!
      const upload = await timed('curl', ['-sS', '--fail', '-H', 'Expect:', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, '-T', narFile, `${relay}/v1/blobs/sha256:${hex}`])
      rows.push({ publish: pub.ms, hash: hash.ms, tarSha: tarSha.ms, upload: upload.ms, nar: out.size, tar })
      rmSync(narFile)
      console.error(`round ${round + 1}/${plan.rounds}: publish ${fmt(pub.ms / 1000)} s, tar|sha256sum ${fmt(tarSha.ms / 1000)} s + curl ${fmt(upload.ms / 1000)} s`)
    }
    const s = await startup(plan, dir)

    const m = (k: keyof (typeof rows)[number]) => median(rows.map((r) => r[k]))
    const baseline = median(rows.map((r) => r.tarSha + r.upload))
    const nar = m('nar')
    const tput = (ms: number) => `${fmt(nar / MiB / (ms / 1000))} MiB/s`
    const results = [
      ['step', 'median', 'throughput', 'vs baseline'],
      ['vouch publish (hash + sign + post + upload)', `${fmt(m('publish') / 1000)} s`, tput(m('publish')), ratio(m('publish') / baseline)],
      ['baseline: tar c | sha256sum, then curl -T of the NAR', `${fmt(baseline / 1000)} s`, tput(baseline), '1.00x'],
      ['  vouch hash (NAR sha256)', `${fmt(m('hash') / 1000)} s`, tput(m('hash')), ratio(m('hash') / m('tarSha'))],
      ['  tar c | sha256sum', `${fmt(m('tarSha') / 1000)} s`, tput(m('tarSha')), '1.00x'],
      ['  vouch publish minus vouch hash (sign, post, upload)', `${fmt((m('publish') - m('hash')) / 1000)} s`, tput(m('publish') - m('hash')), ratio((m('publish') - m('hash')) / m('upload'))],
      ['  curl -T (raw PUT of the same NAR bytes)', `${fmt(m('upload') / 1000)} s`, tput(m('upload')), '1.00x'],
    ]
    const env_ = `${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`
    const head = `tree: ${plan.files} files, ${fmt(plan.bytes / MiB)} MiB of content; NAR ${fmt(nar / MiB)} MiB, tar ${fmt(m('tar') / MiB)} MiB; 1 local relay (wrangler dev); ${plan.rounds} rounds; ${env_}`
    const markdown = args.includes('--markdown')
    console.log([head, '', markdown ? md(results) : table(results), '', startupTable(s, plan, markdown)].join('\n'))
  } finally {
    await net.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
