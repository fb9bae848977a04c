import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { expect, it } from 'vitest'
import { ConfigError, generateWranglerConfig, loadRelayConfig, makePlan, readWranglerToml, RelayConfig } from '../../scripts/deploy/config.ts'

const root = resolve(import.meta.dirname, '../..')

it('the tracked example is a valid config, and a missing file means defaults', async () => {
  expect((await loadRelayConfig(join(root, 'relay.config.example.json'))).found).toBe(true)
  const none = await loadRelayConfig(join(root, 'no-such.config.json'))
  expect(none).toEqual({ config: RelayConfig.parse({}), found: false })
})

it('passes any upper-case var through, lists as space-separated strings, over wrangler.toml defaults', async () => {
  const toml = await readWranglerToml(join(root, 'wrangler.toml'))
  const plan = makePlan(toml, RelayConfig.parse({ name: 'r1', vars: { PEERS: ['https://a.example', 'https://b.example'], ADMISSION: 'open', CPU_BUDGET_MS: 10 } }))
  expect(plan.vars).toMatchObject({ PEERS: 'https://a.example https://b.example', ADMISSION: 'open', CPU_BUDGET_MS: '10', MAX_FUTURE_SKEW_MS: '300000' })
  expect(plan.d1).toEqual([{ binding: 'DB', name: 'r1-db' }])
  const out = join(root, '.deploy', 'x.json')
  const gen = generateWranglerConfig(toml, plan, { d1: { DB: 'd1-id' }, kv: { CACHE: 'kv-id' } }, root, out)
  expect(gen).toMatchObject({ name: 'r1', main: '../src/index.ts', d1_databases: [{ binding: 'DB', database_id: 'd1-id', database_name: 'r1-db', migrations_dir: '../migrations' }] })
  expect(gen).not.toHaveProperty('triggers')
})

it('refuses a secret in vars, a lower-case var, an unknown key and a resource for a binding wrangler.toml lacks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-config-'))
  try {
    const bad = async (body: unknown) => {
      await writeFile(join(dir, 'c.json'), JSON.stringify(body))
      return loadRelayConfig(join(dir, 'c.json')).then(() => 'accepted', (e: Error) => (e instanceof ConfigError ? e.message : `other: ${e.message}`))
    }
    expect(await bad({ vars: { ADMIN_TOKEN: 'x' } })).toMatch(/ADMIN_TOKEN is a secret/)
    expect(await bad({ vars: { relay_url: 'x' } })).toMatch(/vars\.relay_url.*upper-case/)
    expect(await bad({ nmae: 'typo' })).toMatch(/nmae/)
    expect(await bad({ name: 'Has Space' })).toMatch(/name: lowercase/)
    await writeFile(join(dir, 'c.json'), '{')
    expect(await loadRelayConfig(join(dir, 'c.json')).catch((e: Error) => e.message)).toMatch(/not JSON/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const toml = await readWranglerToml(join(root, 'wrangler.toml'))
  expect(() => makePlan(toml, RelayConfig.parse({ resources: { QUEUE: 'q' } }))).toThrow(/QUEUE, which wrangler.toml does not bind/)
})

it('the bridge: its name and resources come from bridge.wrangler.toml, and its key is never a var', async () => {
  expect((await loadRelayConfig(join(root, 'bridge.config.example.json'))).found).toBe(true)
  const toml = await readWranglerToml(join(root, 'bridge.wrangler.toml'))
  const plan = makePlan(toml, RelayConfig.parse({ vars: { RELAYS: ['https://a.example', 'https://b.example'] } }))
  expect(plan).toMatchObject({ name: 'vouch-bridge-npm', d1: [], r2: [], migrate: [], kv: [{ binding: 'BRIDGE_STATE', title: 'vouch-bridge-npm-bridge-state' }], crons: ['* * * * *'] })
  expect(plan.vars.RELAYS).toBe('https://a.example https://b.example')
  expect(RelayConfig.safeParse({ vars: { BRIDGE_KEY: 'x' } }).error?.issues[0]?.message).toMatch(/BRIDGE_KEY is a secret/)
  expect(RelayConfig.safeParse({ url: 'ftp://x.example' }).success).toBe(false)
})

it('indexShards: K > 1 adds <name>-index-i bound as INDEX_i with the index migrations, and INDEX_SHARDS; K = 1 adds nothing', async () => {
  const toml = await readWranglerToml(join(root, 'wrangler.toml'))
  const one = makePlan(toml, RelayConfig.parse({ name: 'r1' }))
  expect(one.indexShards).toBe(1)
  expect(one.d1).toEqual([{ binding: 'DB', name: 'r1-db' }])
  expect(one.migrate).toEqual(['DB'])
  // wrangler.toml may document the default as INDEX_SHARDS = "1"; the deploy adds no other value.
  expect(one.vars.INDEX_SHARDS ?? '1').toBe('1')
  // Today's generated config, exactly: what a K = 1 relay deployed before sharding gets.
  expect(makePlan(toml, RelayConfig.parse({ name: 'r1', indexShards: 1 }))).toEqual(one)

  const plan = makePlan(toml, RelayConfig.parse({ name: 'r4', indexShards: 4, resources: { INDEX_2: 'adopted-shard' } }))
  expect(plan.d1).toEqual([
    { binding: 'DB', name: 'r4-db' },
    { binding: 'INDEX_0', name: 'r4-index-0' },
    { binding: 'INDEX_1', name: 'r4-index-1' },
    { binding: 'INDEX_2', name: 'adopted-shard' },
    { binding: 'INDEX_3', name: 'r4-index-3' },
  ])
  expect(plan.migrate).toEqual(['DB', 'INDEX_0', 'INDEX_1', 'INDEX_2', 'INDEX_3'])
  expect(plan.vars.INDEX_SHARDS).toBe('4')
  const ids = { d1: Object.fromEntries(plan.d1.map((d, i) => [d.binding, `id-${i}`])), kv: { CACHE: 'kv-id' } }
  const gen = generateWranglerConfig(toml, plan, ids, root, join(root, '.deploy', 'x.json'))
  expect(gen.d1_databases).toEqual([
    { binding: 'DB', database_name: 'r4-db', database_id: 'id-0', migrations_dir: '../migrations' },
    { binding: 'INDEX_0', database_name: 'r4-index-0', database_id: 'id-1', migrations_dir: '../migrations-index' },
    { binding: 'INDEX_1', database_name: 'r4-index-1', database_id: 'id-2', migrations_dir: '../migrations-index' },
    { binding: 'INDEX_2', database_name: 'adopted-shard', database_id: 'id-3', migrations_dir: '../migrations-index' },
    { binding: 'INDEX_3', database_name: 'r4-index-3', database_id: 'id-4', migrations_dir: '../migrations-index' },
  ])
  expect(gen.vars.INDEX_SHARDS).toBe('4')
  expect(makePlan(toml, RelayConfig.parse({ indexShards: 64 })).d1).toHaveLength(65)
})

it('indexShards: anything but 1 or a power of two up to 64 is refused with the rule named, as are INDEX_SHARDS in vars and INDEX_i beyond K', async () => {
  for (const k of [0, -2, 3, 6, 12, 128, 1.5, '4', 'four', null, true, [4]]) {
    const r = RelayConfig.safeParse({ indexShards: k })
    expect(r.success, JSON.stringify(k)).toBe(false)
    expect(r.error!.issues[0]!.message).toMatch(/indexShards must be 1 .* or a power of two up to 64/)
  }
  for (const k of [1, 2, 4, 8, 16, 32, 64]) expect(RelayConfig.parse({ indexShards: k }).indexShards).toBe(k)
  expect(RelayConfig.safeParse({ vars: { INDEX_SHARDS: '4' } }).error?.issues[0]?.message).toMatch(/INDEX_SHARDS is set from "indexShards"/)
  const toml = await readWranglerToml(join(root, 'wrangler.toml'))
  expect(() => makePlan(toml, RelayConfig.parse({ indexShards: 2, resources: { INDEX_2: 'x' } }))).toThrow(/INDEX_2, which .* only for i below indexShards, which is 2/)
  expect(() => makePlan(toml, RelayConfig.parse({ resources: { INDEX_0: 'x' } }))).toThrow(/INDEX_0/)
  // K set by hand in the tracked file (its commented K = 4 example uncommented) is not the deploy's way.
  expect(() => makePlan({ ...toml, d1_databases: [...(toml.d1_databases ?? []), { binding: 'INDEX_0', migrations_dir: 'migrations-index' }] }, RelayConfig.parse({}))).toThrow(/wrangler.toml sets INDEX_0; .* set "indexShards"/)
  expect(() => makePlan({ ...toml, vars: { ...toml.vars, INDEX_SHARDS: '4' } }, RelayConfig.parse({ indexShards: 4 }))).toThrow(/wrangler.toml sets INDEX_SHARDS = "4"/)
  expect(makePlan({ ...toml, vars: { ...toml.vars, INDEX_SHARDS: '1' } }, RelayConfig.parse({ indexShards: 4 })).vars.INDEX_SHARDS).toBe('4')
  const bridge = await readWranglerToml(join(root, 'bridge.wrangler.toml'))
  expect(() => makePlan(bridge, RelayConfig.parse({ indexShards: 4 }))).toThrow(/no DB to shard/)
  // Through the file loader too: the operator sees the file, the key and the rule.
  const dir = await mkdtemp(join(tmpdir(), 'vouch-config-'))
  try {
    await writeFile(join(dir, 'c.json'), JSON.stringify({ indexShards: 5 }))
    await expect(loadRelayConfig(join(dir, 'c.json'))).rejects.toThrow(/c\.json is not a valid relay config:\n {2}indexShards: indexShards must be 1/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
