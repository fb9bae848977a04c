/**
 * Runs the POST handler's stages (bench/lib/stages.ts) inside workerd, so the ingest benchmark
 * can attribute the relay's CPU per statement with the runtime's own V8 and BoringSSL, and times
 * the relay's own `insertStatements` against a local D1 in the same process, as in the relay.
 * The benchmark reads this process's CPU time around each /run request.
 *
 *   POST /load                 body: a JSON array of statements (one batch)
 *   POST /run?stage=i&reps=r   runs stage i r times over the batch
 *   POST /d1/prepare?reps=r&size=k
 *                              makes r copies of the first k statements of the batch (default all)
 *                              with fresh ids and subjects
 *   POST /d1/run               inserts them, one insertStatements call per copy
 */
import { insertStatements } from '../../src/store/statements.ts'
import type { VerifiedStatement } from '../../src/verify/index.ts'
import { prepareBatch, type Stage } from './stages.ts'

interface StageEnv {
  DB: D1Database
}

let stages: Stage[] | undefined
let verified: VerifiedStatement[] = []
let copies: VerifiedStatement[][] = []

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } })

export default {
  async fetch(request: Request, env: StageEnv): Promise<Response> {
    const url = new URL(request.url)
    const reps = Number(url.searchParams.get('reps') ?? 1)
    if (request.method === 'POST' && url.pathname === '/load') {
      ;({ stages, verified } = await prepareBatch(await request.text()))
      return json({ stages: stages.length, statements: verified.length })
    }
    if (!stages) return json({ error: 'POST /load first' }, 409)
    if (request.method === 'POST' && url.pathname === '/run') {
      const stage = stages[Number(url.searchParams.get('stage'))]
      if (!stage) return json({ error: 'no such stage' }, 404)
      for (let r = 0; r < reps; r++) await stage.run()
      return json({ statements: verified.length * reps })
    }
    if (request.method === 'POST' && url.pathname === '/d1/prepare') {
      const size = Number(url.searchParams.get('size') ?? verified.length)
      copies = Array.from({ length: reps }, () => {
        const tag = `~${crypto.randomUUID()}`
        return verified.slice(0, size).map((v) => ({ ...v, id: v.id + tag, statement: { ...v.statement, subject: v.statement.subject + tag } }))
      })
      return json({ copies: copies.length })
    }
    if (request.method === 'POST' && url.pathname === '/d1/run') {
      let fresh = 0
      for (const copy of copies) fresh += (await insertStatements(env.DB, copy)).size
      const statements = copies.reduce((n, c) => n + c.length, 0)
      copies = []
      if (fresh !== statements) return json({ error: `only ${fresh} of ${statements} rows were new` }, 500)
      return json({ statements })
    }
    return json({ ok: true })
  },
} satisfies ExportedHandler<StageEnv>
