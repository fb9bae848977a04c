import { Hono } from 'hono'
import type { VerifiedStatement } from './verify/index.ts'

/** Hooks the relay core calls; gossip plugs in here without the routes knowing it. */
export interface RelayHooks {
  /** Called (inside waitUntil) with the statements that were new to this relay. */
  accepted?: (env: Env, fresh: VerifiedStatement[], from: string | undefined) => Promise<void>
}

export type AppEnv = { Bindings: Env; Variables: { hooks: RelayHooks } }
export const createRouter = () => new Hono<AppEnv>()
