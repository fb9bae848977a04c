import { Hono } from 'hono'
import type { RelayConfig, RelayEnv } from './config.ts'

/**
 * Every route sees the raw bindings and, set by middleware in index.ts, the parsed config and
 * `peer`: the did:key of a configured peer relay whose request signature checked out (RFC 9421),
 * else undefined (an anonymous client).
 */
export type AppEnv = { Bindings: RelayEnv; Variables: { config: RelayConfig; peer: string | undefined } }
export const createRouter = () => new Hono<AppEnv>()
