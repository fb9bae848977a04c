/**
 * `npm run deploy`: one command from a clone to a live relay, safe to rerun.
 *
 *   1. find or create every D1 database, KV namespace and R2 bucket of wrangler.toml by name
 *      (ids are kept in .deploy/, untracked, but a lost .deploy/ costs nothing: names are the key);
 *   2. generate .deploy/wrangler.json from wrangler.toml + relay.config.json (tracked files are read only);
 *   3. `wrangler versions upload` (first-deploy secrets ride along in the same version);
 *   4. `wrangler d1 migrations apply --remote`, so the schema is there before the code takes traffic;
 *   5. `wrangler versions deploy` of exactly that version;
 *   6. cron schedule and workers.dev route through the API, each only if it differs;
 *   7. a smoke check of /.well-known/vouch.
 *
 * A step that fails stops the run with the fix named; the next run redoes only what is missing.
 * `--dry-run` prints the plan and bundles the Worker, and makes no API call at all.
 *
 * `--bridge` deploys the npm bridge Worker (bridge.wrangler.toml, settings in bridge.config.json)
 * by the same steps: its KV namespace by name, BRIDGE_KEY set once, its cron, a smoke check of
 * `GET /`. It has no D1, so there is nothing to migrate.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { decodeBase64url, encodeDidKey, keyPairFromSeed } from '../src/verify/index.ts'
import { PROTOCOL_VERSION } from '../src/version.ts'
import { Cloudflare, DeployError } from './deploy/cloudflare.ts'
import { ConfigError, generateWranglerConfig, loadRelayConfig, makePlan, readWranglerToml, type Plan } from './deploy/config.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const stateDir = join(root, '.deploy')
const wranglerBin = join(root, 'node_modules', '.bin', 'wrangler')
const say = (line: string) => process.stdout.write(`${line}\n`)

const USAGE = `usage: npm run deploy [-- --bridge] [-- --dry-run] [-- --config FILE] [-- --no-smoke]

  --bridge       deploy the npm bridge Worker (bridge.wrangler.toml) instead of the relay
  --dry-run      print what would be provisioned and bundle the Worker; no API call at all
  --config FILE  operator settings (default relay.config.json, or bridge.config.json with --bridge;
                 see relay.config.example.json, bridge.config.example.json)
  --no-smoke     skip the final smoke check (GET /.well-known/vouch; the bridge's GET /)

Credentials: CLOUDFLARE_API_TOKEN (or a prior \`npx wrangler login\`), CLOUDFLARE_ACCOUNT_ID when the
token reaches more than one account. ADMIN_TOKEN, if set, is the admin token on first deploy;
otherwise one is generated into .deploy/<name>.admin-token (mode 0600) and never printed.
BRIDGE_KEY, if set, is the bridge's key (a base64url Ed25519 seed) on its first deploy; otherwise
one is generated and goes only to the Worker's secret. Its did:key is printed: that is what users trust.`

interface State {
  accountId?: string
  d1: Record<string, string>
  kv: Record<string, string>
  /** The bridge key's did:key (public), kept to name it again on later deploys. */
  did?: string
  /** The relay's index shard count, recorded once a version deployed with it took traffic. */
  indexShards?: number
}

/** What differs between deploying the relay and the bridge; every step else is shared. */
interface Target {
  kind: 'relay' | 'bridge'
  toml: string
  config: string
  configEnv: string
  secrets: string
  /** The path the smoke check GETs, and whether its JSON answer is the live Worker's. */
  smokePath: string
  smokeOk(body: Record<string, unknown>): boolean
  describe(body: Record<string, unknown>): string
}

const RELAY: Target = {
  kind: 'relay',
  toml: 'wrangler.toml',
  config: 'relay.config.json',
  configEnv: 'VOUCH_RELAY_CONFIG',
  secrets: 'ADMIN_TOKEN and RELAY_KEY',
  smokePath: '/.well-known/vouch',
  smokeOk: (b) => b.protocol === PROTOCOL_VERSION,
  describe: (b) => `protocol ${String(b.protocol)}, ${String(b.software)}`,
}

const BRIDGE: Target = {
  kind: 'bridge',
  toml: 'bridge.wrangler.toml',
  config: 'bridge.config.json',
  configEnv: 'VOUCH_BRIDGE_CONFIG',
  secrets: 'BRIDGE_KEY',
  smokePath: '/',
  // The bridge's status answer (src/bridge-worker/index.ts): both keys present, null before the first run.
  smokeOk: (b) => 'checkpoint' in b && 'lastRun' in b,
  describe: (b) => `checkpoint ${JSON.stringify(b.checkpoint)}${b.lastRun ? '' : ' (no run yet)'}`,
}

/** The bridge's seed: the operator's BRIDGE_KEY on a first deploy, else a new one (never written anywhere). */
async function bridgeKey(): Promise<{ seed: string; did: string }> {
  const given = process.env.BRIDGE_KEY
  const bytes = given === undefined ? randomBytes(32) : decodeBase64url(given.trim())
  if (!bytes || bytes.length !== 32) throw new DeployError('BRIDGE_KEY is not a base64url Ed25519 seed of 32 bytes.', 'Unset BRIDGE_KEY to have one generated, or give the seed `vouch` keeps for the bridge key.')
  const seed = Buffer.from(bytes).toString('base64url')
  return { seed, did: encodeDidKey((await keyPairFromSeed(bytes)).publicKey) }
}

async function readState(file: string): Promise<State> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as State
  } catch {
    return { d1: {}, kv: {} }
  }
}

/** Runs wrangler with the child's output shown; rejects naming the step, since wrangler's own error is above it. */
function wrangler(args: string[], env: Record<string, string | undefined>, step: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(wranglerBin, args, { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', fail)
    child.on('exit', (code) =>
      code === 0 ? ok() : fail(new DeployError(`${step} failed (wrangler ${args[0]} ${args[1] ?? ''} exited ${code}); its message is above.`, 'Fix what wrangler names, then run `npm run deploy` again: finished steps are not repeated.')),
    )
  })
}

async function apiToken(): Promise<string> {
  if (process.env.CLOUDFLARE_API_TOKEN) return process.env.CLOUDFLARE_API_TOKEN
  try {
    const { stdout } = await promisify(execFile)(wranglerBin, ['auth', 'token', '--json'], { cwd: root })
    const out = JSON.parse(stdout) as { token?: string }
    if (out.token) return out.token
  } catch {
    // fall through to the message below
  }
  throw new DeployError('No Cloudflare credentials.', 'Set CLOUDFLARE_API_TOKEN (a token with Workers Scripts, D1, Workers KV Storage and Workers R2 Storage edit rights), or run `npx wrangler login` once.')
}

async function accountOf(cf: Cloudflare, configured: string | undefined): Promise<string> {
  if (configured) return configured
  const res = await cf.call<Array<{ id: string; name: string }>>('GET', '/accounts?per_page=50')
  if (res.result.length === 1) return res.result[0]!.id
  throw new DeployError(
    `The token reaches ${res.result.length} accounts${res.result.length ? ` (${res.result.map((a) => `${a.name}: ${a.id}`).join(', ')})` : ''}.`,
    'Set CLOUDFLARE_ACCOUNT_ID, or "accountId" in relay.config.json.',
  )
}

async function adminToken(name: string): Promise<string> {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN
  const file = join(stateDir, `${name}.admin-token`)
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch {
    // Kept so a run that fails after this point sets the same token next time.
    const token = randomBytes(32).toString('base64url')
    await writeFile(file, `${token}\n`, { mode: 0o600 })
    return token
  }
}

function printPlan(target: Target, plan: Plan, configPath: string, found: boolean) {
  say(`${target.kind.padEnd(10)} ${plan.name}  (settings: ${found ? configPath : `${configPath} not found, defaults`})`)
  for (const d of plan.d1) say(`D1         ${d.binding} -> ${d.name}  (found or created by name)`)
  if (plan.indexShards > 1) say(`shards     ${plan.indexShards} index databases (INDEX_0 … INDEX_${plan.indexShards - 1}); fixed from now on: resharding is not built`)
  for (const k of plan.kv) say(`KV         ${k.binding} -> ${k.title}  (found or created by title)`)
  for (const r of plan.r2) say(`R2         ${r.binding} -> ${r.bucket}  (found or created; R2 must be enabled on the account)`)
  say(`migrate    ${plan.migrate.join(', ') || '(none)'} before the new version takes traffic`)
  say(`cron       ${plan.crons.join(', ') || '(none)'}`)
  for (const [k, v] of Object.entries(plan.vars)) say(`var        ${k}=${JSON.stringify(v)}`)
  say(`secrets    ${target.secrets} if the Worker has none`)
}

/**
 * Refuses, before any change, a shard count other than the one the relay's data is indexed with:
 * each statement's index row lives in the database its subject hashes to mod K, so another K
 * would read the wrong databases. `known` are the earlier counts found and where.
 */
function checkIndexShards(plan: Plan, known: Array<{ k: number | null | undefined; where: string }>) {
  for (const { k, where } of known) {
    if (k === null || k === undefined || k === plan.indexShards) continue
    throw new DeployError(
      `indexShards is ${plan.indexShards}, but ${plan.name} runs with ${k} (${where}). Changing the number of index databases means moving every statement's index row to another database: resharding is not built. Nothing was changed.`,
      `Set "indexShards": ${k} in the config again${k === 1 ? ' (or leave it out)' : ''} and rerun; or deploy a new, empty relay under another "name" (docs/DEPLOY.md, "Sharding the index").`,
    )
  }
}

/**
 * The same check from the data, for a relay neither .deploy/ nor a live Worker remembers (its
 * Worker deleted, or DB adopted through `resources`): at K = 1 statements are rows of DB's
 * `statements`; at K > 1 that table stays empty and DB's `sequence` orders them (docs/SCALE.md).
 * Read only; a database that does not exist yet holds nothing.
 */
async function checkHeldData(cf: Cloudflare, plan: Plan) {
  const db = plan.d1.find((d) => d.binding === 'DB')
  const id = db && (await cf.findD1(db.name))
  if (!db || !id) return
  const tables = new Set((await cf.d1Rows<{ name: string }>(id, "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('statements', 'sequence')")).map((r) => r.name))
  const holds = async (table: string) => tables.has(table) && (await cf.d1Rows<{ held: number }>(id, `SELECT EXISTS (SELECT 1 FROM ${table}) AS held`))[0]?.held === 1
  const fix = `Deploy with the shard count its data was indexed with, or give the relay a new "name" (and no resources.DB) to start an empty one (docs/DEPLOY.md, "Sharding the index").`
  if (plan.indexShards > 1 && (await holds('statements'))) {
    throw new DeployError(`indexShards is ${plan.indexShards}, but ${db.name} already holds statements indexed in that one database (a relay run with indexShards 1). Moving them into index databases is resharding, which is not built. Nothing was changed.`, fix)
  }
  if (!(await holds('sequence'))) return
  if (plan.indexShards === 1) {
    throw new DeployError(`indexShards is 1, but ${db.name} holds statements indexed across index databases (a relay run with indexShards > 1). Moving them back into one database is resharding, which is not built. Nothing was changed.`, fix)
  }
  // Sequenced rows name only their shard, not K: the index databases that exist tell the rest.
  // One this plan binds is missing → indexed into fewer (or other) databases; the next default
  // name exists → indexed into more.
  const index = plan.d1.filter((d) => d.binding.startsWith('INDEX_'))
  for (const d of index) {
    if (!(await cf.findD1(d.name))) throw new DeployError(`indexShards is ${plan.indexShards}, but ${db.name} holds statements indexed across index databases and ${d.name} (${d.binding}) does not exist: they were indexed into fewer or other databases than this config names. Changing them is resharding, which is not built. Nothing was changed.`, fix)
  }
  const beyond = `${plan.name}-index-${plan.indexShards}`
  if (await cf.findD1(beyond)) throw new DeployError(`indexShards is ${plan.indexShards}, but ${db.name} holds statements indexed across index databases and ${beyond} exists too: they were indexed into more than ${plan.indexShards}. Changing that is resharding, which is not built. Nothing was changed.`, fix)
}

async function smoke(t: Target, url: string, timeoutMs: number): Promise<void> {
  const target = new URL(t.smokePath, url).href
  const until = Date.now() + timeoutMs
  let last = ''
  // A new workers.dev route or custom domain can take some seconds to answer everywhere.
  for (;;) {
    try {
      const res = await fetch(target, { redirect: 'error', signal: AbortSignal.timeout(10_000) })
      const answer: unknown = await res.json()
      const body = (typeof answer === 'object' && answer !== null ? answer : {}) as Record<string, unknown>
      if (res.ok && t.smokeOk(body)) {
        say(`smoke      ${target}: ${t.describe(body)}`)
        return
      }
      last = `HTTP ${res.status}, ${JSON.stringify(answer).slice(0, 200)}`
    } catch (e) {
      last = (e as Error).message
    }
    if (Date.now() > until) throw new DeployError(`Smoke check of ${target} failed: ${last}.`, 'The version is deployed; check `npx wrangler tail`, or rerun with --no-smoke if the URL is not reachable from here.')
    await new Promise((r) => setTimeout(r, 2_000))
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { bridge: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, config: { type: 'string' }, 'no-smoke': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  })
  if (values.help) return say(USAGE), 0
  const t = values.bridge ? BRIDGE : RELAY
  const configPath = resolve(root, values.config ?? process.env[t.configEnv] ?? t.config)
  const { config, found } = await loadRelayConfig(configPath)
  const toml = await readWranglerToml(join(root, t.toml))
  const plan = makePlan(toml, config)
  // A bridge with no relay would fail every cron run with bad_config: refuse before provisioning.
  if (t === BRIDGE && !plan.vars.RELAYS?.trim()) throw new ConfigError(`${configPath}: set vars.RELAYS to the relay(s) the bridge publishes to (see bridge.config.example.json)`)
  await mkdir(stateDir, { recursive: true })
  const stateFile = join(stateDir, `${plan.name}.json`)
  const state = await readState(stateFile)
  const genFile = join(stateDir, `${plan.name}.wrangler.json`)
  // No telemetry and no update check (the banner asks the npm registry): a deploy talks to the API only.
  const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', WRANGLER_LOG_PATH: join(stateDir, 'logs'), CI: process.env.CI ?? 'true' }

  checkIndexShards(plan, [{ k: state.indexShards, where: `recorded in ${join('.deploy', `${plan.name}.json`)} by an earlier deploy` }])

  if (values['dry-run']) {
    printPlan(t, plan, configPath, found)
    const placeholder = '00000000000000000000000000000000'
    const ids = {
      d1: Object.fromEntries(plan.d1.map((d) => [d.binding, state.d1[d.binding] ?? placeholder])),
      kv: Object.fromEntries(plan.kv.map((k) => [k.binding, state.kv[k.binding] ?? placeholder])),
    }
    const dryFile = join(stateDir, `${plan.name}.dry-run.wrangler.json`)
    await writeFile(dryFile, JSON.stringify(generateWranglerConfig(toml, plan, ids, root, dryFile), null, 2))
    const outdir = join(stateDir, 'dry-run-bundle')
    await wrangler(['deploy', '--dry-run', '--outdir', outdir, '--config', dryFile], quietEnv, 'Bundling the Worker')
    say(`dry run    no API call made; bundle in ${outdir}`)
    return 0
  }

  const token = await apiToken()
  const baseUrl = process.env.CLOUDFLARE_API_BASE_URL ?? 'https://api.cloudflare.com/client/v4'
  const accountId = await accountOf(new Cloudflare(baseUrl, token, ''), process.env.CLOUDFLARE_ACCOUNT_ID ?? config.accountId)
  const cf = new Cloudflare(baseUrl, token, accountId)
  const env = { ...quietEnv, CLOUDFLARE_API_TOKEN: token, CLOUDFLARE_ACCOUNT_ID: accountId }
  const save = () => writeFile(stateFile, JSON.stringify({ ...state, accountId }, null, 2))
  say(`account    ${accountId}`)
  // Read from the live Worker too: .deploy/ may be lost, or the relay deployed from elsewhere.
  if (t === RELAY) {
    const live = await cf.liveIndexShards(plan.name)
    checkIndexShards(plan, [{ k: live, where: "the live Worker's INDEX_SHARDS setting" }])
    // Only a relay nothing else remembers: the data check costs queries on every database.
    if (live === null && state.indexShards === undefined) await checkHeldData(cf, plan)
  }

  for (const d of plan.d1) {
    const r = await cf.ensureD1(d.name)
    state.d1[d.binding] = r.id
    await save()
    say(`D1         ${d.name} ${r.created ? 'created' : 'found'} (${r.id})`)
  }
  for (const k of plan.kv) {
    const r = await cf.ensureKv(k.title)
    state.kv[k.binding] = r.id
    await save()
    say(`KV         ${k.title} ${r.created ? 'created' : 'found'} (${r.id})`)
  }
  for (const b of plan.r2) say(`R2         ${b.bucket} ${(await cf.ensureR2(b.bucket)).created ? 'created' : 'found'}`)

  await writeFile(genFile, JSON.stringify(generateWranglerConfig(toml, plan, state, root, genFile), null, 2))

  // Only a Worker without the secret gets one: a second deploy must not rotate the operator's token.
  const secrets: Record<string, string> = {}
  const existing = await cf.secretNames(plan.name)
  if (t === RELAY) {
    if (!existing.includes('ADMIN_TOKEN')) secrets.ADMIN_TOKEN = await adminToken(plan.name)
    // The relay's own key (PROTOCOL §6.7): made once, never rotated by a deploy, never written to disk.
    if (!existing.includes('RELAY_KEY')) secrets.RELAY_KEY = randomBytes(32).toString('base64url')
  } else if (!existing.includes('BRIDGE_KEY')) {
    // Rotating it would split the bridge's statements over two keys that policies trust separately.
    const key = await bridgeKey()
    secrets.BRIDGE_KEY = key.seed
    state.did = key.did
    await save()
  }
  const secretsFile = join(stateDir, `${plan.name}.secrets.json`)
  const outFile = join(stateDir, `${plan.name}.wrangler-output.ndjson`)
  await rm(outFile, { force: true })
  const upload = ['versions', 'upload', '--config', genFile, '--message', 'npm run deploy']
  if (Object.keys(secrets).length) {
    await writeFile(secretsFile, JSON.stringify(secrets), { mode: 0o600 })
    await chmod(secretsFile, 0o600)
    upload.push('--secrets-file', secretsFile)
  }
  try {
    await wrangler(upload, { ...env, WRANGLER_OUTPUT_FILE_PATH: outFile }, 'Uploading the new version')
  } finally {
    await rm(secretsFile, { force: true })
  }
  const entries = (await readFile(outFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; version_id?: string })
  const versionId = entries.find((e) => e.type === 'version-upload')?.version_id
  if (!versionId) throw new DeployError('wrangler uploaded no version id.', 'Rerun `npm run deploy`; if it repeats, report it with the wrangler output above.')
  const where = t === RELAY ? ` (the admin token in .deploy/${plan.name}.admin-token unless ADMIN_TOKEN was set)` : ''
  say(`version    ${versionId} uploaded${Object.keys(secrets).length ? ` with secrets ${Object.keys(secrets).join(', ')}${where}` : ''}`)

  for (const binding of plan.migrate) await wrangler(['d1', 'migrations', 'apply', binding, '--remote', '--config', genFile], env, `Applying ${binding} migrations`)
  await wrangler(['versions', 'deploy', `${versionId}@100%`, '--yes', '--config', genFile, '--message', 'npm run deploy'], env, 'Deploying the version')
  say(`deployed   ${versionId} at 100%`)
  if (t === RELAY) {
    state.indexShards = plan.indexShards
    await save()
  }

  if (plan.crons.length) say(`cron       ${plan.crons.join(', ')} ${(await cf.ensureSchedules(plan.name, plan.crons)) ? 'set' : 'unchanged'}`)
  if (t === BRIDGE) say(`bridge key ${state.did ?? '(not known here: set by a deploy whose .deploy/ is elsewhere)'}: what users trust as the npm bridge`)
  let url = config.url ?? ((t === RELAY && plan.vars.RELAY_URL) || undefined)
  if (plan.workersDev) {
    const sub = await cf.workersSubdomain()
    if (!sub) {
      say(`workers.dev  this account has no workers.dev subdomain, so the relay has no workers.dev URL (the cron runs anyway).`)
      say(`           fix: register one in the dashboard (Workers & Pages → Overview → your subdomain), then rerun; or serve a custom domain and set RELAY_URL (docs/DEPLOY.md).`)
    } else {
      const changed = await cf.ensureWorkersDev(plan.name)
      url ??= `https://${plan.name}.${sub}.workers.dev`
      say(`workers.dev  https://${plan.name}.${sub}.workers.dev ${changed ? 'enabled' : 'unchanged'}`)
    }
  }
  if (values['no-smoke']) say('smoke      skipped (--no-smoke)')
  else if (!url) say(`smoke      skipped: no URL known; set ${t === RELAY ? 'RELAY_URL' : '"url"'} in ${t.config} or register a workers.dev subdomain`)
  else await smoke(t, url, Number(process.env.VOUCH_DEPLOY_SMOKE_TIMEOUT_MS ?? 60_000))
  return 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof DeployError) process.stderr.write(`deploy: ${e.message}\n  fix: ${e.fix}\n${e.cause instanceof Error ? `  (${e.cause.message})\n` : ''}`)
    else if (e instanceof ConfigError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') process.stderr.write(`deploy: ${(e as Error).message}\n\n${USAGE}\n`)
    else process.stderr.write(`deploy: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(e instanceof ConfigError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1)
  },
)
