/**
 * Baseline for the hostile-input benchmark: the least a Worker could do with a JSON body, read
 * it and `JSON.parse` it, and the same read with the relay's strict `parseJson`. Used only by
 * bench/hostile.ts (config: bench/parse-worker.toml), which measures this process's CPU around
 * the requests.
 *
 *   POST /parse?parser=json|strict&reps=n
 *          reads the body as text and parses it n times (default 1); a parse error is an
 *          answer, not a failure. Answers {parser, reps, ok}.
 */
import { LIMITS, parseJson } from '../src/verify/index.ts'

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } })

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    if (request.method !== 'POST' || url.pathname !== '/parse') return json({ ok: true })
    const parser = url.searchParams.get('parser')
    const reps = Number(url.searchParams.get('reps') ?? 1)
    if ((parser !== 'json' && parser !== 'strict') || !Number.isSafeInteger(reps) || reps < 1) return json({ error: 'parser=json|strict&reps=n' }, 400)
    const text = await request.text()
    let ok = true
    for (let r = 0; r < reps; r++) {
      try {
        if (parser === 'json') JSON.parse(text)
        else parseJson(text, { maxDepth: LIMITS.bodyDepth })
      } catch {
        ok = false
      }
    }
    return json({ parser, reps, ok })
  },
} satisfies ExportedHandler
