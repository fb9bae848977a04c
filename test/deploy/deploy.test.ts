/**
 * `npm run deploy` as a CI job runs it: from a clean clone, `CI=true`, a token and an account id,
 * against the stand-in API (test/deploy/cf-api.ts). The clone is of the committed tree, so this
 * tests what would be pushed, not the work in progress.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getPlatformProxy } from 'wrangler'
import { startStandIn, type Call, type StandIn } from './cf-api.ts'

const exec = promisify(execFile)
const repo = resolve(import.meta.dirname, '../..')

let api: StandIn
let dir: string
let clone: string
let env: Record<string, string | undefined>
const outputs: string[] = []

function deploy(...args: string[]): Promise<{ code: number | null; out: string; calls: Call[] }> {
  const from = api.calls.length
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', 'deploy', '--', ...args], { cwd: clone, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (out += d))
    child.on('error', fail)
    child.on('exit', (code) => {
      outputs.push(out)
      done({ code, out, calls: api.calls.slice(from) })
    })
  })
}

function npmRun(script: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', script, '--', ...args], { cwd: clone, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (out += d))
    child.on('error', fail)
    child.on('exit', (code) => done({ code, out }))
  })
}

const routeOf = (c: Call) => `${c.method} ${c.path.replace(/^\/client\/v4\/accounts\/[0-9a-f]+/, '').replace(/\?.*$/, '')}`
const count = (route: RegExp) => api.calls.filter((c) => c.status === 200 && route.test(routeOf(c))).length

beforeAll(async () => {
  api = await startStandIn()
  dir = await mkdtemp(join(tmpdir(), 'vouch-deploy-'))
  clone = join(dir, 'relay')
  await exec('git', ['clone', '--quiet', repo, clone])
  await symlink(join(repo, 'node_modules'), join(clone, 'node_modules'), 'dir')
  // .gitignore's `node_modules/` matches directories only; the symlink is a file to git.
  await writeFile(join(clone, '.git', 'info', 'exclude'), 'node_modules\n')
  // A HOME of its own: no wrangler login, config or log of the developer's is read or written.
  env = {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    CI: 'true',
    CLOUDFLARE_API_BASE_URL: api.baseUrl,
    CLOUDFLARE_API_TOKEN: api.token,
    CLOUDFLARE_ACCOUNT_ID: api.accountId,
    WRANGLER_SEND_METRICS: 'false',
    VOUCH_DEPLOY_SMOKE_TIMEOUT_MS: '5000',
  }
  // The operator's settings, untracked: a peer, a var the relay does not know yet, and a
  // RELAY_URL the smoke check can reach (the stand-in answers /.well-known/vouch).
  await writeFile(
    join(clone, 'relay.config.json'),
    JSON.stringify({ name: 'relay-a', vars: { RELAY_URL: api.origin, PEERS: ['https://relay-b.example.org'], CPU_BUDGET_MS: 10 } }),
  )
}, 120_000)

afterAll(async () => {
  await api?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('npm run deploy against the stand-in API', () => {
  it('--dry-run reaches the script as a flag, bundles the Worker and makes no API call at all', async () => {
    const r = await deploy('--dry-run')
    expect(r.out).toMatch(/dry run {4}no API call made/)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/D1 {9}DB -> relay-a-db/)
    expect(api.calls).toEqual([])
  })

  it('stops with the fix named when R2 is not enabled, having created D1 and KV once', async () => {
    api.faults.push({ route: 'POST r2/create', times: 1, status: 403, code: 10042, message: 'Please enable R2 through the Cloudflare Dashboard.' })
    const r = await deploy()
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/R2 is not enabled on this Cloudflare account/)
    expect(r.out).toMatch(/fix: Enable R2 once in the dashboard/)
    expect(count(/^POST \/d1\/database$/)).toBe(1)
    expect(count(/^POST \/storage\/kv\/namespaces$/)).toBe(1)
    expect(api.r2).toEqual([])
    expect(r.calls.some((c) => /versions/.test(c.path))).toBe(false)
  })

  it('resumes: creates only what is missing, migrates before deploying, sets secrets and cron, passes vars through', async () => {
    const r = await deploy()
    expect(r.out).toMatch(/smoke {6}.*protocol 1/)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/D1 {9}relay-a-db found/)
    expect(r.out).toMatch(/KV {9}relay-a-cache found/)
    expect(count(/^POST \/d1\/database$/)).toBe(1)
    expect(count(/^POST \/storage\/kv\/namespaces$/)).toBe(1)
    expect(count(/^POST \/r2\/buckets$/)).toBe(1)
    expect(api.calls.filter((c) => c.unknown).map(routeOf)).toEqual([])

    // The migration ran in the stand-in's SQLite, and before the version took traffic.
    const db = api.d1.get('relay-a-db')!.db
    const schema = db.exec("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name LIKE 'statements%' ORDER BY name")[0]!.values.flat()
    expect(schema).toEqual(['statements', 'statements_actor', 'statements_object', 'statements_subject'])
    expect(db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'usage'")[0]!.values.flat()).toEqual(['usage'])
    const migrations = (await readdir(resolve('migrations'))).filter((f) => f.endsWith('.sql')).sort()
    expect(db.exec('SELECT name FROM d1_migrations ORDER BY id')[0]!.values.flat()).toEqual(migrations)
    const lastMigration = r.calls.findLastIndex((c) => routeOf(c).endsWith('/query') && /CREATE TABLE statements/.test(JSON.stringify(c.body)))
    const deployed = r.calls.findIndex((c) => routeOf(c).endsWith('/deployments') && c.method === 'POST')
    expect(lastMigration).toBeGreaterThan(-1)
    expect(deployed).toBeGreaterThan(lastMigration)

    const script = api.scripts.get('relay-a')!
    expect(script.versions).toHaveLength(1)
    expect(script.deployments.map((d) => d.versionId)).toEqual([script.versions[0]!.id])
    expect(script.schedules).toEqual(['* * * * *'])
    expect(script.workersDev).toBe(true)
    const bindings = script.versions[0]!.bindings
    const byName = (n: string) => bindings.find((b) => b.name === n)
    expect(byName('DB')).toMatchObject({ type: 'd1', id: api.d1.get('relay-a-db')!.uuid })
    expect(byName('CACHE')).toMatchObject({ type: 'kv_namespace', namespace_id: api.kv[0]!.id })
    expect(byName('BLOBS')).toMatchObject({ type: 'r2_bucket', bucket_name: 'relay-a-blobs' })
    expect(byName('PEERS')).toMatchObject({ type: 'plain_text', text: 'https://relay-b.example.org' })
    expect(byName('CPU_BUDGET_MS')).toMatchObject({ type: 'plain_text', text: '10' })
    expect(script.versions[0]!.secretNames).toEqual(['ADMIN_TOKEN', 'RELAY_KEY'])
  })

  it('a second run changes only the code', async () => {
    const db = api.d1.get('relay-a-db')!.db
    const dump = () => JSON.stringify([db.exec('SELECT type, name, sql FROM sqlite_master ORDER BY name'), db.exec('SELECT * FROM d1_migrations')])
    const before = dump()
    const r = await deploy()
    expect(r.code).toBe(0)
    // wrangler's migration check runs `CREATE TABLE IF NOT EXISTS d1_migrations` every time: judge
    // the database by its contents, every other call by its method.
    expect(dump()).toBe(before)
    const writes = r.calls.filter((c) => c.method !== 'GET' && !routeOf(c).endsWith('/query'))
    expect(writes.map(routeOf)).toEqual(['POST /workers/scripts/relay-a/versions', 'POST /workers/scripts/relay-a/deployments'])
    const script = api.scripts.get('relay-a')!
    expect(script.versions).toHaveLength(2)
    expect(script.versions[1]!.secretNames).toEqual([])
    expect(script.deployments.at(-1)!.versionId).toBe(script.versions[1]!.id)
  })

  it('on an account without a workers.dev subdomain, still sets the cron and names the fix', async () => {
    api.subdomain = null
    const config = join(dir, 'relay-b.config.json')
    await writeFile(config, JSON.stringify({ name: 'relay-b', vars: { PEERS: [api.origin] } }))
    const r = await deploy('--config', config)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/no workers\.dev subdomain/)
    expect(r.out).toMatch(/fix: register one in the dashboard/)
    expect(r.out).toMatch(/smoke {6}skipped: no URL known/)
    expect(api.scripts.get('relay-b')!.schedules).toEqual(['* * * * *'])
    expect(api.d1.size).toBe(2)
  })

  it('indexShards 4: --dry-run names the index databases and their migrations with no API call', async () => {
    const config = join(dir, 'relay-s.config.json')
    await writeFile(config, JSON.stringify({ name: 'relay-s', indexShards: 4, vars: { RELAY_URL: api.origin } }))
    const r = await deploy('--dry-run', '--config', config)
    expect(r.code).toBe(0)
    for (let i = 0; i < 4; i++) expect(r.out).toMatch(new RegExp(`D1 {9}INDEX_${i} -> relay-s-index-${i} `))
    expect(r.out).toMatch(/migrate {4}DB, INDEX_0, INDEX_1, INDEX_2, INDEX_3 before the new version takes traffic/)
    expect(r.out).toMatch(/var {8}INDEX_SHARDS="4"/)
    expect(r.calls).toEqual([])
  })

  it('indexShards 4: creates the 4 index databases by name, binds them, migrates each before the deploy and records K', async () => {
    api.subdomain = 'example'
    const config = join(dir, 'relay-s.config.json')
    const before = api.d1.size
    const r = await deploy('--config', config)
    expect(r.code).toBe(0)
    const names = ['relay-s-db', 'relay-s-index-0', 'relay-s-index-1', 'relay-s-index-2', 'relay-s-index-3']
    for (const n of names) expect(r.out).toContain(`D1         ${n} created`)
    expect(api.d1.size).toBe(before + 5)
    expect(r.calls.filter((c) => routeOf(c) === 'POST /d1/database').map((c) => (c.body as { name: string }).name)).toEqual(names)
    expect(api.calls.filter((c) => c.unknown).map(routeOf)).toEqual([])

    const script = api.scripts.get('relay-s')!
    const bindings = script.versions[0]!.bindings
    for (let i = 0; i < 4; i++) expect(bindings.find((b) => b.name === `INDEX_${i}`)).toMatchObject({ type: 'd1', id: api.d1.get(`relay-s-index-${i}`)!.uuid })
    expect(bindings.find((b) => b.name === 'DB')).toMatchObject({ type: 'd1', id: api.d1.get('relay-s-db')!.uuid })
    expect(bindings.find((b) => b.name === 'INDEX_SHARDS')).toMatchObject({ type: 'plain_text', text: '4' })
    expect(bindings.filter((b) => b.type === 'd1')).toHaveLength(5)

    // Each index database has the index schema (no body column), DB its own migrations.
    const tables = (n: string) => api.d1.get(n)!.db.exec("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name LIKE 'statements%' ORDER BY name")[0]!.values.flat()
    const applied = (n: string) => api.d1.get(n)!.db.exec('SELECT name FROM d1_migrations ORDER BY id')[0]!.values.flat()
    const indexMigrations = (await readdir(resolve('migrations-index'))).filter((f) => f.endsWith('.sql')).sort()
    expect(indexMigrations).toContain('0001_index.sql')
    for (let i = 0; i < 4; i++) {
      const n = `relay-s-index-${i}`
      expect(tables(n)).toEqual(['statements', 'statements_actor', 'statements_object', 'statements_subject'])
      expect(api.d1.get(n)!.db.exec('SELECT name FROM pragma_table_info(\'statements\') ORDER BY cid')[0]!.values.flat()).toEqual(['seq', 'id', 'actor', 'subject', 'claim', 'object', 'neg', 'time'])
      expect(applied(n)).toEqual(indexMigrations)
    }
    expect(applied('relay-s-db')).toEqual((await readdir(resolve('migrations'))).filter((f) => f.endsWith('.sql')).sort())

    // Every database's schema was there before the version took traffic.
    const uuids = new Set(names.map((n) => api.d1.get(n)!.uuid))
    const migrated = r.calls.map((c, i) => ({ c, i })).filter(({ c }) => routeOf(c).endsWith('/query') && /CREATE TABLE statements/.test(JSON.stringify(c.body)))
    expect(new Set(migrated.map(({ c }) => /\/d1\/database\/([^/]+)\//.exec(c.path)![1]))).toEqual(uuids)
    const deployed = r.calls.findIndex((c) => routeOf(c).endsWith('/deployments') && c.method === 'POST')
    expect(deployed).toBeGreaterThan(Math.max(...migrated.map(({ i }) => i)))
    expect(JSON.parse(await readFile(join(clone, '.deploy', 'relay-s.json'), 'utf8'))).toMatchObject({ indexShards: 4 })
  })

  it('indexShards 4: a rerun finds all five databases and creates nothing', async () => {
    const config = join(dir, 'relay-s.config.json')
    const size = api.d1.size
    const r = await deploy('--config', config)
    expect(r.code).toBe(0)
    for (let i = 0; i < 4; i++) expect(r.out).toContain(`D1         relay-s-index-${i} found`)
    expect(api.d1.size).toBe(size)
    const writes = r.calls.filter((c) => c.method !== 'GET' && !routeOf(c).endsWith('/query'))
    expect(writes.map(routeOf)).toEqual(['POST /workers/scripts/relay-s/versions', 'POST /workers/scripts/relay-s/deployments'])
  })

  it('a changed indexShards is refused before any change: from .deploy/ state, and from the live Worker when .deploy/ is lost', async () => {
    const config = join(dir, 'relay-s.config.json')
    const snapshot = () => JSON.stringify({ d1: [...api.d1.keys()], kv: api.kv, r2: api.r2, s: [...api.scripts.values()].map((s) => [s.versions.length, s.deployments.length, s.schedules]) })
    const before = snapshot()
    for (const k of [8, 2, 1]) {
      await writeFile(config, JSON.stringify({ name: 'relay-s', indexShards: k, vars: { RELAY_URL: api.origin } }))
      const r = await deploy('--config', config)
      expect(r.code).toBe(1)
      expect(r.out).toContain(`indexShards is ${k}, but relay-s runs with 4 (recorded in .deploy/relay-s.json`)
      expect(r.out).toMatch(/resharding is not built/)
      expect(r.out).toMatch(/fix: Set "indexShards": 4 in the config again/)
      expect(r.calls).toEqual([])
      const dry = await deploy('--dry-run', '--config', config)
      expect(dry.code).toBe(1)
      expect(dry.out).toMatch(/resharding is not built/)
    }
    // .deploy/ lost (another machine, a fresh clone): the live Worker's INDEX_SHARDS still says 4.
    await rename(join(clone, '.deploy', 'relay-s.json'), join(dir, 'relay-s.state.json'))
    const r = await deploy('--config', config)
    expect(r.code).toBe(1)
    expect(r.out).toContain("indexShards is 1, but relay-s runs with 4 (the live Worker's INDEX_SHARDS setting)")
    expect(r.calls.filter((c) => c.method !== 'GET')).toEqual([])
    // A relay deployed before sharding (K = 1, no INDEX_SHARDS var) is not silently sharded either.
    await rename(join(clone, '.deploy', 'relay-b.json'), join(dir, 'relay-b.state.json'))
    const b = join(dir, 'relay-b4.config.json')
    await writeFile(b, JSON.stringify({ name: 'relay-b', indexShards: 4 }))
    const rb = await deploy('--config', b)
    expect(rb.code).toBe(1)
    expect(rb.out).toContain("indexShards is 4, but relay-b runs with 1 (the live Worker's INDEX_SHARDS setting)")
    expect(rb.out).toMatch(/fix: Set "indexShards": 1 in the config again \(or leave it out\)/)
    expect(rb.calls.filter((c) => c.method !== 'GET')).toEqual([])
    expect(snapshot()).toBe(before)
    await rename(join(dir, 'relay-s.state.json'), join(clone, '.deploy', 'relay-s.json'))
    await rename(join(dir, 'relay-b.state.json'), join(clone, '.deploy', 'relay-b.json'))
  })

  it('with neither .deploy/ nor a live Worker, the data in an adopted DB refuses a changed K, reading only', async () => {
    const before = JSON.stringify([...api.d1.keys()])
    // relay-b's DB (K = 1) holds a statement; a new relay adopting it must not shard it.
    api.d1.get('relay-b-db')!.db.run("INSERT INTO statements (id, actor, subject, claim, time, body) VALUES ('sha256-x', 'did:key:z6Mk', 'pkg:npm/a@1', 'source', 1, '{}')")
    const c4 = join(dir, 'relay-d.config.json')
    await writeFile(c4, JSON.stringify({ name: 'relay-d', indexShards: 4, resources: { DB: 'relay-b-db' } }))
    const r = await deploy('--config', c4)
    expect(r.code).toBe(1)
    expect(r.out).toContain('indexShards is 4, but relay-b-db already holds statements indexed in that one database')
    expect(r.out).toMatch(/resharding, which is not built\. Nothing was changed/)
    // relay-s's DB (K = 4) has sequenced statements (the sharded relay's own table): not K = 1 either.
    const s = api.d1.get('relay-s-db')!.db
    s.run('CREATE TABLE IF NOT EXISTS sequence (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, shard INTEGER NOT NULL)')
    s.run("INSERT INTO sequence (id, shard) VALUES ('sha256-y', 2)")
    const c1 = join(dir, 'relay-e.config.json')
    await writeFile(c1, JSON.stringify({ name: 'relay-e', resources: { DB: 'relay-s-db' } }))
    const r1 = await deploy('--config', c1)
    expect(r1.code).toBe(1)
    expect(r1.out).toContain('indexShards is 1, but relay-s-db holds statements indexed across index databases')
    // relay-s's databases adopted at K = 8: INDEX_4 … are not there, so the data was indexed into fewer.
    const c8 = join(dir, 'relay-s8.config.json')
    const resources = Object.fromEntries([['DB', 'relay-s-db'], ...[0, 1, 2, 3].map((i) => [`INDEX_${i}`, `relay-s-index-${i}`])])
    await writeFile(c8, JSON.stringify({ name: 'relay-f', indexShards: 8, resources }))
    const r8 = await deploy('--config', c8)
    expect(r8.code).toBe(1)
    expect(r8.out).toContain('indexShards is 8, but relay-s-db holds statements indexed across index databases and relay-f-index-4 (INDEX_4) does not exist')
    // Under its own name at K = 2 (.deploy/ and Worker both gone): relay-s-index-2 exists, so more.
    await rename(join(clone, '.deploy', 'relay-s.json'), join(dir, 'relay-s.state.json'))
    api.scripts.set('relay-s-away', api.scripts.get('relay-s')!)
    api.scripts.delete('relay-s')
    const c2 = join(dir, 'relay-s2.config.json')
    await writeFile(c2, JSON.stringify({ name: 'relay-s', indexShards: 2 }))
    const r2 = await deploy('--config', c2)
    api.scripts.set('relay-s', api.scripts.get('relay-s-away')!)
    api.scripts.delete('relay-s-away')
    await rename(join(dir, 'relay-s.state.json'), join(clone, '.deploy', 'relay-s.json'))
    expect(r2.code).toBe(1)
    expect(r2.out).toContain('indexShards is 2, but relay-s-db holds statements indexed across index databases and relay-s-index-2 exists too')
    for (const call of [...r.calls, ...r1.calls, ...r8.calls, ...r2.calls]) {
      if (call.method === 'GET') continue
      expect(routeOf(call)).toMatch(/^POST \/d1\/database\/[^/]+\/query$/)
      expect((call.body as { sql: string }).sql).toMatch(/^SELECT /)
    }
    expect(JSON.stringify([...api.d1.keys()])).toBe(before)
    expect(['relay-d', 'relay-e', 'relay-f'].some((n) => api.scripts.has(n))).toBe(false)
    // At the count the data was indexed with, the same adopted DB is no obstacle.
    s.run('DELETE FROM sequence')
  })

  it('a bad indexShards is refused with the rule named and nothing provisioned', async () => {
    const config = join(dir, 'relay-bad.config.json')
    await writeFile(config, JSON.stringify({ name: 'relay-bad', indexShards: 3 }))
    const r = await deploy('--config', config)
    expect(r.code).toBe(2)
    expect(r.out).toMatch(/indexShards: indexShards must be 1 \(one database, the default\) or a power of two up to 64 .*got 3/)
    expect(r.calls).toEqual([])
  })

  it('npm run start:shards: a local config with INDEX_0 … INDEX_3 and the migrations applied to each local database; bad K refused', async () => {
    const state = join(dir, 'local-shards')
    const r = await npmRun('start:shards', '--shards', '4', '--prepare-only', '--persist-to', state)
    expect(r.code, r.out).toBe(0)
    const config = JSON.parse(await readFile(join(clone, '.wrangler', 'shards-4', 'wrangler.json'), 'utf8')) as { d1_databases: Array<Record<string, string>>; vars: Record<string, string>; triggers: unknown }
    expect(config.d1_databases.map((d) => [d.binding, d.migrations_dir])).toEqual([
      ['DB', '../../migrations'],
      ...[0, 1, 2, 3].map((i) => [`INDEX_${i}`, '../../migrations-index']),
    ])
    expect(new Set(config.d1_databases.map((d) => d.database_id)).size).toBe(5)
    expect(config.vars.INDEX_SHARDS).toBe('4')
    expect(config.triggers).toEqual({ crons: ['* * * * *'] })

    // The local databases themselves, by binding, through wrangler's own local platform.
    const proxy = await getPlatformProxy<Record<string, D1Database>>({ configPath: join(clone, '.wrangler', 'shards-4', 'wrangler.json'), persist: { path: join(state, 'v3') } })
    const seen: Record<string, string> = {}
    try {
      for (const binding of ['DB', 'INDEX_0', 'INDEX_1', 'INDEX_2', 'INDEX_3']) {
        const row = await proxy.env[binding]!.prepare("SELECT (SELECT group_concat(name, ' ') FROM (SELECT name FROM d1_migrations ORDER BY id)) AS applied, (SELECT group_concat(name, ' ') FROM pragma_table_info('statements')) AS columns").first<{ applied: string; columns: string }>()
        seen[binding] = `${row!.applied} | ${row!.columns}`
      }
    } finally {
      await proxy.dispose()
    }
    const primary = (await readdir(resolve('migrations'))).filter((f) => f.endsWith('.sql')).sort().join(' ')
    const index = '0001_index.sql | seq id actor subject claim object neg time'
    expect(seen).toMatchObject({ INDEX_0: index, INDEX_1: index, INDEX_2: index, INDEX_3: index })
    expect(seen.DB).toMatch(new RegExp(`^${primary} \\| seq id actor subject claim object neg time`))

    const bad = await npmRun('start:shards', '--shards', '3', '--prepare-only')
    expect(bad.code).toBe(2)
    expect(bad.out).toMatch(/indexShards must be 1 .* or a power of two up to 64 .*got 3/)
    const one = await npmRun('start:shards', '--shards', '1', '--prepare-only')
    expect(one.code).toBe(2)
    expect(one.out).toMatch(/with 1 index database, use `npm start`/)
    // `npm start` itself is today's: one database, its own state, no generated config.
    const pkg = JSON.parse(await readFile(join(clone, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.start).toBe('node scripts/dev-key.mjs && wrangler d1 migrations apply DB --local </dev/null && wrangler dev')
  })

  it('--bridge: a clean deploy provisions its KV, sets BRIDGE_KEY and the cron, and smoke-checks GET /', async () => {
    api.subdomain = 'example'
    const config = join(dir, 'bridge.config.json')
    await writeFile(config, JSON.stringify({ name: 'bridge-a', url: api.origin, vars: { RELAYS: [api.origin], MAX_CHANGES: 500 } }))
    const dry = await deploy('--bridge', '--dry-run', '--config', config)
    expect(dry.out).toMatch(/KV {9}BRIDGE_STATE -> bridge-a-bridge-state/)
    expect(dry.code).toBe(0)
    expect(dry.calls).toEqual([])

    const r = await deploy('--bridge', '--config', config)
    expect(r.out).toMatch(/smoke {6}http:\/\/127\.0\.0\.1:\d+\/: checkpoint null \(no run yet\)/)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/KV {9}bridge-a-bridge-state created/)
    const did = /bridge key (did:key:z[1-9A-HJ-NP-Za-km-z]+): /.exec(r.out)?.[1]
    expect(did).toBeDefined()
    expect(api.kv.filter((n) => n.title === 'bridge-a-bridge-state')).toHaveLength(1)
    // No D1 and no R2: nothing created or migrated beyond the relays' own.
    expect(r.calls.filter((c) => /\/d1\/|\/r2\//.test(c.path))).toEqual([])
    expect(api.calls.filter((c) => c.unknown).map(routeOf)).toEqual([])
    const script = api.scripts.get('bridge-a')!
    expect(script.versions).toHaveLength(1)
    expect(script.deployments.map((d) => d.versionId)).toEqual([script.versions[0]!.id])
    expect(script.schedules).toEqual(['* * * * *'])
    expect(script.workersDev).toBe(true)
    const byName = (n: string) => script.versions[0]!.bindings.find((b) => b.name === n)
    expect(byName('BRIDGE_STATE')).toMatchObject({ type: 'kv_namespace', namespace_id: api.kv.find((n) => n.title === 'bridge-a-bridge-state')!.id })
    expect(byName('RELAYS')).toMatchObject({ type: 'plain_text', text: api.origin })
    expect(byName('MAX_CHANGES')).toMatchObject({ type: 'plain_text', text: '500' })
    expect(script.versions[0]!.secretNames).toEqual(['BRIDGE_KEY'])
  })

  it('--bridge: a re-run keeps the key and changes only the code', async () => {
    const config = join(dir, 'bridge.config.json')
    const first = outputs.at(-1)!
    const r = await deploy('--bridge', '--config', config)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/KV {9}bridge-a-bridge-state found/)
    const writes = r.calls.filter((c) => c.method !== 'GET')
    expect(writes.map(routeOf)).toEqual(['POST /workers/scripts/bridge-a/versions', 'POST /workers/scripts/bridge-a/deployments'])
    const script = api.scripts.get('bridge-a')!
    expect(script.versions[1]!.secretNames).toEqual([])
    expect(script.deployments.at(-1)!.versionId).toBe(script.versions[1]!.id)
    // The same did:key named again, from the deploy state, though the secret itself is unreadable.
    const did = (out: string) => /bridge key (did:key:\S+): /.exec(out)?.[1]
    expect(did(r.out)).toBe(did(first))
  })

  it('changed no tracked file and never printed the admin token', async () => {
    const { stdout } = await exec('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: clone })
    expect(stdout).toBe('')
    const token = (await readFile(join(clone, '.deploy', 'relay-a.admin-token'), 'utf8')).trim()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    for (const out of outputs) expect(out).not.toContain(token)
    // Nor the bridge's generated seed: no word of any output hashes to the value the Worker got.
    const seed = api.scripts.get('bridge-a')!.secretDigests.get('BRIDGE_KEY')
    expect(seed).toMatch(/^[0-9a-f]{64}$/)
    const words = new Set(outputs.flatMap((o) => o.match(/[A-Za-z0-9_-]{43}/g) ?? []))
    for (const w of words) expect(createHash('sha256').update(w).digest('hex')).not.toBe(seed)
  })
})
