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
