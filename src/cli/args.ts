import { parseArgs } from 'node:util'
import { usageError } from './errors.ts'

/** Option tables drive both parsing and `--help`. */
export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  multiple?: boolean
  /** Placeholder shown in help, e.g. URL. */
  value?: string
  /** A string option that may also stand alone (`--policy` then `-o OUT`, or last): it is then ''. */
  optionalValue?: boolean
  description: string
}
export type Options = Record<string, OptionSpec>
export type Values<O extends Options> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string
}

/** Accepted by every command. */
const GLOBAL_OPTIONS = {
  json: { type: 'boolean', description: 'print one JSON document on stdout instead of text' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Options

/** Accepted by every command that talks to relays (all but those marked `offline`). */
const NETWORK_OPTIONS = {
  relay: { type: 'string', multiple: true, value: 'URL', description: 'talk to this relay (repeatable); overrides VOUCH_RELAYS and the config' },
  timeout: { type: 'string', value: 'SECONDS', description: 'network timeout per request, or per stalled transfer (default 10)' },
} as const satisfies Options

/** The one way every command names its trust policy (src/cli/verdict.ts findPolicy). */
export const POLICY_OPTION = {
  policy: {
    type: 'string',
    value: '[FILE]',
    optionalValue: true,
    description: 'the trust policy; `--policy` alone: your own (<config dir>/policy.json); default: .vouch/policy.json here or in a parent, else your own',
  },
} as const satisfies Options

/** Accepted by commands that sign and publish statements. */
export const SIGNING_OPTIONS = {
  key: { type: 'string', value: 'NAME', description: 'sign with this key (default: the one `vouch key list` marks)' },
  agent: { type: 'boolean', description: 'sign through the running ssh-agent (SSH_AUTH_SOCK)' },
  quorum: { type: 'string', value: 'N', description: 'relays that must accept the statement (default 1)' },
} as const satisfies Options

export type GlobalValues = Values<typeof GLOBAL_OPTIONS> & Values<typeof NETWORK_OPTIONS>

export interface CommandSpec<O extends Options> {
  /** Usage lines without the leading `vouch `. */
  usage: string[]
  summary: string
  /** Paragraphs after the usage. */
  description?: string
  options: O
  /** Positional arguments accepted: [min, max]. */
  args: [number, number]
  /** `command   # comment` lines. */
  examples: string[]
  /** Never talks to a relay: --relay and --timeout are neither listed nor accepted. */
  offline?: boolean
}

export interface Command<O extends Options = Options> extends CommandSpec<O> {
  run(ctx: import('./context.ts').Context, values: Values<O> & GlobalValues, positionals: string[]): Promise<void>
}

export const defineCommand = <O extends Options>(c: Command<O>): Command<O> => c

const optionsOf = (c: CommandSpec<Options>): Options => ({ ...c.options, ...(c.offline ? {} : NETWORK_OPTIONS), ...GLOBAL_OPTIONS })

/** `--policy` standing alone (last, or before another option) becomes `--policy=`. */
function fillOptionalValues(argv: readonly string[], options: Options): string[] {
  return argv.map((a, i) => {
    const spec = a.startsWith('--') ? options[a.slice(2)] : undefined
    if (!spec?.optionalValue) return a
    const next = argv[i + 1]
    return next === undefined || (next.startsWith('-') && next !== '-') ? `${a}=` : a
  })
}

export function parse<O extends Options>(name: string, command: CommandSpec<O>, argv: string[]) {
  const options = optionsOf(command)
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: fillOptionalValues(argv, options), options, allowPositionals: true, strict: true })
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option')
    const typo = /^unknown option '--([^'=]+)/.exec(msg)?.[1]
    const near = typo === undefined ? undefined : closest(typo, Object.keys(options))
    throw usageError(msg, near ? `did you mean \`--${near}\`? (\`vouch ${name} --help\` lists the options)` : `run \`vouch ${name} --help\` for the options`)
  }
  const values = parsed.values as Values<O> & GlobalValues
  if (values.help) return { values, positionals: parsed.positionals }
  const [min, max] = command.args
  const n = parsed.positionals.length
  if (n < min) throw usageError(`missing argument${min - n > 1 ? 's' : ''}: vouch ${command.usage[0]}`, `run \`vouch ${name} --help\` for examples`)
  if (n > max) throw usageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`, `usage: vouch ${command.usage[0]}`)
  return { values, positionals: parsed.positionals }
}

/** The candidate within two edits of `word` (Levenshtein), for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
    for (let j = 1; j <= b.length; j++) d[0]![j] = j
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    return d[a.length]![b.length]!
  }
  let best: string | undefined
  let bestD = 3
  for (const c of candidates) {
    const d = dist(c, word)
    if (d < bestD) (best = c), (bestD = d)
  }
  return best
}

export function helpText(name: string, c: CommandSpec<Options>): string {
  const opts = optionsOf(c)
  const rows = Object.entries(opts).map(([k, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${k}${o.value ? ` ${o.value}` : ''}`, o.description] as const)
  const w = Math.max(...rows.map(([l]) => l.length))
  return [
    `${c.summary}`,
    '',
    'Usage:',
    ...c.usage.map((u) => `  vouch ${u}`),
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    ...rows.map(([l, d]) => `  ${l.padEnd(w)}  ${d}`),
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
    `Exit codes: 0 ok, 1 verification failed, 2 usage, 3 network, 4 not found, 5 local problem, 6 a relay's log forked (\`vouch --help\`).`,
  ].join('\n')
}

export function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^[1-9]\d{0,8}$/.test(v)) throw usageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`)
  return Number(v)
}
