import { defineCommand, POLICY_OPTION } from '../args.ts'
import { EXIT } from '../errors.ts'
import { pkg } from '../terms.ts'
import { describeVerdict, judge } from '../verdict.ts'

export default defineCommand({
  usage: ['verify NAME@VERSION [--policy FILE] [--no-proofs]'],
  summary: 'Decide whether to trust NAME@VERSION under your policy, and say why',
  description: `Reads from the relays the statements your trust policy can use for this version (its source
claims, the package's author grants, trusted-builder grants from your root keys, builds and
reviews of the source hash, alias claims), verifies each, checks alias proofs, and applies the
policy (docs/POLICY.md). Prints the verdict (trusted, untrusted or conflict), the source hash and
build outputs it accepts, and the explanation: every rule applied, ✓ or ✗, with the ids of the
statements it rests on. --json prints the whole verdict.

The policy is --policy FILE, else .vouch/policy.json in this directory or a parent (a project's
policy), else <config dir>/policy.json (\`vouch policy init\` writes one; \`--policy\` alone picks it).
Alias proofs (DNS, HTTPS, forges, Bluesky) are cached in <config dir>/proofs.json until they
expire; --no-proofs skips them, so no key becomes a root by alias.

Exit codes: 0 trusted, 1 untrusted or conflict (and the usual 2, 3, 5).`,
  options: {
    ...POLICY_OPTION,
    'no-proofs': { type: 'boolean', description: 'do not check alias proofs (no network requests besides the relays)' },
  },
  args: [1, 1],
  examples: [
    'vouch verify mylib@1.2.3                         # under <config dir>/policy.json',
    'vouch verify pkg:npm/left-pad@1.3.0 --policy team-policy.json',
    'vouch verify mylib@1.2.3 --json | jq -r .source  # the accepted source hash',
    'vouch verify mylib@1.2.3 && vouch fetch mylib@1.2.3 --policy -o ./mylib',
  ],
  async run(ctx, values, [name]) {
    const subject = pkg(name!, 'required')
    const j = await judge(ctx, subject, { policy: values.policy, proofs: values['no-proofs'] !== true })
    ctx.out.result(describeVerdict(j), {
      ...j.verdict,
      policy: j.policyPath,
      gathered: { statements: j.gathered.facts.length, queries: j.gathered.queries, complete: j.gathered.complete, incomplete: j.gathered.incomplete },
      ...(j.aliasChecks && { aliasChecks: j.aliasChecks }),
    })
    if (j.verdict.verdict !== 'trusted') process.exitCode = EXIT.verification
  },
})
