import { Hono } from 'hono'
import type { RelayConfig, RelayEnv } from './config.ts'

/** Every route sees the raw bindings and, set by one middleware in index.ts, the parsed config. */
export type AppEnv = {
  Bindings: RelayEnv
  Variables: {
    config: RelayConfig
    /** The did:key of the configured peer relay that signed this request (src/http/peer-auth.ts), else undefined. */
    peer: string | undefined
  }
}
export const createRouter = () => new Hono<AppEnv>()
