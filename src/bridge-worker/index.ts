import { CHECKPOINT_KEY, REPORT_KEY, runBridge, type BridgeEnv } from './run.ts'

/** The bridge Worker's entry: the cron runs the bridge (run.ts); GET / shows its checkpoint. */
export default {
  async scheduled(_controller, env) {
    await runBridge(env)
  },
  /** GET / answers the checkpoint and the last run's report; nothing else is served. */
  async fetch(req, env) {
    if (req.method !== 'GET' || new URL(req.url).pathname !== '/') return Response.json({ error: { code: 'not_found', message: 'GET / only' } }, { status: 404 })
    const [checkpoint, lastRun] = await Promise.all([env.BRIDGE_STATE.get(CHECKPOINT_KEY, 'json'), env.BRIDGE_STATE.get(REPORT_KEY, 'json')])
    return Response.json({ checkpoint, lastRun }, { headers: { 'x-content-type-options': 'nosniff' } })
  },
} satisfies ExportedHandler<BridgeEnv>
