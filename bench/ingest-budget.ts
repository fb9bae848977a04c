/**
 * The relay under a CPU budget: `npm run bench -- ingest --cpu-budget 10` starts the relay with
 * CPU_BUDGET_MS=10 (the Workers Free plan), reads the caps it advertises, and measures the
 * runtime CPU of each kind of request a client or peer may send at those caps: a POST of a full
 * batch (new statements, and the same again as duplicates), a feed page of ids, a lookup of a full
 * page of ids, a full feed page. Local workerd does not enforce the budget, so this is how to see
 * that a request at the caps fits it. docs/PERFORMANCE.md has the method and the figures.
 */
import { makeClient, type Req } from './lib/load.ts'
import { CpuMeter, loadAverage } from './lib/proc.ts'
import { bodies, makeKeys, signPool } from './lib/statements.ts'
import { fmt, markdownTable, percentile, table } from './lib/stats.ts'
import { measured, removeDir, startRelay, type RunningWorker } from './lib/workers.ts'

const log = (...a: unknown[]) => console.error(...a)

interface Row {
  label: string
  items: number
  requests: number
  runtimeMs: number
  proxyMs: number
  p50: number
}

export async function runBudget(budgetMs: number, o: { quick: boolean; markdown: boolean }): Promise<void> {
  const requests = o.quick ? 60 : 300
  const keys = await makeKeys(32)
  const time = Date.now() - 86_400_000
  const relay = await startRelay({ CPU_BUDGET_MS: { type: 'plain_text', value: String(budgetMs) } })
  const rows: Row[] = []
  let caps: { batchItems: number; pageMax: number; cpuBudgetMs: number }
  try {
    const c = makeClient(relay.url, 1)
    try {
      caps = ((await json(c, { method: 'GET', path: '/.well-known/vouch' })) as { limits: typeof caps }).limits
      if (caps.cpuBudgetMs !== budgetMs) throw new Error(`the relay reports cpuBudgetMs ${caps.cpuBudgetMs}, not ${budgetMs}`)
      log(`relay ${relay.url.href} with CPU_BUDGET_MS=${budgetMs}: batchItems ${caps.batchItems}, pageMax ${caps.pageMax}`)
      // One over the cap must be refused before any work: that is what keeps a request in budget.
      const over = await signPool(keys, 'over', caps.batchItems + 1, time)
      const refused = await c.send({ method: 'POST', path: '/v1/statements', body: Buffer.from(JSON.stringify(over)) })
      if (refused.status !== 413) throw new Error(`a batch of ${caps.batchItems + 1} was answered ${refused.status}, not 413`)
    } finally {
      c.close()
    }

    let stored: Buffer[] = []
    rows.push(
      await run(relay, `POST batch ${caps.batchItems}, new`, caps.batchItems, async () => {
        const warm = bodies(await signPool(keys, `warm-${Date.now()}`, 20 * caps.batchItems, time), caps.batchItems)
        stored = bodies(await signPool(keys, `run-${Date.now()}`, requests * caps.batchItems, time), caps.batchItems)
        return { warm: warm.map(post), reqs: stored.map(post) }
      }),
    )
    rows.push(await run(relay, `POST batch ${caps.batchItems}, duplicates`, caps.batchItems, async () => ({ warm: [], reqs: stored.map(post) })))
    const page = caps.pageMax
    const c2 = makeClient(relay.url, 1)
    const ids = ((await json(c2, { method: 'GET', path: `/v1/feed?view=ids&limit=${page}&after=100` })) as { ids: string[] }).ids
    c2.close()
    if (ids.length !== page) throw new Error(`feed gave ${ids.length} ids, not ${page}`)
    const same = (r: Req) => async () => ({ warm: Array<Req>(20).fill(r), reqs: Array<Req>(requests).fill(r) })
    rows.push(await run(relay, `GET feed ids, page ${page}`, page, same({ method: 'GET', path: `/v1/feed?view=ids&limit=${page}&after=100` })))
    rows.push(await run(relay, `POST lookup, ${page} ids`, page, same({ method: 'POST', path: '/v1/statements/lookup', body: Buffer.from(JSON.stringify({ ids })) })))
    rows.push(await run(relay, `GET feed, page ${page}`, page, same({ method: 'GET', path: `/v1/feed?limit=${page}&after=100` })))
  } finally {
    await relay.dispose()
    removeDir(relay.dir)
  }

  const head = ['request', 'items', 'requests', 'CPU ms/req', `of ${budgetMs} ms`, 'dev proxy ms/req', 'p50 ms']
  const body = rows.map((r) => [
    r.label,
    String(r.items),
    String(r.requests),
    fmt(r.runtimeMs / r.requests),
    `${Math.round((100 * r.runtimeMs) / r.requests / budgetMs)}%`,
    fmt(r.proxyMs / r.requests),
    fmt(r.p50),
  ])
  const worst = Math.max(...rows.map((r) => r.runtimeMs / r.requests))
  const verdict = `CPU_BUDGET_MS=${budgetMs}: batchItems ${caps.batchItems}, pageMax ${caps.pageMax}; the costliest request at the caps used ${fmt(worst)} ms of runtime CPU on average (${worst < budgetMs ? 'under' : 'OVER'} the budget). Load average ${fmt(loadAverage())}.`
  console.log(o.markdown ? `${markdownTable([head, ...body])}\n\n${verdict}` : `${table([head, ...body])}\n\n${verdict}`)
  if (worst >= budgetMs) process.exitCode = 1
}

const post = (body: Buffer): Req => ({ method: 'POST', path: '/v1/statements', body })

async function json(c: ReturnType<typeof makeClient>, r: Req): Promise<unknown> {
  const res = await c.send(r)
  if (res.status !== 200) throw new Error(`${r.method} ${r.path}: HTTP ${res.status} ${res.body.slice(0, 200)}`)
  return JSON.parse(res.body)
}

/**
 * One request at a time, so the runtime's CPU over the run divided by the requests is the CPU of
 * one request (/proc counts in 10 ms ticks, so only the mean over many requests is exact).
 */
async function run(relay: RunningWorker, label: string, items: number, make: () => Promise<{ warm: Req[]; reqs: Req[] }>): Promise<Row> {
  const row = await measured([relay], label, async () => {
    const { warm, reqs } = await make()
    const c = makeClient(relay.url, 1)
    try {
      await c.load(warm, 1, false)
      const meter = new CpuMeter(relay.pids).start()
      const res = await c.load(reqs, 1)
      const cpu = meter.stop()
      for (const r of res.responses) if (r.status !== 200) throw new Error(`${label}: HTTP ${r.status} ${r.body.slice(0, 200)}`)
      return { label, items, requests: reqs.length, runtimeMs: cpu.runtime!, proxyMs: cpu.proxy!, p50: percentile(res.latencies, 50) }
    } finally {
      c.close()
    }
  })
  log(`${label}: ${fmt(row.runtimeMs / row.requests)} ms CPU per request`)
  return row
}
