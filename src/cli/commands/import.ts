import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { BridgeError, ENVELOPE_MAX_BYTES, importEnvelope, parsePublicKey, type TrustedKey } from '../../bridges/index.ts'
import { defineCommand, positiveInt, SIGNING_OPTIONS } from '../args.ts'
import { localError, usageError } from '../errors.ts'
import { fields } from '../output.ts'
import { bridgeOptions, bridging, plural, relaysLine } from '../bridging.ts'

async function readInput(file: string): Promise<Uint8Array> {
  if (file === '-') {
    const parts: Buffer[] = []
    let size = 0
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > ENVELOPE_MAX_BYTES) throw localError('too_large', `standard input is larger than ${ENVELOPE_MAX_BYTES} bytes`)
      parts.push(chunk)
    }
    return new Uint8Array(Buffer.concat(parts))
  }
  return new Uint8Array(await readFile(file))
}

/** A key given inline, or a file holding one (a .pub, a PEM). */
async function readKey(value: string): Promise<Uint8Array> {
  const text = existsSync(value) ? await readFile(value, 'utf8') : value
  try {
    return parsePublicKey(text)
  } catch (e) {
    if (e instanceof BridgeError) throw usageError(`--public-key ${value.length > 60 ? `${value.slice(0, 60)}…` : value}: ${e.message}`)
    throw e
  }
}

export default defineCommand({
  usage: ['import FILE --public-key KEY [--key-id ID] [--threshold N] [--dry-run]'],
  summary: 'Import an in-toto attestation (DSSE envelope) as claims of your key',
  description: `Reads a DSSE envelope holding an in-toto Statement v1, checks its Ed25519 signatures against the
keys you give (DSSE's PAE: "DSSEv1 <len> <type> <len> <body>"), and publishes what it says:
SLSA provenance v1 becomes \`build\` claims, "building <dependency digest> produced <subject
digest>", one per dependency and subject, with the builder id and the envelope's sha256 in meta.
An envelope written by \`vouch export\` gives back the vouch statement inside, unchanged.

KEY is a did:key, 64 hex digits, base64 of the 32 bytes, a PEM public key, or a file holding one.
--key-id names the key as the envelope's keyid does (repeat both, in the same order, for several
keys; --threshold says how many distinct keys must have signed). FILE - reads standard input.
Nothing is published when a signature, the statement or the predicate does not check out.`,
  options: {
    ...SIGNING_OPTIONS,
    'public-key': { type: 'string', multiple: true, value: 'KEY', description: "a signer's Ed25519 public key, or a file holding it (repeatable)" },
    'key-id': { type: 'string', multiple: true, value: 'ID', description: 'the keyid the envelope uses for the key in the same position' },
    threshold: { type: 'string', value: 'N', description: 'distinct keys that must have signed (default 1)' },
    'dry-run': { type: 'boolean', description: 'check and sign, publish nothing' },
  },
  args: [1, 1],
  examples: [
    'vouch import provenance.intoto.json --public-key builder.pem',
    'vouch import att.dsse.json --public-key did:key:z6Mk… --key-id builder-1 --json',
    'vouch export sha256-Qm1x…= | vouch import - --public-key did:key:z6Mk…',
  ],
  async run(ctx, values, [file]) {
    const given = values['public-key'] ?? []
    if (given.length === 0) throw usageError('name the key that signed the envelope with --public-key KEY', 'a did:key, hex, base64, or a PEM file')
    const ids = values['key-id'] ?? []
    if (ids.length > given.length) throw usageError(`${ids.length} --key-id for ${given.length} --public-key`)
    const keys: TrustedKey[] = await Promise.all(given.map(async (k, i) => ({ publicKey: await readKey(k), ...(ids[i] !== undefined && { keyid: ids[i] }) })))
    const threshold = positiveInt('threshold', values.threshold) ?? 1
    if (threshold > keys.length) throw usageError(`--threshold ${threshold} is more than the ${keys.length} keys given`)
    const dryRun = values['dry-run'] === true
    const bytes = await readInput(file!)
    const base = await bridgeOptions(ctx, dryRun)
    const r = await bridging(() => importEnvelope(bytes, { ...base, keys, threshold }))
    ctx.warnRelays(r.relays)
    const count = (s: string) => r.items.filter((x) => x.status === s).length
    ctx.out.result(
      [
        fields([
          ['envelope', `${r.envelope} (${r.predicateType})`],
          ['signed by', r.signedBy.join(', ')],
          ['imported', r.kind === 'statement' ? `the vouch statement ${r.items[0]!.id} by ${r.items[0]!.actor}, unchanged` : `${plural(r.items.length, 'build claim')}: ${dryRun ? count('planned') : count('published')} ${dryRun ? 'to publish' : 'published'}, ${count('already')} already published`],
          ['relays', relaysLine(r.relays, dryRun, r.kind === 'statement' ? count('published') : r.statements.length)],
        ]),
        ...(r.kind === 'claims' ? r.items.map((x) => `${x.status.padEnd(9)}  ${x.subject} build ${x.object}`) : []),
      ],
      {
        dryRun,
        envelope: r.envelope,
        payload: r.payload,
        predicateType: r.predicateType,
        signedBy: r.signedBy,
        kind: r.kind,
        items: r.items,
        ...(dryRun && { statements: r.statements.map((s) => s.statement) }),
        relays: r.relays.map((x) => ({ relay: x.relay, ok: x.ok, ...(x.problem && { problem: x.problem }) })),
      },
    )
  },
})
