import { constants } from 'node:fs'
import { chmod, lstat, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { DEFAULT_BLOB_MAX_BYTES, fetchBlobTo, liveClaims, query } from '../../client/index.ts'
import { looksLikeHash } from '../../verify/index.ts'
import { NarUnpackError, unpackNar } from '../../nar/fs.ts'
import { createStage, removeStaleStages } from '../staging.ts'
import { defineCommand, POLICY_OPTION, positiveInt } from '../args.ts'
import type { Context } from '../context.ts'
import { CliError, EXIT, localError, usageError } from '../errors.ts'
import { bytes, fields } from '../output.ts'
import { did, hash, pkg } from '../terms.ts'

/**
 * Entries a fetched NAR may hold unless --max-entries says otherwise. A NAR of empty directories
 * costs ~100 bytes an entry, so the size cap alone let a hostile relay make a million
 * directories before its hash was found wrong; a large real tree (a node_modules) has ~100,000.
 */
const DEFAULT_MAX_ENTRIES = 250_000

/** The first 24 bytes of every NAR: the length-prefixed, padded string "nix-archive-1". */
const NAR_MAGIC = Uint8Array.from([13, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode('nix-archive-1'), 0, 0, 0])

export default defineCommand({
  usage: ['fetch HASH -o OUT [--raw]', 'fetch NAME@VERSION -o OUT [--actor DID …] [--raw]', 'fetch NAME@VERSION --policy [FILE] [--build SYSTEM] -o OUT [--raw]'],
  summary: 'Download content by hash or NAME@VERSION, verified, written atomically',
  description: `Downloads from the relays' blob caches (in order; one that serves wrong bytes is reported and
the next one tried), hashing while it streams. A relay whose content cannot be written before
its hash is checked is treated the same way. The bytes go to a private (0700) directory next to
OUT, with no execute bit, and become OUT, with their modes, only once the hash matched; on any
failure, Ctrl-C or SIGTERM nothing is kept, and a run killed outright is cleaned up by the next
fetch into the same directory. A directory (a NAR) is unpacked into the new directory OUT, at
most --max-entries entries; a NAR whose root is a symlink is refused; --raw keeps the NAR as a
file. OUT must not exist.

NAME@VERSION is looked up as \`source\` claims (skipping yanked ones). Without a policy, if
different keys claim different hashes it refuses (exit 1) and lists them; --actor follows only
the keys you name. With --policy FILE (or --policy alone: your own policy) it fetches only the source hash the policy accepts (as
\`vouch verify\` decides), and refuses with exit 1 and the explanation when the verdict is not
"trusted"; --build SYSTEM fetches the build output for SYSTEM the policy accepts instead (\`--build ""\`
for builds attested without a system).`,
  options: {
    output: { type: 'string', short: 'o', value: 'OUT', description: 'where to write (required; must not exist)' },
    actor: { type: 'string', multiple: true, value: 'DID', description: 'NAME@VERSION: follow only claims by DID (repeatable)' },
    raw: { type: 'boolean', description: 'write the blob as it is; do not unpack a NAR' },
    'max-size': { type: 'string', value: 'BYTES', description: `refuse blobs larger than this (default ${DEFAULT_BLOB_MAX_BYTES})` },
    'max-entries': { type: 'string', value: 'N', description: `refuse a NAR of more files, directories and symlinks than this (default ${DEFAULT_MAX_ENTRIES})` },
    policy: { ...POLICY_OPTION.policy, description: 'NAME@VERSION: fetch only what this trust policy accepts (`vouch verify`); `--policy` alone: yours (<config dir>/policy.json)' },
    build: { type: 'string', value: 'SYSTEM', description: 'with --policy: fetch the accepted build output for SYSTEM, not the source' },
  },
  args: [1, 1],
  examples: [
    'vouch fetch mylib@1.2.3 -o ./mylib-1.2.3             # unpacked directory',
    'vouch fetch sha256:9f86d0…0f00a08 -o left-pad.tgz      # a file, by hash',
    'vouch fetch mylib@1.2.3 -o mylib.nar --raw --actor did:key:z6Mk…',
    'vouch fetch mylib@1.2.3 --policy -o ./mylib          # only what your own policy trusts',
    'vouch fetch mylib@1.2.3 --policy policy.json --build x86_64-linux -o ./result',
  ],
  async run(ctx, values, [target]) {
    const out = values.output
    if (!out) throw usageError('say where to write with -o OUT')
    const dest = resolve(out)
    if (await lstat(dest).then(() => true, () => false)) throw localError('exists', `${out} already exists`, 'choose another -o, or remove it first')
    const parent = await stat(dirname(dest)).catch(() => undefined)
    if (!parent?.isDirectory()) throw localError('no_dir', `${dirname(out)} is not a directory`)
    const relays = await ctx.relays()
    const maxBytes = positiveInt('max-size', values['max-size']) ?? DEFAULT_BLOB_MAX_BYTES
    const maxEntries = positiveInt('max-entries', values['max-entries']) ?? DEFAULT_MAX_ENTRIES

    let blob: string
    let format: string | undefined
    let resolved: { subject: string; actors: string[]; ids: string[]; verdict?: string; build?: string } | undefined
    if (values.build !== undefined && values.policy === undefined) throw usageError('--build needs --policy FILE: it fetches the build output the policy accepts')
    if (values.policy !== undefined && looksLikeHash(target!)) throw usageError('--policy applies to NAME@VERSION; a hash is fetched as it is')
    if (values.policy !== undefined && values.actor?.length) throw usageError('--actor and --policy do not mix: the policy decides whose claims count')
    if (looksLikeHash(target!)) blob = hash(target!)
    else if (values.policy !== undefined) {
      const r = await resolveByPolicy(ctx, pkg(target!, 'required'), values.policy, values.build)
      blob = r.hash
      format = r.format
      resolved = r
    } else {
      const r = await resolvePackage(ctx, relays, pkg(target!, 'required'), (values.actor ?? []).map((a) => did(a, '--actor')))
      blob = r.hash
      format = r.format
      resolved = r
    }

    // Leftovers of a download that was killed (kill -9 cannot be caught) go before a new one starts.
    await removeStaleStages(dirname(dest))
    const stage = await createStage(dest)
    const tmp = stage.path
    const onSignal = () => (stage.remove(), process.exit(130))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const mode = values.raw ? 'file' : format === 'nar' ? 'nar' : format === undefined ? 'sniff' : 'file'
    const bar = ctx.out.progress('downloading')
    try {
      const r = await fetchBlobTo(
        relays,
        blob,
        async (chunks) => {
          await rm(tmp, { recursive: true, force: true }) // a previous relay's failed attempt
          return writeVerified(chunks, tmp, mode, { maxEntries, maxPathBytes: pathRoom(dest) })
        },
        { timeoutMs: Math.max(ctx.timeoutMs, 30_000), maxBytes, onProgress: (p) => bar.update(p.bytes, '', p.total) },
      )
        .catch((e: unknown) => Promise.reject(unpackRefusal(e, blob)))
        .finally(() => bar.done())
      await r.value.finish()
      ctx.warnRelays(r.relays)
      await rename(tmp, dest)
      const kind = r.value.kind
      ctx.out.result(
        fields([
          ['fetched', `${blob}${resolved ? ` (${resolved.subject})` : ''}`],
          ['wrote', `${out}${kind === 'nar' ? ' (directory, unpacked from a NAR)' : kind === 'file' ? '' : ' (a file: the NAR holds one file)'}, ${bytes(r.size)} verified`],
          ['relay', r.relay],
          ['claimed by', resolved?.actors.join(' ')],
          ['policy', resolved?.verdict && `${resolved.verdict}${resolved.build !== undefined ? `, build for ${resolved.build || '(any system)'}` : ''}`],
        ]),
        {
          hash: blob,
          path: dest,
          type: kind === 'nar' ? 'nar' : 'file',
          size: r.size,
          relay: r.relay,
          ...(resolved && { subject: resolved.subject, actors: resolved.actors, statements: resolved.ids }),
          ...(resolved?.verdict && { verdict: resolved.verdict, ...(resolved.build !== undefined && { build: resolved.build }) }),
        },
      )
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      stage.remove()
    }
  },
})

async function resolvePackage(ctx: Context, relays: string[], subject: string, actors: string[]) {
  const r = await query(relays, { subject, claim: 'source', ...(actors.length === 1 && { actor: actors[0] }) }, { timeoutMs: ctx.timeoutMs, log: await ctx.logs() })
  ctx.warnRelays(r.relays)
  const statements = actors.length ? r.statements.filter((s) => actors.includes(s.statement.actor)) : r.statements
  const live = liveClaims(statements)
  if (live.length === 0) {
    const yanked = statements.some((s) => s.statement.not)
    throw new CliError(EXIT.notFound, 'not_found', `no ${yanked ? 'standing ' : ''}source claim for ${subject}${actors.length ? ' by the given --actor' : ''}${yanked ? ' (it was yanked)' : ''}`, '`vouch query --subject … --claim source` shows what the relays hold')
  }
  if (live.length > 1) {
    throw new CliError(
      EXIT.verification,
      'ambiguous',
      `different hashes are claimed for ${subject}: ${live.map((c) => `${c.object} by ${c.actors.join(', ')}`).join('; ')}`,
      'choose whose claim to follow with --actor DID, or fetch by HASH',
    )
  }
  const claim = live[0]!
  const formats = statements.filter((s) => claim.ids.includes(s.id)).map((s) => s.statement.meta?.format)
  const format = formats.includes('nar') ? 'nar' : typeof formats[0] === 'string' ? formats[0] : undefined
  return { subject, hash: claim.object, format, actors: claim.actors, ids: claim.ids }
}

/** The hash the policy accepts (source, or the build output for `system`), or a refusal with the explanation. */
async function resolveByPolicy(ctx: Context, subject: string, policyFile: string, system: string | undefined) {
  const { judge } = await import('../verdict.ts')
  const { renderExplanation } = await import('../../policy/index.ts')
  const j = await judge(ctx, subject, { policy: policyFile })
  const v = j.verdict
  if (v.verdict !== 'trusted' || !v.source) {
    throw new CliError(EXIT.verification, v.verdict, `the policy does not accept ${subject} (${v.verdict}); nothing was fetched\n${renderExplanation(v.explanation)}`, '`vouch verify` shows the same verdict; --json for the whole tree')
  }
  const formatOf = (ids: string[]) => {
    const formats = j.gathered.facts.filter((f) => ids.includes(f.id)).map((f) => f.statement.meta?.format)
    return formats.includes('nar') ? 'nar' : typeof formats[0] === 'string' ? formats[0] : undefined
  }
  if (system === undefined) {
    const ids = v.explanation.children?.find((c) => c.rule === 'source')?.children?.find((c) => c.rule === 'source-claim')?.statements ?? []
    const actors = [...new Set(j.gathered.facts.filter((f) => ids.includes(f.id)).map((f) => f.statement.actor))]
    return { subject, hash: v.source, format: formatOf(ids), actors, ids, verdict: v.verdict }
  }
  const b = v.builds.find((x) => x.system === system)
  if (!b) {
    const have = v.builds.map((x) => x.system || '""').join(', ')
    throw new CliError(EXIT.verification, 'no_build', `the policy accepts no build output of ${subject} for ${system || '(any system)'}${have ? `; it accepts builds for ${have}` : ''}`, '`vouch verify` shows the builds and why')
  }
  const ids = j.gathered.facts.filter((f) => f.statement.claim === 'build' && f.statement.subject === v.source && f.statement.object === b.output && b.builders.includes(f.statement.actor)).map((f) => f.id)
  return { subject, hash: b.output, format: formatOf(ids), actors: b.builders, ids, verdict: v.verdict, build: system }
}

/**
 * Writes a verified-at-the-end stream to `tmp`: unpacked if it is a NAR, as a file otherwise.
 * If the stream throws (wrong bytes, relay gone), whatever was written is removed and the error
 * goes up, so the caller tries the next relay. `sniff` looks at the first bytes for NAR's magic.
 */
async function writeVerified(chunks: AsyncIterable<Uint8Array>, tmp: string, mode: 'nar' | 'file' | 'sniff', bounds: { maxEntries: number; maxPathBytes: number }): Promise<Written> {
  // One iterator shared by the peek, the writer and the drain below, never closed early by a
  // consumer that gives up: the hash check at its end must still be reachable.
  const it = chunks[Symbol.asyncIterator]()
  const peeked: Uint8Array[] = []
  let ended = false
  if (mode === 'sniff') {
    let n = 0
    while (n < NAR_MAGIC.length) {
      const r = await it.next()
      if (r.done) {
        ended = true
        break
      }
      peeked.push(r.value)
      n += r.value.length
    }
    const head = Buffer.concat(peeked).subarray(0, NAR_MAGIC.length)
    mode = head.length === NAR_MAGIC.length && head.equals(NAR_MAGIC) ? 'nar' : 'file'
  }
  async function* replay(): AsyncGenerator<Uint8Array, void, undefined> {
    yield* peeked
    while (!ended) {
      const r = await it.next()
      if (r.done) return void (ended = true)
      yield r.value
    }
  }
  if (mode === 'file') {
    // 0600 until verified; `finish` gives it the mode a new file gets (0666 less the umask).
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    try {
      for await (const c of replay()) for (let off = 0; off < c.length; ) off += (await fh.write(c, off)).bytesWritten
      await fh.sync()
    } catch (e) {
      await fh.close().catch(() => {})
      await rm(tmp, { force: true })
      throw e
    }
    await fh.close()
    return { kind: 'file', finish: () => chmod(tmp, 0o666 & ~process.umask()) }
  }
  let unpacked
  try {
    unpacked = await unpackNar(replay(), tmp, { staged: true, refuseSymlinkRoot: true, ...bounds })
  } catch (e) {
    if ((e as Error).name !== 'NarParseError') throw e
    // Not a NAR, or the relay sent garbage: finish reading, so the hash decides which.
    while (!ended) if ((await it.next()).done) ended = true
    throw new CliError(EXIT.verification, 'bad_nar', `the content has the right hash but is not a valid NAR (${(e as Error).message})`, 'fetch it with --raw to keep the bytes as a file')
  }
  if (!ended) while (!(await it.next()).done);
  return { kind: unpacked.root === 'regular' ? 'file (from a NAR)' : 'nar', finish: unpacked.finish }
}

interface Written {
  /** `nar`: OUT is a directory unpacked from a NAR; `file`: the bytes; a NAR of one file is that file. */
  kind: 'nar' | 'file' | 'file (from a NAR)'
  /** Gives what was written its final modes; called only after the hash matched. */
  finish: () => Promise<void>
}

/** Bytes a path below OUT may take so that the same path below the stage still fits (PATH_MAX 4095). */
const pathRoom = (dest: string) => 4095 - (Buffer.byteLength(dest) + Buffer.byteLength('.vouch-partial-4294967295-XXXXXX/out/') - Buffer.byteLength(basename(dest)))

/**
 * A NAR with the right hash that the bounds refuse: it is what was asked for, so no relay would
 * do better; say what it is and what to run instead.
 */
function unpackRefusal(e: unknown, blob: string): unknown {
  if (!(e instanceof NarUnpackError)) return e
  const hint = e.code === 'too_many_entries' ? 'raise --max-entries if you expect that many, or fetch it with --raw to keep the NAR as one file' : 'fetch it with --raw to keep the NAR as one file'
  return new CliError(EXIT.verification, e.code, `${blob} has the right hash, but ${e.message}; nothing was written`, hint)
}
