/**
 * Hostile-input benchmark: what one POST /v1/statements can cost a relay. Sends each family of
 * hostile bodies (long escaped strings, many keys, deep nesting, long numbers, batches of bad
 * signatures, oversized bodies) to a local relay and measures the relay's runtime CPU per
 * request, beside a valid 1,000-statement batch and beside the same bytes read and parsed by
 * JSON.parse in a bare Worker (bench/parse-worker.ts), all in the same run.
 * `npm run bench -- hostile [--quick] [--markdown]`; docs/PERFORMANCE.md has the method.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { LIMITS, type Statement } from '../src/verify/index.ts'
import { HttpError, makeClient, type Req } from './lib/load.ts'
import { CpuMeter, loadAverage } from './lib/proc.ts'
import { makeKeys, signPool, type BenchKey } from './lib/statements.ts'
import { fmt, markdownTable, ratio, table } from './lib/stats.ts'
import { freshDir, measured, removeDir, RunningWorker, startRelay } from './lib/workers.ts'

const MiB = 1024 * 1024
const LIMIT = LIMITS.bodyBytes
/** Targets (issue 13): no hostile request above the valid batch; the parser within 3x JSON.parse. */
const TARGET_VS_BATCH = 1
const TARGET_VS_JSON_PARSE = 3

interface Family {
  name: string
  /** The body of the i-th request (fresh statements where storing them matters). */
  body: (i: number) => Promise<Buffer> | Buffer
  /** Hostile (held to the targets) or the reference batch. */
  reference?: boolean
}

interface Row {
  name: string
  bytes: number
  answer: string
  requests: number
  /** Relay runtime CPU ms per request. */
  relayMs: number
  /** Bare Worker: read the body and JSON.parse it, CPU ms per request. */
  jsonReqMs: number
  /** Bare Worker, CPU ms per parse (several parses a request): JSON.parse and parseJson. */
  jsonParseMs: number
  strictParseMs: number
  reference: boolean
}

const log = (...a: unknown[]) => console.error(...a)
const post = (path: string, body: Buffer): Req => ({ method: 'POST', path, body })
const fill = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length))
/** `{"k0":0,"k1":0,…}` with as many keys as fit in the body limit, each spelled by `key`. */
function manyKeys(key: (i: number) => string): string {
  const parts: string[] = []
  let size = 2
  for (let i = 0; ; i++) {
    const p = `"${key(i)}":0`
    if (size + p.length + 1 > LIMIT) break
    parts.push(p)
    size += p.length + 1
  }
  return `{${parts.join(',')}}`
}

function families(keys: BenchKey[], time: number): Family[] {
  const batch = (tag: string, i: number) => signPool(keys, `${tag}-${i}-${Date.now()}`, 1000, time)
  const text = (s: string) => () => Buffer.from(s)
  const badSigs = (pool: Statement[]) => pool.map((s, k) => ({ ...s, sig: pool[(k + 1) % pool.length]!.sig }))
  return [
    { name: 'valid batch, 1,000 statements (reference)', reference: true, body: async (i) => Buffer.from(JSON.stringify(await batch('valid', i))) },
    { name: 'bad signatures, 1,000 statements', body: async (i) => Buffer.from(JSON.stringify(badSigs(await batch('bad', i)))) },
    { name: '1,001 statements (over the batch limit)', body: async (i) => Buffer.from(JSON.stringify([...(await batch('over', i)), (await batch('over1', i))[0]])) },
    { name: '4 MiB string, one escape first', body: text(`"\\n${fill('a', LIMIT - 4)}"`) },
    { name: '4 MiB string, one escape last', body: text(`"${fill('a', LIMIT - 4)}\\n"`) },
    { name: '4 MiB of \\n escapes', body: text(`"${fill('\\n', LIMIT - 2)}"`) },
    { name: '4 MiB of \\u escapes', body: text(`"${fill('\\u00e9', LIMIT - 2)}"`) },
    { name: '4 MiB of surrogate-pair escapes', body: text(`"${fill('\\ud83d\\ude02', LIMIT - 2)}"`) },
    { name: '4 MiB, an escape every 31 characters', body: text(`"${fill(`${'a'.repeat(31)}\\"`, LIMIT - 2)}"`) },
    { name: 'object, as many keys as fit (k<i>)', body: text(manyKeys((i) => `k${i}`)) },
    { name: 'object, as many numeric keys as fit', body: text(manyKeys((i) => `${i}`)) },
    { name: 'object, as many escaped keys as fit', body: text(manyKeys((i) => `\\n${i}`)) },
    { name: 'deep nesting, 4 MiB of [', body: text('['.repeat(LIMIT)) },
    { name: 'deep nesting, 6 levels, 4 MiB wide', body: text(`[[[[[[${fill('0,', LIMIT - 14)}0]]]]]]`) },
    { name: 'a 4 MiB number', body: text('9'.repeat(LIMIT)) },
    { name: '4 MiB array of small numbers', body: text(`[${fill('12345,', LIMIT - 8)}0]`) },
    { name: 'oversized, 8 MiB (declared)', body: text(`"${fill('a', 8 * MiB - 2)}"`) },
  ]
}

export async function main(args: string[]): Promise<void> {
  const unknown = args.filter((a) => a !== '--quick' && a !== '--markdown')
  if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}; options: --quick, --markdown`)
  const quick = args.includes('--quick')
  /** CPU ms to spend on each measurement (clock ticks are 10 ms). */
  const budgetMs = quick ? 150 : 400
  const started = Date.now()
  const time = Date.now() - 86_400_000
  const keys = await makeKeys(32)

  const relay = await startRelay()
  const parseDir = freshDir('vouch-bench-parse-')
  let parser: RunningWorker | undefined
  const rows: Row[] = []
  try {
    parser = await RunningWorker.start('bench/parse-worker.toml', parseDir)
    log(`relay ${relay.url.href} (runtime workerd ${relay.pids.runtime}); JSON.parse baseline ${parser.url.href} (runtime ${parser.pids.runtime})`)
    for (const f of families(keys, time)) {
      const row = await measured([relay, parser], f.name, () => measureFamily(relay, parser!, f, budgetMs))
      rows.push(row)
      log(`${f.name}: relay ${fmt(row.relayMs)} ms/request (${row.answer}); JSON.parse request ${fmt(row.jsonReqMs)} ms; parse ${fmt(row.strictParseMs)} vs ${fmt(row.jsonParseMs)} ms`)
    }
  } finally {
    await parser?.dispose()
    await relay.dispose()
    removeDir(parseDir)
    removeDir(relay.dir)
  }
  const report = render(rows, quick, (Date.now() - started) / 1000)
  console.log(args.includes('--markdown') ? report.markdown : report.text)
  mkdirSync('bench/.state', { recursive: true })
  writeFileSync('bench/.state/hostile-last.json', JSON.stringify({ quick, date: new Date().toISOString(), rows }, null, 2))
}

/**
 * CPU ms per request of `send` on `worker`: one request to warm up and estimate, then enough
 * requests for about `budgetMs` of CPU (at least 3), measured together.
 */
async function cpuPerRequest(worker: RunningWorker, make: (i: number) => Promise<Req>, budgetMs: number, check: (status: number, body: string) => void) {
  const client = makeClient(worker.url, 1)
  try {
    let i = 0
    const one = async () => {
      const req = await make(i++)
      const meter = new CpuMeter(worker.pids).start()
      const res = await client.send(req)
      const cpu = meter.stop().runtime!
      check(res.status, res.body)
      return { cpu, res }
    }
    const first = await one()
    const n = Math.max(3, Math.min(200, Math.ceil(budgetMs / Math.max(first.cpu, 1))))
    let total = 0
    // Bodies are made between requests, outside the meter: only the worker's CPU counts.
    for (let k = 0; k < n; k++) total += (await one()).cpu
    return { ms: total / n, n, first: first.res }
  } finally {
    client.close()
  }
}

async function measureFamily(relay: RunningWorker, parser: RunningWorker, f: Family, budgetMs: number): Promise<Row> {
  let answer = ''
  let bytes = 0
  const relayCheck = (status: number, body: string) => {
    if (status >= 500) throw new HttpError(status, body)
    const code = status === 200 ? `${(JSON.parse(body) as { accepted: number }).accepted} accepted` : ((JSON.parse(body) as { error?: { code?: string } }).error?.code ?? '?')
    answer = `${status} ${code}`
    if (f.reference && !(status === 200 && code === '1000 accepted')) throw new Error(`${f.name}: the reference batch was not accepted: ${status} ${body.slice(0, 300)}`)
  }
  const parserCheck = (status: number, body: string) => {
    if (status !== 200) throw new HttpError(status, body)
  }
  const bodyOf = async (i: number) => {
    const b = await f.body(i)
    bytes = b.length
    return b
  }
  const r = await cpuPerRequest(relay, async (i) => post('/v1/statements', await bodyOf(i)), budgetMs, relayCheck)
  // The baselines get the same bytes (the first request's, for the fresh-statement families).
  const same = await bodyOf(0)
  const jsonReq = await cpuPerRequest(parser, async () => post('/parse?parser=json', same), budgetMs, parserCheck)
  const reps = 8
  const jsonMany = await cpuPerRequest(parser, async () => post(`/parse?parser=json&reps=${reps}`, same), budgetMs, parserCheck)
  const strictMany = await cpuPerRequest(parser, async () => post(`/parse?parser=strict&reps=${reps}`, same), budgetMs, parserCheck)
  return {
    name: f.name,
    bytes,
    answer,
    requests: r.n,
    relayMs: r.ms,
    jsonReqMs: jsonReq.ms,
    jsonParseMs: jsonMany.ms / reps,
    strictParseMs: strictMany.ms / reps,
    reference: f.reference === true,
  }
}

function render(rows: Row[], quick: boolean, elapsedS: number) {
  const ref = rows.find((r) => r.reference)!
  const hostile = rows.filter((r) => !r.reference)
  const head = ['request body', 'bytes', 'relay answers', 'relay CPU ms/req', '÷ valid batch', 'JSON.parse req ms', 'relay ÷ JSON.parse req', 'parseJson ÷ JSON.parse']
  const cells = rows.map((r) => [
    r.name,
    fmt(r.bytes, 4),
    r.answer,
    fmt(r.relayMs),
    r.reference ? '1' : ratio(r.relayMs / ref.relayMs),
    fmt(r.jsonReqMs),
    ratio(r.relayMs / r.jsonReqMs),
    ratio(r.strictParseMs / r.jsonParseMs),
  ])
  const worstBatch = hostile.reduce((a, b) => (b.relayMs > a.relayMs ? b : a))
  // Parses too cheap to time (under half a clock tick a parse) say nothing about the ratio.
  const timed = rows.filter((r) => r.jsonParseMs * 8 >= 5)
  const worstParse = timed.reduce((a, b) => (b.strictParseMs / b.jsonParseMs > a.strictParseMs / a.jsonParseMs ? b : a))
  const verdict = [
    `most expensive hostile request: ${worstBatch.name}, ${ratio(worstBatch.relayMs / ref.relayMs)} the valid batch (target ≤ ${TARGET_VS_BATCH}x): ${worstBatch.relayMs <= ref.relayMs * TARGET_VS_BATCH ? 'met' : 'MISSED'}`,
    `parseJson vs JSON.parse, worst: ${worstParse.name}, ${ratio(worstParse.strictParseMs / worstParse.jsonParseMs)} (target ≤ ${TARGET_VS_JSON_PARSE}x): ${worstParse.strictParseMs <= worstParse.jsonParseMs * TARGET_VS_JSON_PARSE ? 'met' : 'MISSED'}`,
    `${quick ? 'quick run' : 'full run'}, ${fmt(elapsedS)} s, load average ${fmt(loadAverage())}`,
  ]
  return {
    text: `${table([head, ...cells], 1)}\n\n${verdict.join('\n')}`,
    markdown: `${markdownTable([head, ...cells], 1)}\n\n${verdict.map((v) => `- ${v}`).join('\n')}`,
  }
}
