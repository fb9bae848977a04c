import { Hono } from 'hono'

export type AppEnv = { Bindings: Env }
export const createRouter = () => new Hono<AppEnv>()
