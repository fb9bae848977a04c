/** The checkpoints a client keeps per log between commands (PROTOCOL §6.10). */

/** What is kept per log between runs: the last checkpoint believed, and the key it was signed with. */
export interface KeptCheckpoint {
  verifierKey: string
  note: string
}

/**
 * Where checkpoints are kept between commands (the CLI: files under `$VOUCH_HOME/logs`). `relay`
 * remembers which log a relay URL served, so a relay that once had a log cannot drop it unnoticed.
 */
export interface CheckpointStore {
  checkpoint(origin: string): Promise<KeptCheckpoint | undefined>
  keepCheckpoint(origin: string, c: KeptCheckpoint): Promise<void>
  relayLog(relay: string): Promise<string | undefined>
  keepRelayLog(relay: string, origin: string): Promise<void>
}

/** A store that forgets at exit: for a library user who keeps nothing, and for tests. */
export function memoryCheckpointStore(): CheckpointStore {
  const cps = new Map<string, KeptCheckpoint>()
  const relays = new Map<string, string>()
  return {
    checkpoint: async (o) => cps.get(o),
    keepCheckpoint: async (o, c) => void cps.set(o, c),
    relayLog: async (r) => relays.get(r),
    keepRelayLog: async (r, o) => void relays.set(r, o),
  }
}
