/**
 * Secrets are not in wrangler.toml (and so not in the generated `Env`): set them with
 * `wrangler secret put ADMIN_TOKEN`, or in `.dev.vars` locally.
 */
export interface Secrets {
  /** Bearer token for /v1/admin/*; admin endpoints are off when unset. */
  ADMIN_TOKEN?: string
}

/** Optional configuration (wrangler.toml [vars] or `--var`). */
export interface Options {
  /** Peer relay base URLs, separated by spaces or commas. */
  PEERS?: string
  /** This relay's public base URL, as its peers know it. */
  RELAY_URL?: string
  /** "true" permits peers on loopback and private addresses (local multi-relay development). */
  ALLOW_PRIVATE_PEERS?: string
  MAX_FUTURE_SKEW_MS?: string
  /** Timeout of each request to a peer, in ms (default 10000). */
  PEER_TIMEOUT_MS?: string
}

export type RelayEnv = Omit<Env, keyof Options> & Secrets & Options
