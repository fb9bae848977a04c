/**
 * `npm run start:shards [-- --shards K]`: the relay locally with its index sharded over K D1
 * databases (default 4; docs/SCALE.md), as `npm start` runs it with one.
 *
 *   1. the relay key in .dev.vars, as `npm start` makes it;
 *   2. .wrangler/shards-K/wrangler.json: wrangler.toml plus INDEX_0 … INDEX_{K-1} bound to local
 *      databases with migrations-index/, and INDEX_SHARDS = "K" (the deploy's own generator, so
 *      local and deployed configs cannot drift apart);
 *   3. the migrations applied to DB and to every INDEX_i, in .wrangler/shards-K/state;
 *   4. `wrangler dev` on that config (any further argument is passed to it), unless --prepare-only.
 *
 * Each K keeps its own local state, apart from `npm start`'s .wrangler/state: a relay's shard
 * count is fixed for the life of its data (resharding is not built), and a relay at K > 1 answers
 * bad_config over a DB that already holds statements indexed in one database.
 */
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { generateWranglerConfig, indexShardsProblem, makePlan, readWranglerToml, RelayConfig } from './deploy/config.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const wranglerBin = join(root, 'node_modules', '.bin', 'wrangler')

const USAGE = `usage: npm run start:shards [-- --shards K] [-- --prepare-only] [-- --persist-to DIR] [-- WRANGLER_DEV_ARGS…]

  --shards K       index databases (a power of two, 2 … 64; default 4)
  --prepare-only   write the config and apply the migrations, then stop (no wrangler dev)
  --persist-to DIR local state (default .wrangler/shards-K/state; never npm start's .wrangler/state)`

function run(args: string[], step: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(wranglerBin, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } })
    child.on('error', fail)
    child.on('exit', (code, signal) => (code === 0 ? ok() : fail(new Error(`${step} failed (wrangler exited ${code ?? signal}); its message is above`))))
  })
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { shards: { type: 'string', default: '4' }, 'prepare-only': { type: 'boolean' }, 'persist-to': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: false,
  })
  if (values.help) return console.log(USAGE), 0
  const given = String(values.shards)
  const k = /^\d+$/.test(given) ? Number(given) : NaN
  const problem = indexShardsProblem(Number.isNaN(k) ? given : k)
  if (problem || k === 1) {
    console.error(`start:shards: ${problem ?? 'with 1 index database, use `npm start`'}\n\n${USAGE}`)
    return 2
  }
  const dir = join(root, '.wrangler', `shards-${k}`)
  const persist = resolve(root, typeof values['persist-to'] === 'string' ? values['persist-to'] : join(dir, 'state'))
  const configFile = join(dir, 'wrangler.json')
  await mkdir(dir, { recursive: true })

  await new Promise<void>((ok, fail) =>
    spawn(process.execPath, [join(root, 'scripts', 'dev-key.mjs')], { cwd: root, stdio: 'inherit' }).on('exit', (code) => (code === 0 ? ok() : fail(new Error('making the relay key failed')))),
  )
  const toml = await readWranglerToml(join(root, 'wrangler.toml'))
  const plan = makePlan(toml, RelayConfig.parse({ indexShards: k }))
  // Local databases need only distinct ids; miniflare names each one's file after it.
  const ids = { d1: Object.fromEntries(plan.d1.map((d) => [d.binding, `local-${d.binding.toLowerCase().replaceAll('_', '-')}`])), kv: {} }
  const config = generateWranglerConfig(toml, plan, ids, root, configFile)
  // The deploy's output drops the cron (it sets schedules through the API); `wrangler dev` wants it.
  await writeFile(configFile, JSON.stringify({ ...config, triggers: toml.triggers }, null, 2))
  console.log(`start:shards  ${k} index databases; config ${configFile}, state ${persist}`)

  for (const binding of plan.migrate) await run(['d1', 'migrations', 'apply', binding, '--local', '--persist-to', persist, '--config', configFile], `Applying ${binding} migrations`)
  if (values['prepare-only']) return 0
  // .dev.vars sits beside wrangler.toml, not beside the generated config: name it.
  const rest = process.argv.slice(2).filter((a, i, all) => !['--shards', '--persist-to'].includes(all[i - 1] ?? '') && !/^--(shards|persist-to|prepare-only)(=|$)/.test(a))
  await run(['dev', '--config', configFile, '--persist-to', persist, '--env-file', join(root, '.dev.vars'), ...rest], 'wrangler dev')
  return 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`start:shards: ${e instanceof Error ? e.message : String(e)}`)
    process.exit(1)
  },
)
