import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { believeRelaySignature, distrustEquivocated, LogChecker, unwitnessedRelay, witnessBelief, type CheckpointStore, type KeptCheckpoint, type RequestOptions } from '../client/index.ts'
import type { Policy } from '../policy/index.ts'

/**
 * The checkpoints vouch keeps between commands, one small file per log: `<dir>/<origin>` (the
 * origin URI-encoded) holds `{verifierKey, note}`, the last signed checkpoint believed, and
 * `<dir>/relays/<relay URL>` names the log that relay served. A file is replaced whole (written
 * beside it, then renamed), so a crash leaves the old checkpoint or the new one, never half.
 */
export function fileCheckpointStore(dir: string): CheckpointStore {
  const file = (...parts: string[]) => join(dir, ...parts.slice(0, -1), encodeURIComponent(parts[parts.length - 1]!))
  const read = async (path: string): Promise<string | undefined> => {
    try {
      return await readFile(path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }
  const write = async (path: string, text: string) => {
    await mkdir(join(path, '..'), { recursive: true, mode: 0o700 })
    const tmp = `${path}.${process.pid}.tmp`
    await writeFile(tmp, text, { mode: 0o600 })
    await rename(tmp, path)
  }
  return {
    async checkpoint(origin) {
      const text = await read(file(origin))
      if (text === undefined) return undefined
      const j = JSON.parse(text) as Partial<KeptCheckpoint>
      // An unreadable file is kept as is and reported by the checker (it will not verify).
      return { verifierKey: typeof j.verifierKey === 'string' ? j.verifierKey : '', note: typeof j.note === 'string' ? j.note : '' }
    },
    keepCheckpoint: (origin, c) => write(file(origin), `${JSON.stringify({ verifierKey: c.verifierKey, note: c.note }, null, 2)}\n`),
    relayLog: async (relay) => (await read(file('relays', relay)))?.trim() || undefined,
    keepRelayLog: (relay, origin) => write(file('relays', relay), `${origin}\n`),
  }
}

/**
 * The log checker for one command, keeping checkpoints under `<config dir>/logs`. With a policy's
 * `logs` (docs/POLICY.md "Witnessed logs"), a relay's checkpoint is believed only with k witness
 * cosignatures, and a relay that publishes no log is not believed at all. With `distrust` (the
 * relays to ask), a relay whose log key has proven equivocation is not believed either, unless the
 * policy's `distrustForkedRelays` is false (docs/POLICY.md "Forked relays").
 */
export function logChecker(
  configDir: string,
  policy?: Pick<Policy, 'logs' | 'clockSkewMs'> & { distrustForkedRelays?: boolean; revocation?: Policy['revocation'] },
  distrust?: { relays: readonly string[] } & RequestOptions,
): LogChecker {
  const store = fileCheckpointStore(join(configDir, 'logs'))
  const l = policy?.logs
  let believe = l ? witnessBelief({ witnesses: l.witnesses.map((w) => w.key), k: l.k, maxAgeSeconds: l.maxAgeSeconds, clockSkewMs: policy.clockSkewMs }) : believeRelaySignature
  if (distrust && policy?.distrustForkedRelays !== false) believe = distrustEquivocated(distrust.relays, believe, distrust)
  const checker = new LogChecker({ store, believe, ...(l && { unlogged: unwitnessedRelay }) })
  // "witnessed" revocation needs each statement's leaf index per relay, to ask for its witnessed time (./witnessed-time.ts).
  if (policy?.revocation === 'witnessed') checker.keepEvidence()
  return checker
}
