import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { localError } from './errors.ts'

/**
 * Where vouch keeps its state: `$VOUCH_HOME` if set (tests, several identities), else
 * `$XDG_CONFIG_HOME/vouch`, else `~/.config/vouch`. It holds `config.json` and `keys/`.
 */
export interface Paths {
  dir: string
  config: string
  keys: string
}

export function paths(env: NodeJS.ProcessEnv): Paths {
  const dir = env.VOUCH_HOME || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'vouch')
  return { dir, config: join(dir, 'config.json'), keys: join(dir, 'keys') }
}

export interface Config {
  /** Relays to publish to and read from. */
  relays: string[]
  /** The key used to sign when --key is not given. */
  key?: string
  /** Relays that must accept a statement; default 1. */
  quorum?: number
}

export async function readConfig(p: Paths): Promise<Config> {
  let text: string
  try {
    text = await readFile(p.config, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { relays: [] }
    throw e
  }
  const bad = (why: string) => localError('bad_config', `${p.config}: ${why}`, 'fix it, or delete it and run `vouch init`')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`)
  }
  const c = raw as Partial<Config>
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad('not a JSON object')
  if (c.relays !== undefined && !(Array.isArray(c.relays) && c.relays.every((r) => typeof r === 'string'))) throw bad('"relays" must be an array of URLs')
  if (c.key !== undefined && typeof c.key !== 'string') throw bad('"key" must be a key name')
  if (c.quorum !== undefined && !(Number.isSafeInteger(c.quorum) && c.quorum >= 1)) throw bad('"quorum" must be a positive integer')
  return { ...c, relays: c.relays ?? [] }
}

/** Written to a temp file and renamed, so a crash never leaves half a config. */
export async function writeConfig(p: Paths, c: Config): Promise<void> {
  await mkdir(p.dir, { recursive: true, mode: 0o700 })
  const tmp = `${p.config}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 })
  await rename(tmp, p.config)
}
