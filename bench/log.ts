/**
 * Log benchmark: on one local relay (wrangler's engine, local D1 and R2), ingest N statements in
 * batches of 1,000, then let the log integrate them, measuring the relay's CPU for each phase in
 * the same run, and time how long after an accepted POST the
 * checkpoint includes it. `npm run bench -- log [--quick]`; docs/PERFORMANCE.md, "The log".
 */
import { randomBytes } from 'node:crypto'
import { LogChecker, TileCache } from '../src/client/index.ts'
import { openNote, parseCheckpoint, parseVerifierKey, verifyStatement, type NoteVerifier, type VerifiedStatement } from '../src/verify/index.ts'
import { cosignatureRows } from './cosign.ts'
import { timeBoundRows } from './timebound.ts'
import { profileIntegration, profileRows } from './log-stages.ts'
import { benchFetch } from './lib/client-ip.ts'
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
    const { log } = (await (await benchFetch(`${base}/.well-known/vouch`)).json()) as { log: { verifierKey: string; prefix: string } }
    const verifier = parseVerifierKey(log.verifierKey) as NoteVerifier
    const checkpointSize = async () => {
      const opened = await openNote(await (await benchFetch(`${base}${log.prefix}/checkpoint`)).text(), verifier)
      if (!opened.verified) throw new Error('checkpoint signature does not verify')
      return parseCheckpoint(opened.text)!.size
    }
    const pool = await signPool(keys, `log${Date.now()}`, n + delayTrials + n / 2, Date.now() - 3_600_000)
    const post = async (body: Buffer | string) => {
      const res = await benchFetch(`${base}/v1/statements`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
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

    // 3. Client inclusion checks (PROTOCOL §6.10) for 1,000 statements spread over the whole log,
    // beside verifying the same statements' signatures, the client's other per-statement cost.
    // Before the delay trials: their polling spends the relay's per-IP request budget (600 a
    // minute), and a tile refused with 429 would fail the cold check.
    const sample: { raw: unknown; index: number }[] = []
    const stride = Math.floor(n / 1000)
    for (let after = 0; after < n; after += 1000) {
      const page = (await (await benchFetch(`${base}/v1/feed?after=${after}&limit=1000`)).json()) as { statements: unknown[]; leaves: number[] }
      page.statements.forEach((raw, k) => page.leaves[k]! % stride === 0 && sample.length < 1000 && sample.push({ raw, index: page.leaves[k]! }))
    }
    let t = performance.now()
    const verified: VerifiedStatement[] = []
    for (const s of sample) verified.push(await verifyStatement(s.raw, { now: Date.now() }))
    const sigMs = performance.now() - t
    const items = verified.map((v, k) => ({ index: sample[k]!.index, canonical: v.canonical }))
    const tiles = new TileCache()
    t = performance.now()
    const cold = await new LogChecker({ tiles }).check(base, items)
    const coldMs = performance.now() - t
    // Warm: every tile cached, the checkpoint already read, but nothing proven yet (a new
    // checker), as for the statements of a command's later reads; the same checker again would
    // find every leaf already proven.
    const warm: number[] = []
    for (let i = 0; i < 5; i++) {
      const checker = new LogChecker({ tiles })
      await checker.check(base, [])
      t = performance.now()
      const again = await checker.check(base, items)
      warm.push(performance.now() - t)
      if (again.verdicts.some(Boolean)) throw new Error('a logged statement failed its inclusion check')
    }
    if (cold.verdicts.some(Boolean)) throw new Error('a logged statement failed its inclusion check')
    const warmMs = percentile(warm, 50)

    // 4. Checkpoint delay: from an accepted POST of one statement to a checkpoint that includes it.
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
    // 5. Stage profile of integration over the same statements, in a worker of its own.
    const profile = await profileIntegration(pool.slice(0, n), pool.slice(n + delayTrials))
    console.log(`log benchmark: ${n} statements in batches of 1000, one local relay`)
    console.log(
      table([
        ['measure', 'value'],
        ['ingest CPU per statement (relay)', `${fmt(ingestCpu / n)} ms`],
        ['integration CPU per statement (relay)', `${fmt(integrateCpu / n)} ms`],
        ['integration / ingest CPU', `${((100 * integrateCpu) / ingestCpu).toFixed(1)}%`],
        ...profileRows(profile, ingestCpu / n),
        ['integration of the backlog (wall)', `${fmt(integrateMs / 1000)} s over ${requests} checkpoint requests`],
        ['checkpoint delay after ingest p50 / p99', `${fmt(percentile(delays, 50))} / ${fmt(percentile(delays, 99))} ms (${delayTrials} trials)`],
        [`client: verify ${sample.length} statement signatures (baseline)`, `${fmt(sigMs)} ms`],
        [`client: inclusion checks for ${sample.length} statements, cold (checkpoint + tiles over HTTP)`, `${fmt(coldMs)} ms`],
        [`client: inclusion checks for ${sample.length} statements, warm (tiles cached), median of 5`, `${fmt(warmMs)} ms = ${(warmMs / sigMs).toFixed(2)}× the signature checks`],
        ...(await cosignatureRows()),
        ...(await timeBoundRows()),
      ]),
    )
  } finally {
    if (running) await relay.dispose()
    removeDir(relay.dir)
  }
}
