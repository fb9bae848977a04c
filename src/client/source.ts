import type { RequestOptions } from './http.ts'
import type { LogChecker } from './log.ts'
import { query, type Filter, type QueriedStatement, type QueryReport } from './query.ts'

/**
 * The relays as a statement source for the policy's gatherer (src/policy/gather.ts):
 * `gatherForVerdict(querySource(relays).read, subject, policy)`. The shape matches the policy's
 * `StatementSource` by structure, so the client does not import the policy.
 */
export interface QuerySource {
  /** `limit` statements at most from each relay, verified and merged; `truncated` when a relay had more. Needs no `this`, so it can be passed on alone. */
  read: (filter: Filter, limit: number) => Promise<{ statements: QueriedStatement[]; truncated: boolean }>
  /** Relays that failed or lied during some read, one report per relay and problem, for warnings. */
  problems: () => QueryReport[]
}

/** Each read is one `query` to every relay; throws ClientError (from `query`) when no relay answers. */
export function querySource(relays: readonly string[], o: RequestOptions & { log?: LogChecker } = {}): QuerySource {
  const problems = new Map<string, QueryReport>()
  return {
    async read(filter, limit) {
      const r = await query(relays, filter, { limit, timeoutMs: o.timeoutMs, signal: o.signal, fetch: o.fetch, log: o.log })
      for (const rep of r.relays) if (rep.problem) problems.set(`${rep.relay}\n${rep.problem.message}`, rep)
      return { statements: r.statements, truncated: r.relays.some((x) => x.truncated) }
    },
    problems: () => [...problems.values()],
  }
}
