/**
 * Gossip benchmark: N local relays (the real Worker under wrangler's dev engine) peered in a ring
 * or mesh. Measures, in one run: time from a POST to the last relay holding the statement (push
 * path), deliveries per statement against the number of edges, and the catch-up of a relay that
 * was down while 10,000 statements were posted (time, and bytes moved as a ratio to the bytes of
 * the statements it missed). `npm run bench -- gossip [--relays 5,10] [--topology ring|mesh] [--quick]`.
 */
import { edgesOf, startNetwork, type Topology } from '../scripts/network-harness.ts'
import { signStatement, type Statement } from '../src/verify/index.ts'
import { benchFetch } from './lib/client-ip.ts'
import { makeKeys } from './lib/statements.ts'
import { fmt, percentile, ratio, table } from './lib/stats.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function post(url: string, body: unknown): Promise<string[]> {
  const res = await benchFetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`)
  return ((await res.json()) as { results: { id: string }[] }).results.map((r) => r.id)
}
const has = async (url: string, id: string) => (await benchFetch(`${url}/v1/statements/${encodeURIComponent(id)}`)).status === 200
const gossipStats = async (url: string) => ((await (await benchFetch(`${url}/.well-known/vouch`)).json()) as { gossip: { pushReceived: number; peerRequests: number } }).gossip
const pushReceived = async (url: string) => (await gossipStats(url)).pushReceived
/** RATE_PEERS in wrangler.toml: signed requests per minute from one peer. */
const PEER_BUDGET_PER_MIN = 6000

async function runNetwork(n: number, topology: Topology, o: { probes: number; missed: number }) {
  const edges = edgesOf(n, topology).length
  const net = await startNetwork({ relays: n, topology, peerTimeoutMs: 5000 })
  const started = performance.now()
  try {
    const keys = await makeKeys(8)
    const urls = net.relays.map((r) => r.url)
    const sign = (i: number, tag: string) => {
      const k = keys[i % keys.length]!
      return signStatement({ v: 1, actor: k.did, subject: `pkg:generic/gossip-${tag}-${i}@1`, claim: 'source', object: `sha256-${btoa(String(i).padStart(32, '0'))}`, time: Date.now() }, k.secretKey)
    }
    // 1. Convergence by push: one statement at a time, posted to a random relay.
    for (let i = 0; i < 5; i++) await post(urls[i % n]!, await sign(i, 'warm'))
    await sleep(500)
    const before = await Promise.all(urls.map(pushReceived))
    const times: number[] = []
    for (let i = 0; i < o.probes; i++) {
      const s = await sign(i, 'probe')
      const t0 = performance.now()
      const [id] = await post(urls[i % n]!, s)
      const pending = new Set(urls)
      while (pending.size) {
        await Promise.all([...pending].map(async (u) => (await has(u, id!)) && pending.delete(u)))
        if (pending.size) await sleep(2)
        if (performance.now() - t0 > 30_000) throw new Error(`statement ${i} did not converge in 30 s`)
      }
      times.push(performance.now() - t0)
    }
    await sleep(500)
    const after = await Promise.all(urls.map(pushReceived))
    const deliveries = after.reduce((sum, a, i) => sum + a - before[i]!, 0) / o.probes

    // 2. Catch-up: stop the last relay, post `missed` statements in batches, restart, pull.
    const down = net.relays[n - 1]!
    await down.stop()
    const missed: Statement[] = []
    for (let i = 0; i < o.missed; i++) missed.push(await sign(i, `missed-${n}`))
    for (let i = 0; i < missed.length; i += 1000) await post(urls[0]!, missed.slice(i, i + 1000))
    // Let push settle among the live relays (their pushes to the dead one fail and back off).
    await sleep(1500)
    await down.start()
    const t0 = performance.now()
    let bytes = 0
    let stored = 0
    for (let round = 0; round < 20 && stored < o.missed; round++) {
      const { reports } = await net.pull(down.index)
      bytes += reports.reduce((s, r) => s + r.bytes, 0)
      stored += reports.reduce((s, r) => s + r.stored, 0)
    }
    const catchUpMs = performance.now() - t0
    const missingBytes = missed.reduce((s, m) => s + JSON.stringify(m).length, 0)
    // Relays sign their requests to peers and draw on the peer budget, not the per-IP one: the
    // most any relay received from all its peers together over the run bounds what one peer sent.
    const peerRequests = Math.max(...(await Promise.all(urls.map(async (u) => (await gossipStats(u)).peerRequests))))
    const minutes = (performance.now() - started) / 60_000
    return { n, topology, edges, times, deliveries, catchUpMs, bytes, missingBytes, stored, missed: o.missed, peerRequests, minutes }
  } finally {
    await net.stop()
  }
}

export async function main(args: string[]): Promise<void> {
  const opt = (name: string, d: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1]! : d
  }
  const quick = args.includes('--quick')
  const sizes = opt('relays', quick ? '3' : '5,10').split(',').map(Number)
  const topology = opt('topology', 'ring') as Topology
  const probes = quick ? 20 : 100
  const missed = quick ? 2000 : 10_000
  const rows = [['relays', 'edges', 'push p50 ms', 'push p99 ms', 'deliveries/stmt', 'vs edges', 'catch-up s', 'stored', 'bytes moved / missing', 'peer requests to one relay']]
  const budget: string[] = []
  for (const n of sizes) {
    const r = await runNetwork(n, topology, { probes, missed })
    rows.push([
      `${n} (${r.topology})`,
      String(r.edges),
      fmt(percentile(r.times, 50)),
      fmt(percentile(r.times, 99)),
      fmt(r.deliveries),
      ratio(r.deliveries / r.edges),
      fmt(r.catchUpMs / 1000),
      `${r.stored}/${r.missed}`,
      ratio(r.bytes / r.missingBytes),
      `${r.peerRequests} in ${fmt(r.minutes)} min`,
    ])
    budget.push(`${n} relays: ${fmt(r.peerRequests / Math.max(1, r.minutes))}/min at most (${r.peerRequests >= PEER_BUDGET_PER_MIN ? 'REACHED' : 'under'} the ${PEER_BUDGET_PER_MIN}/min one peer may send)`)
    console.log(`relays=${n}: done`)
  }
  console.log(`\nGossip, ${probes} probes posted one at a time, ${missed} statements missed by one relay (targets: p99 < 1000 ms, deliveries <= edges, bytes <= 1.5x)\n`)
  console.log(table(rows))
  console.log(`\nSigned peer requests received by the busiest relay, from all its peers together: ${budget.join('; ')}`)
}
