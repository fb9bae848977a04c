import { defineCommand, POLICY_OPTION } from '../args.ts'
import { EXIT, usageError } from '../errors.ts'
import { checkCheckout, type CheckoutCheck } from '../git.ts'
import { ociDigest, pkg } from '../terms.ts'
import { describeVerdict, judge } from '../verdict.ts'

export default defineCommand({
  usage: ['verify NAME@VERSION [--policy FILE] [--no-proofs] [--checkout DIR]'],
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

--checkout DIR also confirms a local checkout: DIR's git tree id (as \`vouch hash --git DIR\`,
in each object format a trusted claim uses) must equal the git-tree claim the verdict accepts
(POLICY.md rule 6a). With no accepted git-tree claim, or a different tree, the checkout is not
confirmed and the command fails, whatever the verdict.

OCI images are verified by their purl, pkg:oci/NAME@TAG (\`vouch bridge oci\`); the source is the
image's digest, also printed as sha256:<hex>.

Exit codes: 0 trusted (and the checkout confirmed), 1 untrusted, conflict, or a checkout that
does not match (and the usual 2, 3, 5).`,
  options: {
    ...POLICY_OPTION,
    'no-proofs': { type: 'boolean', description: 'do not check alias proofs (no network requests besides the relays)' },
    checkout: { type: 'string', value: 'DIR', description: "confirm DIR's git tree against the trusted git-tree claim" },
  },
  args: [1, 1],
  examples: [
    'vouch verify mylib@1.2.3                         # under <config dir>/policy.json',
    'vouch verify pkg:npm/left-pad@1.3.0 --policy team-policy.json',
    'vouch verify mylib@1.2.3 --json | jq -r .source  # the accepted source hash',
    'vouch verify mylib@1.2.3 --checkout ./mylib      # the clone holds exactly the claimed tree',
    'vouch verify pkg:oci/alpine@3.20 --json | jq -r .digest',
    'vouch verify mylib@1.2.3 && vouch fetch mylib@1.2.3 --policy -o ./mylib',
  ],
  async run(ctx, values, [name]) {
    const subject = pkg(name!, 'required')
    if (values.checkout === '') throw usageError('--checkout needs a directory')
    const j = await judge(ctx, subject, { policy: values.policy, proofs: values['no-proofs'] !== true })
    const checkout: CheckoutCheck | undefined = values.checkout !== undefined ? await checkCheckout(ctx, values.checkout, j.verdict.git, subject) : undefined
    const digest = subject.startsWith('pkg:oci/') && j.verdict.source ? ociDigest(j.verdict.source) : undefined
    const text = describeVerdict(j, digest ? [['digest', digest]] : [])
    ctx.out.result([text, ...(checkout ? ['', `${checkout.ok ? '✓' : '✗'} checkout: ${checkout.text}`] : [])].join('\n'), {
      ...j.verdict,
      ...(digest && { digest }),
      ...(checkout && { checkout }),
      policy: j.policyPath,
      gathered: { statements: j.gathered.facts.length, queries: j.gathered.queries, complete: j.gathered.complete, incomplete: j.gathered.incomplete },
      ...(j.aliasChecks && { aliasChecks: j.aliasChecks }),
      ...(j.logs && { logs: j.logs }),
      ...(j.forked && { forked: j.forked }),
    })
    if (j.verdict.verdict !== 'trusted' || (checkout && !checkout.ok)) process.exitCode = EXIT.verification
  },
})
