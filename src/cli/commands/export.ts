import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, open, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { getStatement } from '../../client/index.ts'
import { exportEnvelope, VOUCH_PREDICATE_TYPE } from '../../bridges/index.ts'
import { defineCommand } from '../args.ts'
import { localError } from '../errors.ts'
import { fields } from '../output.ts'
import { hash } from '../terms.ts'

/**
 * Writes next to `path`, then links the finished file into place: a reader never sees half an
 * envelope, and an existing file is never replaced (link fails with EEXIST, atomically).
 */
async function writeNew(path: string, text: string): Promise<void> {
  const dest = resolve(path)
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
  try {
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await link(tmp, dest).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw localError('exists', `${path} already exists`, 'choose another -o, or remove it first')
      throw e
    })
  } finally {
    await rm(tmp, { force: true })
  }
}

export default defineCommand({
  usage: ['export ID [-o FILE]'],
  summary: 'Write a statement as an in-toto attestation (DSSE envelope) signed by your key',
  description: `Fetches statement ID from the relays (verified), wraps it as an in-toto Statement v1 (subject: the
hash the statement is about; predicateType ${VOUCH_PREDICATE_TYPE}; predicate: the statement
itself) and signs that as a DSSE envelope with your key (payloadType application/vnd.in-toto+json,
signature over "DSSEv1 <len> <type> <len> <body>", keyid your did:key). in-toto and DSSE tools
verify it with your Ed25519 public key; \`vouch import\` turns it back into the statement.
Without -o the envelope goes to standard output.`,
  options: {
    key: { type: 'string', value: 'NAME', description: 'sign with this key (default: the one `vouch key list` marks)' },
    agent: { type: 'boolean', description: 'sign through the running ssh-agent (SSH_AUTH_SOCK)' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write the envelope here (must not exist)' },
  },
  args: [1, 1],
  examples: ['vouch export sha256-Qm1x…= -o mylib-1.2.3.intoto.json', 'vouch export sha256:4d2c…e1 | jq -r .payload | base64 -d | jq .'],
  async run(ctx, values, [id]) {
    const want = hash(id!, 'ID')
    const signer = await ctx.signer()
    const r = await getStatement(await ctx.relays(), want, { timeoutMs: ctx.timeoutMs })
    ctx.warnRelays(r.relays)
    const envelope = await exportEnvelope(r, signer)
    const text = `${JSON.stringify(envelope, null, 2)}\n`
    if (values.output === undefined) {
      if (ctx.out.json) ctx.out.result('', { id: r.id, envelope })
      else process.stdout.write(text)
      return
    }
    await writeNew(values.output, text)
    ctx.out.result(fields([['exported', `${r.id} to ${values.output}`], ['signed by', signer.did]]), { id: r.id, file: values.output, envelope })
  },
})
