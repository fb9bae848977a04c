import type { RelayReport } from '../client/index.ts'
import { BridgeError } from '../bridges/index.ts'
import type { Context } from './context.ts'
import { CliError, EXIT } from './errors.ts'

/**
 * Runs a bridge step and turns its refusal into the exit code it deserves: the source unreachable
 * is a network failure (3), a missing package or path is not-found (4), a malformed document or a
 * signature that does not verify is a verification failure (1), and a request the bridge does
 * not support (a bad key, a predicate type) is a usage error (2).
 */
export async function bridging<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (e) {
    if (!(e instanceof BridgeError)) throw e
    const exit = { network: EXIT.network, not_found: EXIT.notFound, malformed: EXIT.verification, verification: EXIT.verification, unsupported: EXIT.usage }[e.kind]
    const hint = {
      network: 'check the URL and your connection; --timeout raises the limit',
      not_found: undefined,
      malformed: 'nothing was published: the source sent something the bridge cannot vouch for',
      verification: 'nothing was published: check that you named the right key',
      unsupported: undefined,
    }[e.kind]
    throw new CliError(exit, e.code, e.message, hint, { cause: e })
  }
}

/** The bridge's signing context: relays, quorum and signer, checked before any network work. */
export async function bridgeOptions(ctx: Context, dryRun: boolean) {
  const relays = await ctx.relays()
  const quorum = await ctx.quorum(relays.length)
  const signer = await ctx.signer()
  return { relays, quorum, signer, timeoutMs: ctx.timeoutMs, dryRun }
}

export function relaysLine(reports: readonly RelayReport[], dryRun: boolean, signed: number): string {
  if (dryRun) return `dry run: ${signed} statement${signed === 1 ? '' : 's'} signed, none published`
  if (signed === 0) return 'nothing new to publish'
  return `${reports.filter((r) => r.ok).length} of ${reports.length} took the ${signed} statement${signed === 1 ? '' : 's'}`
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
