import { constants } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { ensurePolicy, type PolicyInput } from '../../policy/index.ts'
import { defineCommand, POLICY_OPTION } from '../args.ts'
import { localError, usageError } from '../errors.ts'
import { readKey } from '../keys.ts'
import { fields } from '../output.ts'
import { did } from '../terms.ts'
import { loadPolicy, policyPath } from '../verdict.ts'

export default defineCommand({
  usage: ['policy init [--trust DID …] [--builds-required] [-o FILE] [--force]', 'policy show [--policy FILE]'],
  summary: 'Write a starter trust policy, or show the one in use',
  description: `A trust policy is a JSON file (// comments allowed) that says whom you believe; \`vouch verify\`
and \`vouch fetch --policy\` apply it. docs/POLICY.md states every rule. The fields:

  version              1
  trust.keys           did:keys you trust directly (your roots)
  trust.aliases        [{"aliases": ["dns:example.org", "github:alice"], "require": 2}]: a key that
                       claims and proves "require" of these names is a root too
  sources.rootsMayPublish  roots' own source claims count for any package (default true)
  sources.authorDepth  1: keys a root names an author of the package may publish it;
                       2 (default): also keys those authors name
  builds.required      a trusted build output is needed for "trusted" (default false)
  builds.agree         distinct trusted builders that must claim the same output (default 1)
  builds.builderDepth  1 (default): keys a root names a trusted builder (\`vouch trust-builder\`)
  reviews.required     passing reviews needed (default 0); reviews.from: "roots" or [did:key…]
  bridges              [{"key": "did:key:…", "ecosystems": ["npm"]}]: bridge keys you believe
  revocation           "from-time" (default: a revoked key's claims dated before it still count),
                       "all", or "witnessed": only claims in a checkpoint k of the logs witnesses
                       cosigned before the revocation count (a thief can back-date, not that)
  clockSkewMs          statements dated later than now + this are ignored (default 300000)
  logs                 {"witnesses": [{"key": "<name>+<id>+<base64>"}], "k": 1}: believe a relay's
                       log only when k of these witnesses cosigned its checkpoint (optional)
  distrustForkedRelays  drop the answers of a relay whose log key has a proven log-equivocation
                       claim on any of your relays (default true)

  init   writes <config dir>/policy.json (or -o FILE), trusting your own key and any --trust
         keys, with every other field at its default. It never overwrites without --force.
  show   checks a policy and prints it with the defaults filled in.`,
  options: {
    trust: { type: 'string', multiple: true, value: 'DID', description: 'init: also trust this key directly (repeatable)' },
    'builds-required': { type: 'boolean', description: 'init: require a trusted build output for "trusted"' },
    key: { type: 'string', value: 'NAME', description: 'init: the key of yours to trust (default: your default key)' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'init: write here (default <config dir>/policy.json)' },
    force: { type: 'boolean', description: 'init: overwrite an existing file' },
    ...POLICY_OPTION,
  },
  args: [1, 1],
  offline: true,
  examples: [
    'vouch policy init                                  # trust your own key',
    'vouch policy init --trust did:key:z6Mk…            # and a colleague\'s',
    'vouch policy show --json | jq .trust.keys',
  ],
  async run(ctx, values, [sub]) {
    if (sub === 'show') {
      for (const o of ['trust', 'builds-required', 'key', 'output', 'force'] as const) if (values[o] !== undefined) throw usageError(`--${o} is for \`vouch policy init\``)
      const { policy, path } = await loadPolicy(ctx, values.policy)
      ctx.out.result([`# ${path}`, JSON.stringify(policy, null, 2)], { path, policy })
      return
    }
    if (sub !== 'init') throw usageError(`unknown subcommand ${JSON.stringify(sub)}`, 'use `vouch policy init` or `vouch policy show`')
    if (values.policy !== undefined) throw usageError('--policy is for `vouch policy show`; init writes to -o FILE')
    const me = await readKey(ctx.paths, values.key ?? (await ctx.keyName())).catch((e: Error & { code?: string }) => {
      if (e.code === 'no_key' && values.key === undefined) throw localError('no_key', 'you have no key to trust yet', '`vouch init` creates one')
      throw e
    })
    const keys = [...new Set([me.did, ...(values.trust ?? []).map((d) => did(d, '--trust'))])]
    const input: PolicyInput = { version: 1, trust: { keys }, ...(values['builds-required'] && { builds: { required: true } }) }
    const policy = ensurePolicy(input)
    const path = resolve(values.output ?? policyPath(ctx))
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const flags = constants.O_WRONLY | constants.O_CREAT | (values.force ? constants.O_TRUNC : constants.O_EXCL)
    const fh = await open(path, flags, 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw localError('exists', `${path} already exists`, '`vouch policy show` prints it; --force replaces it')
      throw e
    })
    try {
      await fh.writeFile(`${JSON.stringify(policy, null, 2)}\n`)
    } finally {
      await fh.close()
    }
    ctx.out.result(
      fields([
        ['wrote', path],
        ['trusts', keys.join(' ')],
        ['next', '`vouch verify NAME@VERSION` applies it; edit it to trust authors, builders, aliases (`vouch policy --help`)'],
      ]),
      { path, policy },
    )
  },
})
