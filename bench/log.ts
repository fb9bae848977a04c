/**
 * Log benchmark: on one local relay (wrangler's engine, local D1 and R2), ingest N statements in
 * batches of 1,000, then let the log integrate them, measuring the relay's CPU for each phase in
 * the same run, and time how long after an accepted POST the
 * checkpoint includes it. `npm run bench -- log [--quick]`; docs/PERFORMANCE.md, "The log".
 */
import { randomBytes } from 'node:crypto'
import { openNote, parseCheckpoint, parseVerifierKey, type NoteVerifier } from '../src/verify/index.ts'
import { CpuMeter } from './lib/proc.ts'
import { bodies, makeKeys, signPool } from './lib/statements.ts'
import { fmt, percentile, table } from './lib/stats.ts'
import { removeDir, startRelay } from './lib/workers.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick')
  const n = quick ? 10_240 : 51_200
  const delayTrials = quick ? 10 : 40
  const keys = await makeKeys(16)
  const relay = await startRelay({ RELAY_KEY: { type: 'secret_text', value: randomBytes(32).toString('base64url') } })
  let running = true
  try {
    const base = relay.url.href.replace(/\/$/, '')
    const { log } = (await (await fetch(`${base}/.well-known/vouch`)).json()) as { log: { verifierKey: string; prefix: string } }
    const verifier = parseVerifierKey(log.verifierKey) as NoteVerifier
    const checkpointSize = async () => {
      const opened = await openNote(await (await fetch(`${base}${log.prefix}/checkpoint`)).text(), verifier)
      if (!opened.verified) throw new Error('checkpoint signature does not verify')
      return parseCheckpoint(opened.text)!.size
    }
    const pool = await signPool(keys, `log${Date.now()}`, n + delayTrials, Date.now() - 3_600_000)
    const post = async (body: Buffer | string) => {
      const res = await fetch(`${base}/v1/statements`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
      if (res.status !== 200) throw new Error(`POST: ${res.status} ${await res.text()}`)
      await res.arrayBuffer()
    }

    // 1. Ingest, with no checkpoint requested (so nothing integrates meanwhile).
    let meter = new CpuMeter({ runtime: relay.pids.runtime }).start()
    const batches = bodies(pool.slice(0, n), 1000)
    for (let i = 0; i < batches.length; i += 4) await Promise.all(batches.slice(i, i + 4).map(post))
    const ingestCpu = meter.stop().runtime!

    // 2. Integration of the whole backlog, driven by checkpoint requests.
    meter = new CpuMeter({ runtime: relay.pids.runtime }).start()
    const t0 = performance.now()
    let requests = 0
    while ((requests++, await checkpointSize()) < n) await sleep(50)
    const integrateMs = performance.now() - t0
    const integrateCpu = meter.stop().runtime!

    // 3. Checkpoint delay: from an accepted POST of one statement to a checkpoint that includes it.
    const delays: number[] = []
    for (let i = 0; i < delayTrials; i++) {
      const want = n + i + 1
      await post(JSON.stringify(pool[n + i]))
      const start = performance.now()
      while ((await checkpointSize()) < want) await sleep(10)
      delays.push(performance.now() - start)
      await sleep(Math.random() * 300)
    }

    await relay.dispose()
    running = false
    console.log(`log benchmark: ${n} statements in batches of 1000, one local relay`)
    console.log(
      table([
        ['measure', 'value'],
        ['ingest CPU per statement (relay)', `${fmt(ingestCpu / n)} ms`],
        ['integration CPU per statement (relay)', `${fmt(integrateCpu / n)} ms`],
        ['integration / ingest CPU', `${((100 * integrateCpu) / ingestCpu).toFixed(1)}%`],
        ['integration of the backlog (wall)', `${fmt(integrateMs / 1000)} s over ${requests} checkpoint requests`],
        ['checkpoint delay after ingest p50 / p99', `${fmt(percentile(delays, 50))} / ${fmt(percentile(delays, 99))} ms (${delayTrials} trials)`],
      ]),
    )
  } finally {
    if (running) await relay.dispose()
    removeDir(relay.dir)
  }
}
