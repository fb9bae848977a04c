import { z } from 'zod'
import { decodeDidKey, parseCosignerKey } from '../verify/index.ts'

const didKey = z.string().refine((s) => decodeDidKey(s) !== undefined, { message: 'must be an Ed25519 did:key (did:key:z6Mk…)' })
const witnessKey = z.string().refine((s) => parseCosignerKey(s) !== undefined, {
  message: 'must be a witness verifier key <name>+<8 hex key id>+<base64(0x04 ‖ key)>, as a relay publishes it in /.well-known/vouch "witness"',
})

/**
 * Which relays' logs are believed (PROTOCOL §6.10–6.11): a checkpoint counts only with cosignatures
 * from at least `k` of these witnesses, so a relay cannot show this client a log no one else saw.
 */
const logs = z
  .strictObject({
    witnesses: z
      .array(
        z.strictObject({
          key: witnessKey,
          /** The witness's name as its key spells it: optional, and checked, so a pasted key of another witness is caught. */
          name: z.string().min(1).optional(),
        }),
      )
      .min(1, 'name at least one witness'),
    /** Distinct named witnesses whose valid cosignature a checkpoint needs. */
    k: z.int().min(1).max(64).default(1),
    /** A cosignature older than this many seconds does not count (a frozen view); none by default. */
    maxAgeSeconds: z.int().min(1).optional(),
  })
  .superRefine((l, ctx) => {
    const names = l.witnesses.map((w) => parseCosignerKey(w.key)?.name)
    l.witnesses.forEach((w, i) => {
      const name = names[i]
      if (name === undefined) return
      if (w.name !== undefined && w.name !== name) ctx.addIssue({ code: 'custom', path: ['witnesses', i, 'name'], message: `is ${JSON.stringify(w.name)} but the key names ${JSON.stringify(name)}` })
      if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['witnesses', i, 'key'], message: `names the witness ${JSON.stringify(name)} a second time; each witness counts once` })
    })
    if (l.k > l.witnesses.length) ctx.addIssue({ code: 'custom', path: ['k'], message: `is ${l.k}, but only ${l.witnesses.length} witness${l.witnesses.length === 1 ? ' is' : 'es are'} named` })
  })

const alias = z.string().regex(/^[a-z][a-z0-9+.-]*:\S+$/, 'an alias is scheme:value, e.g. dns:example.org or github:alice')

/**
 * A trust policy (docs/POLICY.md). Every field has a default, so `{ "version": 1, "trust":
 * { "keys": [...] } }` is a complete policy. Unknown fields are refused: a misspelt rule must not be
 * silently ignored by the thing deciding what to trust.
 */
export const PolicySchema = z.strictObject({
  version: z.literal(1),
  trust: z
    .strictObject({
      /** Keys trusted directly: the roots of the trust graph. */
      keys: z.array(didKey).default([]),
      /** Keys trusted because they prove names: a key that claims and proves `require` of `aliases` is a root. */
      aliases: z.array(z.strictObject({ aliases: z.array(alias).min(1), require: z.int().min(1).max(10).default(1) })).default([]),
    })
    .default({ keys: [], aliases: [] }),
  sources: z
    .strictObject({
      /** Whether roots may publish source claims for any package themselves. */
      rootsMayPublish: z.boolean().default(true),
      /** How far authorship flows: 1 = only keys a root calls an author; 2 = also keys those authors call authors; … */
      authorDepth: z.int().min(0).max(16).default(2),
      /** A git claim the verdict needs beside the source (POLICY.md rule 6a): false, "tree" or "commit". */
      requireGit: z.union([z.literal(false), z.enum(['tree', 'commit'])]).default(false),
    })
    .default({ rootsMayPublish: true, authorDepth: 2, requireGit: false }),
  builds: z
    .strictObject({
      /** Whether a trusted build output is needed for a "trusted" verdict. */
      required: z.boolean().default(false),
      /** Distinct trusted builders that must agree on an output (k of n, as Trustix). */
      agree: z.int().min(1).max(64).default(1),
      /** How far builder trust flows from the roots through trusted-builder claims. */
      builderDepth: z.int().min(0).max(16).default(1),
    })
    .default({ required: false, agree: 1, builderDepth: 1 }),
  reviews: z
    .strictObject({
      /** Distinct reviewers whose `pass` is needed. */
      required: z.int().min(0).max(64).default(0),
      /** Whose reviews count: the roots, or the keys listed. */
      from: z.union([z.literal('roots'), z.array(didKey).min(1)]).default('roots'),
    })
    .default({ required: 0, from: 'roots' }),
  /** Bridge keys whose `published` claims count as source claims for packages of these purl types. */
  bridges: z.array(z.strictObject({ key: didKey, ecosystems: z.array(z.string().regex(/^[a-z0-9.+-]+$/)).min(1) })).default([]),
  /**
   * What an authorship or builder revocation cancels: claims dated from its time on ("from-time",
   * which trusts the revoked key's own dates), all of the key's claims, or ("witnessed") every claim
   * not in a checkpoint k of the `logs` witnesses had cosigned before the revocation's time.
   */
  revocation: z.enum(['from-time', 'all', 'witnessed']).default('from-time'),
  /** Witness cosignatures a relay's checkpoint needs before its answers count; absent: its own signature suffices. */
  logs: logs.optional(),
  /** Whether a relay whose log key has a proven log-equivocation claim is distrusted (its answers dropped). */
  distrustForkedRelays: z.boolean().default(true),
  /** Statements dated later than now + this are ignored. */
  clockSkewMs: z.int().min(0).max(86_400_000).default(300_000),
}).superRefine((p, ctx) => {
  // Witnessed time comes from cosignatures, so the policy must say whose count and how many.
  if (p.revocation === 'witnessed' && !p.logs) ctx.addIssue({ code: 'custom', path: ['revocation'], message: '"witnessed" needs "logs": {"witnesses": [...], "k": n}, the witnesses whose cosignatures date a claim' })
})

export type Policy = z.output<typeof PolicySchema>
export type PolicyInput = z.input<typeof PolicySchema>

export class PolicyError extends Error {
  override readonly name = 'PolicyError'
}

/** Validates a parsed policy document; the error lists every problem with its path. */
export function ensurePolicy(value: unknown): Policy {
  const r = PolicySchema.safeParse(value)
  if (r.success) return r.data
  throw new PolicyError(`invalid policy: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
}
