import type { Command, Options } from './args.ts'
import { CliError, EXIT } from './errors.ts'

/**
 * Running one command once it is known, and turning a failure into its message and exit code.
 * Apart from index.ts (the command table) so that `vouch hash` can be bundled on its own
 * (hash-main.ts, dist/hash.cjs) with the same parsing, output and errors as every command.
 */

/** Parses `rest` for `command`, prints its help or runs it; returns the exit code. Throws what the command throws. */
export async function runCommand(name: string, command: Command<Options>, rest: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { parse, helpText } = await import('./args.ts')
  const { values, positionals } = parse(name, command, rest)
  if (values.help) {
    process.stdout.write(`${helpText(name, command)}\n`)
    return EXIT.ok
  }
  const [{ Context }, { Output }] = await Promise.all([import('./context.ts'), import('./output.ts')])
  const ctx = new Context(name, values, env, new Output(values.json === true))
  await command.run(ctx, values, positionals)
  return process.exitCode !== undefined ? Number(process.exitCode) : EXIT.ok
}

/** Turns any failure into a CliError; what is not one of ours is a bug and says so. */
export async function explain(e: unknown): Promise<CliError> {
  if (e instanceof CliError) return e
  const name = (e as Error)?.name
  if (name === 'ClientError') {
    const { fromClientError, strangers } = await import('./context.ts')
    const ce = e as import('../client/index.ts').ClientError
    const odd = await strangers(ce.reports)
    // "not found" or "failed verification" from a URL that is no relay at all hides the real mistake.
    if (odd.length) return new CliError(EXIT.usage, 'not_a_relay', `${odd.join('; ')}`, 'check the URL (`vouch relay list`); a vouch relay answers /.well-known/vouch', { cause: e })
    return fromClientError(ce)
  }
  if (name === 'NarFileError') return new CliError(EXIT.local, 'bad_path', (e as Error).message)
  if (name === 'ProtocolError') return new CliError(EXIT.usage, (e as { code: string }).code, (e as Error).message)
  const errno = e as NodeJS.ErrnoException
  if (typeof errno?.code === 'string' && typeof errno.syscall === 'string') {
    const why = { ENOENT: 'does not exist', EACCES: 'permission denied', EPERM: 'operation not permitted', EEXIST: 'already exists', ENOSPC: 'no space left on the device', EISDIR: 'is a directory', ENOTDIR: 'is not a directory', ENOTEMPTY: 'is not empty' }[errno.code]
    return new CliError(EXIT.local, errno.code.toLowerCase(), why && errno.path ? `${errno.path}: ${why}` : errno.message)
  }
  const err = new CliError(EXIT.internal, 'internal', `internal error: ${(e as Error)?.message ?? String(e)}`, 'this is a bug in vouch; rerun with VOUCH_DEBUG=1 for details and report it')
  if (process.env.VOUCH_DEBUG) console.error(e)
  return err
}

export async function report(e: CliError, json: boolean): Promise<number> {
  const { terminalSafe, jsonSafe } = await import('./safe.ts')
  process.stderr.write(`vouch: ${terminalSafe(e.message, true)}\n${e.hint ? `hint: ${terminalSafe(e.hint, true)}\n` : ''}`)
  // Per-relay reports, when a client failure caused this: a script must see which relay said what.
  const reports = (e.cause as { reports?: unknown } | undefined)?.reports
  // A forked log's two signed checkpoints, verbatim, for whoever the evidence goes to.
  const fork = (e.cause as { evidence?: unknown } | undefined)?.evidence
  if (json) process.stdout.write(`${jsonSafe(JSON.stringify({ error: { code: e.code, message: e.message, exit: e.exit, hint: e.hint ?? null, ...(Array.isArray(reports) && { relays: reports }), ...(fork !== undefined && { fork }) } }, null, 2))}\n`)
  return e.exit
}
