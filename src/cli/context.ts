import type { ClientError, LogChecker, PublishResult, RelayReport, Signer, StatementFields } from '../client/index.ts'
import type { Policy } from '../policy/index.ts'
import type { VerifiedStatement } from '../verify/index.ts'
import type { GlobalValues } from './args.ts'
import { paths, readConfig, type Config, type Paths } from './config.ts'
import { CliError, EXIT, usageError } from './errors.ts'
import type { Output } from './output.ts'
import { terminalSafe } from './safe.ts'

// The client, the protocol and the key code are imported where a method needs them: every
// command builds a Context, and one that talks to no relay (`vouch hash`) should not load them.
const client = () => import('../client/index.ts')

type ContextValues = GlobalValues & { key?: string; agent?: boolean; quorum?: string }

/** What every command shares: where the config is, which relays, how to sign, how to print. */
export class Context {
  readonly paths: Paths
  private cached?: Config
  private checker?: LogChecker

  constructor(
    readonly command: string,
    readonly values: ContextValues,
    readonly env: NodeJS.ProcessEnv,
    readonly out: Output,
  ) {
    this.paths = paths(env)
  }

  async config(): Promise<Config> {
    return (this.cached ??= await readConfig(this.paths))
  }

  /** --relay flags, else VOUCH_RELAYS, else the config file. */
  async relays(): Promise<string[]> {
    const { list } = await this.relaySource()
    if (list.length === 0) {
      throw usageError('no relays to talk to', 'add one with `vouch relay add URL`, set VOUCH_RELAYS, or pass --relay URL')
    }
    return list
  }

  async relaySource(): Promise<{ list: string[]; source: 'flag' | 'env' | 'config' }> {
    const { relayBase } = await client()
    const parse = (urls: string[], where: string) =>
      urls.map((u) => {
        try {
          return relayBase(u)
        } catch (e) {
          throw usageError(`${where}: ${(e as Error).message}`, 'relay URLs look like https://relay.example.org')
        }
      })
    if (this.values.relay?.length) return { list: [...new Set(parse(this.values.relay, '--relay'))], source: 'flag' }
    const env = this.env.VOUCH_RELAYS?.trim()
    if (env) return { list: [...new Set(parse(env.split(/[\s,]+/), 'VOUCH_RELAYS'))], source: 'env' }
    return { list: parse((await this.config()).relays, this.paths.config), source: 'config' }
  }

  /**
   * The log checker every read a verdict rests on goes through (PROTOCOL §6.10), one per command,
   * so each relay's checkpoint is fetched and reconciled once. Kept under `<config dir>/logs`.
   * The policy's `logs` (witness cosignatures) applies: the `policy` a command judges with, else
   * the one `vouch verify` would use, when there is one, so `query` and `show` believe no relay
   * that `verify` would not. A relay with proven equivocation is distrusted (asked of every relay)
   * unless the policy says not to, or `distrust` is false (`report-fork` must still read it).
   */
  async logs(policy?: Policy, o: { distrust?: boolean } = {}): Promise<LogChecker> {
    if (this.checker) return this.checker
    const [{ logChecker }, p] = await Promise.all([import('./logs.ts'), policy ?? import('./verdict.ts').then((v) => v.policyIfAny(this))])
    const distrust = o.distrust === false ? undefined : { relays: await this.relays(), timeoutMs: this.timeoutMs }
    return (this.checker ??= logChecker(this.paths.dir, p, distrust))
  }

  get timeoutMs(): number {
    const t = this.values.timeout
    if (t === undefined) return 10_000
    if (!/^\d+(\.\d+)?$/.test(t) || Number(t) <= 0) throw usageError(`--timeout must be a number of seconds, got ${JSON.stringify(t)}`)
    return Number(t) * 1000
  }

  async keyName(): Promise<string> {
    return this.values.key ?? (await this.config()).key ?? 'default'
  }

  async signer(): Promise<Signer> {
    const { loadSigner } = await import('./keys.ts')
    return loadSigner(this.paths, this.env, await this.keyName(), { agent: this.values.agent === true, explicit: this.values.key !== undefined })
  }

  async quorum(relays: number): Promise<number> {
    const v = this.values.quorum
    const q = v === undefined ? ((await this.config()).quorum ?? 1) : /^[1-9]\d*$/.test(v) ? Number(v) : NaN
    if (!Number.isSafeInteger(q)) throw usageError(`--quorum must be a positive integer, got ${JSON.stringify(v)}`)
    if (q > relays) throw usageError(`--quorum ${q} is more than the ${relays} relay${relays === 1 ? '' : 's'} configured`)
    return q
  }

  /** Each relay that failed or lied becomes a warning; the command carries on. */
  warnRelays(reports: readonly RelayReport[]): void {
    for (const r of reports) if (r.problem) this.out.warn(r.problem.message.includes(r.relay) ? r.problem.message : `${r.relay}: ${r.problem.message}`)
  }

  /** Signs statements with the user's key; nothing is sent. */
  async signStatements(fields: Omit<StatementFields, 'actor'>[]): Promise<VerifiedStatement[]> {
    const [{ createStatement, sign }, { ProtocolError }] = await Promise.all([client(), import('../verify/index.ts')])
    const signer = await this.signer()
    const statements: VerifiedStatement[] = []
    for (const f of fields) {
      let unsigned
      try {
        unsigned = createStatement({ ...f, actor: signer.did })
      } catch (e) {
        if (e instanceof ProtocolError) throw usageError(`${e.message} (${e.code})`)
        throw e
      }
      statements.push(await sign(unsigned, signer))
    }
    return statements
  }

  /** Signs statements with the user's key and posts them to the relays (quorum applies). */
  async publishStatements(fields: Omit<StatementFields, 'actor'>[]): Promise<{ result: PublishResult; statements: VerifiedStatement[]; relays: string[] }> {
    const relays = await this.relays()
    const quorum = await this.quorum(relays.length)
    const statements = await this.signStatements(fields)
    const { ClientError, publish } = await client()
    try {
      const result = await publish(relays, statements, { quorum, timeoutMs: this.timeoutMs })
      this.warnRelays(result.relays)
      return { result, statements, relays }
    } catch (e) {
      if (!(e instanceof ClientError)) throw e
      this.warnRelays(e.reports)
      const landed = e.reports.filter((r) => r.ok).map((r) => r.relay)
      if (e.code !== 'quorum' || landed.length === 0) throw e
      // Below the quorum is not nowhere: the statement is public on these relays, and gossip spreads it.
      throw new CliError(EXIT.network, 'quorum', `${e.message}; it landed on ${landed.join(', ')}`, 'it is public there already; run the same command again when the other relays are back (the same claim is signed anew), or lower --quorum', { cause: e })
    }
  }
}

/** Maps a client failure to the exit code its cause deserves. */
export function fromClientError(e: ClientError): CliError {
  const exit = { unreachable: EXIT.network, quorum: EXIT.network, rejected: EXIT.verification, mismatch: EXIT.verification, not_found: EXIT.notFound, fork: EXIT.fork }[e.code]
  const hint = {
    unreachable: 'check the relay URLs (`vouch relay list`) and your connection; --timeout raises the limit',
    quorum: 'lower --quorum, or run the command again when the relays are back',
    rejected: 'the relays refuse statements that fail their checks; is your clock right?',
    mismatch: 'a relay served data that does not verify; nothing was kept. Try other relays with --relay',
    not_found: undefined,
    fork: 'the relay showed two histories; the two signed checkpoints above are the proof (--json: error.fork). Stop trusting it and tell its operator; the kept checkpoint was not replaced. `vouch report-fork RELAY` publishes the proof for every client to see',
  }[e.code]
  // One line, whatever a relay put in its error message (output escapes the rest); a fork's message
  // is the two signed notes, whose lines are the proof, so it keeps them.
  return new CliError(exit, e.code, terminalSafe(e.message, e.code === 'fork'), hint, { cause: e })
}

/**
 * Of the relays that answered but not in the protocol (an HTTP error, an answer that is not JSON), those
 * that are not vouch relays at all, asked at `/.well-known/vouch`: their messages, or none.
 */
export async function strangers(reports: readonly RelayReport[]): Promise<string[]> {
  // A relay that served verifiable data that failed (a bad signature, wrong bytes) is a liar, which
  // matters more; only answers that were not the protocol's at all raise the question.
  const odd = reports.filter((r) => r.problem && (r.problem.kind === 'http' || r.problem.code === 'malformed_answer' || r.problem.code === 'bad_answer')).map((r) => r.relay)
  if (odd.length === 0) return []
  const { relayInfo } = await client()
  const infos = await relayInfo(odd, { timeoutMs: 5_000 }).catch(() => [])
  return infos.filter((i) => i.problem?.code === 'not_a_relay').map((i) => terminalSafe(i.problem!.message))
}
