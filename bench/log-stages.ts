/**
 * Where the log's integration CPU goes (bench/lib/integrate-worker.ts): the Worker's own
 * JavaScript, local D1 and local R2, each timed by the workerd process's CPU over the same rows,
 * beside ingest's D1 insert in the same process. Called by bench/log.ts after its relay run.
 */
import type { Statement } from '../src/verify/index.ts'
import { CpuMeter } from './lib/proc.ts'
import { bodies } from './lib/statements.ts'
import { fmt, percentile } from './lib/stats.ts'
import { removeDir, startMigratedWorker } from './lib/workers.ts'

export interface IntegrationProfile {
  /** CPU ms per statement. */
  stages: { name: string; ms: number }[]
  /** ingest's insertStatements into local D1, per statement. */
  insertMs: number
  /** ingest's verifyStatement over a batch (request.json + verify, no D1), per statement: a floor for ingest's Worker CPU. */
  verifyMs: number
  /** the relay's integrate() on local D1 and R2 (whole process), per statement. */
  fullMs: number
  /** dropIntegratedBodies, per statement. */
  dropMs: number
  /** integrate() over in-memory bindings: the Worker's own CPU, per statement. */
  workerMs: number
}

const MEMORY = 'integrate() over in-memory D1 and R2'

export async function profileIntegration(pool: Statement[], extra: Statement[], cpuTargetMs = 400): Promise<IntegrationProfile> {
  const { worker, dir } = await startMigratedWorker('bench/lib/integrate-worker.toml', 'vouch-bench-integrate-')
  const call = async (path: string, body?: Buffer, method = 'POST') => {
    const res = await fetch(new URL(path, worker.url), { method, body })
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return res.json() as Promise<unknown>
  }
  const timed = async (path: string, body?: Buffer) => {
    const meter = new CpuMeter({ runtime: worker.pids.runtime }).start()
    await call(path, body)
    return meter.stop().runtime!
  }
  let verifyCpu = 0
  const insert = async (statements: Statement[]) => {
    let cpu = 0
    for (const b of bodies(statements, 1000)) (verifyCpu += await timed('/prepare', b)), (cpu += await timed('/insert'))
    return cpu / statements.length
  }
  try {
    const insertMs = await insert(pool)
    const verifyMs = verifyCpu / pool.length
    const { size } = (await call('/snapshot')) as { size: number }
    const names = (await call('/stages', undefined, 'GET')) as string[]
    const stages: { name: string; ms: number }[] = []
    for (const name of names) {
      const path = (reps: number) => `/run?stage=${encodeURIComponent(name)}&reps=${reps}`
      await call(path(1)) // warm-up
      let reps = 1
      for (let cpu = await timed(path(reps)); cpu < cpuTargetMs && reps < 1000; cpu = await timed(path(reps))) reps = Math.min(1000, Math.ceil((reps * cpuTargetMs * 1.2) / Math.max(cpu, 10)))
      const samples: number[] = []
      for (let t = 0; t < 3; t++) samples.push((await timed(path(reps))) / (reps * size))
      stages.push({ name, ms: percentile(samples, 50) })
    }
    const fullMs = (await timed('/full')) / size
    await insert(extra)
    const dropMs = (await timed(`/drop?start=${size}&end=${size + extra.length}`)) / extra.length
    return { stages, insertMs, verifyMs, fullMs, dropMs, workerMs: stages.find((s) => s.name === MEMORY)!.ms }
  } finally {
    await worker.dispose()
    removeDir(dir)
  }
}

/** Rows for the log benchmark's table: each stage in µs per statement and as a share of ingest. */
export function profileRows(p: IntegrationProfile, ingestMs: number): string[][] {
  const us = (ms: number) => `${fmt(ms * 1000)} µs`
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`
  const workerIngest = ingestMs - p.insertMs
  return [
    ...p.stages.map((s) => [`integration stage: ${s.name}`, us(s.ms)]),
    ['integration stage: D1: drop pending bodies (dropIntegratedBodies, local D1)', us(p.dropMs)],
    ["integration: the relay's integrate() on local D1 + R2 (whole process)", us(p.fullMs)],
    ['ingest stage: D1 insert (insertStatements, local D1)', us(p.insertMs)],
    ["ingest, Worker's own CPU (relay ingest − local D1 insert)", us(workerIngest)],
    ['ingest stage: verifyStatement of each batch (no D1, no HTTP parse): a floor for the above', us(p.verifyMs)],
    ["integration / ingest, Worker's own CPU (as billed on Cloudflare)", pct(p.workerMs, workerIngest)],
    ['integration / ingest, Worker\'s own CPU, against the verify floor (an upper bound)', pct(p.workerMs, p.verifyMs)],
    ['integration / ingest, whole process (profile worker)', pct(p.fullMs, ingestMs)],
  ]
}
