import { EXIT, usageError } from './errors.ts'
import { explain, report, runCommand } from './dispatch.ts'
import type { Command, Options } from './args.ts'
import { SOFTWARE } from '../version.ts'

/**
 * `vouch`: the command-line client. This module is what `vouch --help` loads, so it stays
 * small: the command table names each command and how to load it, and nothing else is imported
 * until a command runs (startup target < 150 ms; bench/client.ts measures it).
 */


type Loader = () => Promise<{ default: Command<Options> }>
const COMMANDS: Record<string, { summary: string; load: Loader }> = {
  init: { summary: 'create your signing key and config', load: () => import('./commands/init.ts') },
  key: { summary: 'manage signing keys: new, list, show, export, import', load: () => import('./commands/key.ts') },
  relay: { summary: 'manage the relays you talk to: add, remove, list', load: () => import('./commands/relay.ts') },
  hash: { summary: 'hash a file (its bytes) or a directory (its NAR)', load: () => import('./commands/hash.ts') },
  publish: { summary: 'publish NAME@VERSION as the content at PATH, and upload it', load: () => import('./commands/publish.ts') },
  claim: { summary: 'sign and publish any claim', load: () => import('./commands/claim.ts') },
  build: { summary: 'attest that building a source produced an output', load: () => import('./commands/build.ts') },
  review: { summary: 'publish your review verdict on a hash', load: () => import('./commands/review.ts') },
  author: { summary: 'name (add) or withdraw (remove) an author of a package', load: () => import('./commands/author.ts') },
  yank: { summary: 'withdraw a version: NAME@VERSION is NOT HASH', load: () => import('./commands/yank.ts') },
  'report-fork': { summary: "publish proof that a relay's log forked", load: () => import('./commands/report-fork.ts') },
  revoke: { summary: "revoke a key's authorship of a package", load: () => import('./commands/revoke.ts') },
  'trust-builder': { summary: 'declare a key a trusted builder', load: () => import('./commands/trust-builder.ts') },
  show: { summary: 'show one statement by id, verified', load: () => import('./commands/show.ts') },
  query: { summary: 'find statements by subject, claim, object, actor; verified and merged', load: () => import('./commands/query.ts') },
  fetch: { summary: 'download content by hash or NAME@VERSION, verified, written atomically', load: () => import('./commands/fetch.ts') },
  verify: { summary: 'decide whether to trust NAME@VERSION under your policy, and say why', load: () => import('./commands/verify.ts') },
  check: { summary: 'judge every package a lockfile pins (package-lock.json, flake.lock) under your policy', load: () => import('./commands/check.ts') },
  bundle: { summary: 'write the statements `vouch check` needs for a lockfile to a file, for checking offline', load: () => import('./commands/bundle.ts') },
  policy: { summary: 'write a starter trust policy (init), or show the one in use', load: () => import('./commands/policy.ts') },
  bridge: { summary: 'publish what npm, a Nix binary cache, a git repository or an OCI image layout says, as your (bridge) key', load: () => import('./commands/bridge.ts') },
  import: { summary: 'import an in-toto/SLSA attestation (DSSE) as claims of your key', load: () => import('./commands/import.ts') },
  export: { summary: 'write a statement as an in-toto attestation (DSSE) signed by your key', load: () => import('./commands/export.ts') },
}

const HELP = `vouch ${SOFTWARE.version}: publish, fetch and verify signed statements about software

Usage: vouch <command> [arguments] [options]

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(14)}${c.summary}`)
  .join('\n')}

Options for every command:
  --json           print one JSON document on stdout instead of text
  -h, --help       help for vouch or for a command (\`vouch publish --help\`)
Options for every command that talks to relays (all but hash, key, policy):
  --relay URL      talk to this relay (repeatable); overrides VOUCH_RELAYS and the config
  --timeout SECS   network timeout per request (default 10)
Trust policy (verify, check, fetch --policy, policy show): --policy FILE, else
  .vouch/policy.json here or in a parent directory, else <config dir>/policy.json

Getting started:
  vouch init --relay https://relay.example.org
  vouch publish mylib@1.2.3 ./mylib
  vouch fetch mylib@1.2.3 -o ./mylib-1.2.3

Environment:
  VOUCH_HOME     config directory (default $XDG_CONFIG_HOME/vouch or ~/.config/vouch)
  VOUCH_RELAYS   relays to use instead of the config (space or comma separated)
  SSH_AUTH_SOCK  the ssh-agent used with --agent

Exit codes:
  0 ok, 1 verification failed (bad signature, hash mismatch, statement refused),
  2 usage, 3 network (no relay reachable, quorum not met), 4 not found,
  5 local problem (key permissions, config, files),
  6 a relay's log forked or rewound (both signed checkpoints are printed), 70 internal error`

/** Global options that take a value, so `vouch --relay URL publish …` finds the command. */
const VALUE_FLAGS = new Set(['--relay', '--timeout', '--key', '--quorum', '-o', '--output', '--policy', '--build'])

function splitCommand(argv: string[]): { name?: string; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') break
    if (VALUE_FLAGS.has(a)) i++
    else if (!a.startsWith('-')) return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] }
  }
  return { rest: argv }
}


export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const json = argv.includes('--json')
  try {
    const { name, rest } = splitCommand(argv)
    if (name === undefined) {
      if (rest.includes('--version') || rest.includes('-V')) {
        process.stdout.write(json ? `${JSON.stringify({ version: SOFTWARE.version })}\n` : `vouch ${SOFTWARE.version}\n`)
        return EXIT.ok
      }
      if (rest.length && !rest.every((a) => a === '--help' || a === '-h' || a === '--json')) throw usageError(`unknown option ${rest.find((a) => a !== '--json')}`, 'run `vouch --help`')
      process.stdout.write(`${HELP}\n`)
      return EXIT.ok
    }
    if (name === 'version') {
      process.stdout.write(json ? `${JSON.stringify({ version: SOFTWARE.version })}\n` : `vouch ${SOFTWARE.version}\n`)
      return EXIT.ok
    }
    if (name === 'help') {
      // `vouch help CMD` is `vouch CMD --help`; `vouch help` is `vouch --help`.
      const topic = rest.find((a) => !a.startsWith('-'))
      return topic === undefined ? main(['--help'], env) : main([topic, '--help'], env)
    }
    const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
    if (!entry) {
      const { closest } = await import('./args.ts')
      const near = closest(name, Object.keys(COMMANDS))
      throw usageError(`unknown command ${JSON.stringify(name)}`, near ? `did you mean \`vouch ${near}\`?` : 'run `vouch --help` for the commands')
    }
    return await runCommand(name, (await entry.load()).default, rest, env)
  } catch (e) {
    return report(await explain(e), json)
  }
}
