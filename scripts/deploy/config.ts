/**
 * The operator's settings (an untracked `relay.config.json`, or `bridge.config.json` for the
 * bridge Worker) and the wrangler config generated from them for one deploy. The tracked `wrangler.toml` stays the project's defaults and is only
 * read: upgrading is a `git pull` with no merge conflict in operator values.
 */
import { readFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { z } from 'zod'

/** A var's value as an operator writes it; lists become the space-separated strings the relay parses. */
const varValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])
/** Set by the deploy itself (once, never printed), so never a plain var in a config file. */
const SECRET_NAMES = ['ADMIN_TOKEN', 'RELAY_KEY', 'BRIDGE_KEY']

export const RelayConfig = z.strictObject({
  /** The Worker's name; also the prefix of the resources' default names. Default: the tracked config's (vouch-relay, vouch-bridge-npm). */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63').optional(),
  /** Where the Worker answers (e.g. a custom domain), for the smoke check; default RELAY_URL for a relay, else workers.dev. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Otherwise CLOUDFLARE_ACCOUNT_ID, otherwise the token's only account. */
  accountId: z.string().regex(/^[0-9a-f]{32}$/, '32 hex digits').optional(),
  /** Resource names by binding (DB, CACHE, BLOBS, …), to adopt existing ones or share an account. */
  resources: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string().min(1).max(63)).default({}),
  /** Serve on <name>.<subdomain>.workers.dev (turn off when only a custom domain should answer). */
  workersDev: z.boolean().default(true),
  /** Any relay var, passed through to the Worker as is: names the code does not know yet included. */
  vars: z
    .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'upper-case names like RELAY_URL'), varValue)
    .default({})
    .superRefine((v, ctx) => {
      for (const s of SECRET_NAMES.filter((n) => n in v)) ctx.addIssue({ code: 'custom', message: `${s} is a secret: the deploy sets it once (or from the ${s} environment variable), never from vars` })
    }),
})
export type RelayConfig = z.infer<typeof RelayConfig>

export class ConfigError extends Error {}

/** Reads the operator config; a missing file means all defaults (a first deploy needs none). */
export async function loadRelayConfig(path: string): Promise<{ config: RelayConfig; found: boolean }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { config: RelayConfig.parse({}), found: false }
    throw e
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`${path}: not JSON (${(e as Error).message})`)
  }
  const parsed = RelayConfig.safeParse(raw)
  if (!parsed.success) {
    // A bad record key's reason (e.g. "upper-case names") sits one level down in zod's issue.
    const reason = (i: z.core.$ZodIssue) => (i.code === 'invalid_key' ? `${i.message}: ${i.issues.map((n) => n.message).join('; ')}` : i.message)
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${reason(i)}`)
    throw new ConfigError(`${path} is not a valid relay config:\n${lines.join('\n')}`)
  }
  return { config: parsed.data, found: true }
}

interface Binding {
  binding: string
  [k: string]: unknown
}
type Toml = Record<string, unknown> & {
  main?: string
  vars?: Record<string, unknown>
  d1_databases?: Binding[]
  kv_namespaces?: Binding[]
  r2_buckets?: Binding[]
  triggers?: { crons?: string[] }
}

/** What a deploy provisions: every D1, KV and R2 binding of wrangler.toml, under the operator's names. */
export interface Plan {
  name: string
  d1: Array<{ binding: string; name: string }>
  kv: Array<{ binding: string; title: string }>
  r2: Array<{ binding: string; bucket: string }>
  crons: string[]
  vars: Record<string, string>
  workersDev: boolean
  /** The binding whose migrations the deploy applies. */
  migrate: string[]
}

export async function readWranglerToml(path: string): Promise<Toml> {
  return parseToml(await readFile(path, 'utf8')) as Toml
}

const defaultName = (worker: string, binding: string) => `${worker}-${binding.toLowerCase().replaceAll('_', '-')}`

export function makePlan(toml: Toml, config: RelayConfig): Plan {
  const name = config.name ?? (typeof toml.name === 'string' ? toml.name : 'vouch-relay')
  const pick = (binding: string) => config.resources[binding] ?? defaultName(name, binding)
  const known = new Set([...(toml.d1_databases ?? []), ...(toml.kv_namespaces ?? []), ...(toml.r2_buckets ?? [])].map((b) => b.binding))
  const stray = Object.keys(config.resources).filter((b) => !known.has(b))
  if (stray.length) throw new ConfigError(`resources names ${stray.join(', ')}, which wrangler.toml does not bind (it binds ${[...known].join(', ')})`)
  const vars: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...(toml.vars ?? {}), ...config.vars })) vars[k] = Array.isArray(v) ? v.join(' ') : String(v)
  return {
    name,
    d1: (toml.d1_databases ?? []).map((b) => ({ binding: b.binding, name: pick(b.binding) })),
    kv: (toml.kv_namespaces ?? []).map((b) => ({ binding: b.binding, title: pick(b.binding) })),
    r2: (toml.r2_buckets ?? []).map((b) => ({ binding: b.binding, bucket: pick(b.binding) })),
    crons: toml.triggers?.crons ?? [],
    vars,
    workersDev: config.workersDev,
    migrate: (toml.d1_databases ?? []).filter((b) => b.migrations_dir).map((b) => b.binding),
  }
}

/**
 * The wrangler config of one deploy: the tracked wrangler.toml with ids filled in, names and vars
 * from the operator, and paths rewritten relative to where the generated file lives.
 */
export function generateWranglerConfig(toml: Toml, plan: Plan, ids: { d1: Record<string, string>; kv: Record<string, string> }, root: string, outFile: string) {
  const rel = (p: string) => relative(dirname(outFile), resolve(root, p))
  const { triggers: _crons, ...rest } = toml
  return {
    ...rest,
    name: plan.name,
    ...(toml.main ? { main: rel(toml.main) } : {}),
    workers_dev: plan.workersDev,
    vars: plan.vars,
    d1_databases: (toml.d1_databases ?? []).map((b) => ({
      ...b,
      database_name: plan.d1.find((d) => d.binding === b.binding)!.name,
      database_id: ids.d1[b.binding],
      ...(typeof b.migrations_dir === 'string' ? { migrations_dir: rel(b.migrations_dir) } : {}),
    })),
    kv_namespaces: (toml.kv_namespaces ?? []).map((b) => ({ ...b, id: ids.kv[b.binding] })),
    r2_buckets: (toml.r2_buckets ?? []).map((b) => ({ ...b, bucket_name: plan.r2.find((r) => r.binding === b.binding)!.bucket })),
  }
}
