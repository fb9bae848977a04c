import { parseArgs } from 'node:util'
import { ADMIN_TOKEN, startNetwork, type Topology } from './network-harness.ts'

const USAGE = `usage: npm run network -- [--relays N] [--topology ring|mesh|star|line] [--dir DIR] [--pull-every SECONDS]

Starts N local vouch relays peered with each other, prints their URLs, and pulls on each relay
every --pull-every seconds (default 60, like the production cron). Ctrl-C stops them all.`

const { values } = parseArgs({
  options: {
    relays: { type: 'string', default: '3' },
    topology: { type: 'string', default: 'ring' },
    dir: { type: 'string' },
    'pull-every': { type: 'string', default: '60' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) console.log(USAGE), process.exit(0)
const n = Number(values.relays)
const topology = values.topology as Topology
if (!Number.isInteger(n) || n < 1 || n > 20 || !['ring', 'mesh', 'star', 'line'].includes(topology)) {
  console.error(USAGE)
  process.exit(2)
}

const net = await startNetwork({ relays: n, topology, dir: values.dir })
console.log(`${n} relays (${topology}), state in ${net.root}, admin token ${ADMIN_TOKEN}`)
for (const r of net.relays) console.log(`  relay ${r.index}  ${r.url}  peers: ${r.peers.join(' ') || '(none)'}`)
console.log('Ctrl-C stops them all.')
const timer = setInterval(() => {
  for (const r of net.relays) net.pull(r.index).catch((e) => console.warn(`pull on relay ${r.index}: ${(e as Error).message}`))
}, Number(values['pull-every']) * 1000)
let stopping = false
process.on('SIGINT', async () => {
  if (stopping) process.exit(130)
  stopping = true
  clearInterval(timer)
  await net.stop()
  process.exit(0)
})
