/**
 * The relay (src/index.ts) with its D1 binding wrapped to count the rows every query reads and
 * writes, served at GET /__bench/d1: how `npm run bench -- catchup` reads what a mirror's
 * catch-up costs the source relay in billed D1 rows. Nothing else differs from the relay.
 */
import relay from '../src/index.ts'
import type { RelayEnv } from '../src/config.ts'
import { countingD1 } from './lib/d1-counting.ts'

const counters: { read: number; written: number }[] = []
const wrapped = new WeakMap<object, RelayEnv>()

/** One wrapped env per env object, so the relay's per-env caches (checkpoint, config) still hit. */
function wrap(env: RelayEnv): RelayEnv {
  let w = wrapped.get(env)
  if (!w) {
    const c = countingD1(env.DB)
    counters.push(c.n)
    w = { ...env, DB: c.db }
    wrapped.set(env, w)
  }
  return w
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/d1') {
      const sum = counters.reduce((s, n) => ({ read: s.read + n.read, written: s.written + n.written }), { read: 0, written: 0 })
      return Response.json(sum)
    }
    return relay.fetch(request, wrap(env), ctx)
  },
  scheduled(controller, env, ctx) {
    return relay.scheduled(controller, wrap(env), ctx)
  },
} satisfies ExportedHandler<RelayEnv>
