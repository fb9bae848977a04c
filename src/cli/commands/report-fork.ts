import { readFile } from 'node:fs/promises'
import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { CliError, EXIT, usageError } from '../errors.ts'

export default defineCommand({
  usage: ['report-fork RELAY [--checkpoint FILE]...'],
  summary: "Publish proof that a relay's log forked (a log-equivocation claim)",
  description: `Compares RELAY's log with the checkpoints you hold of it: the one this vouch keeps
(under $VOUCH_HOME/logs) and each --checkpoint FILE, another client's kept checkpoint (the same
{verifierKey, note} JSON file). When RELAY signed two checkpoints that cannot both be true, and its
own hashes prove it, signs a log-equivocation claim (PROTOCOL §6.12) with the two checkpoints and
the proof and publishes it to your relays, which take it whatever their admission mode. Clients
whose policy reads these claims stop using what only RELAY serves. Exits 0 when no fork is found.`,
  options: {
    ...SIGNING_OPTIONS,
    checkpoint: { type: 'string', multiple: true, value: 'FILE', description: "another client's kept checkpoint of RELAY's log (repeatable)" },
  },
  args: [1, 1],
  examples: ['vouch report-fork https://relay.example', 'vouch report-fork https://relay.example --checkpoint friend-checkpoint.json'],
  async run(ctx, values, [relayArg]) {
    const { EQUIVOCATION_CLAIM, canonicalize, LIMITS, utf8 } = await import('../../verify/index.ts')
    const { LogChecker, LogForkError, memoryCheckpointStore, relayBase } = await import('../../client/index.ts')
    const relay = relayBase(relayArg!)
    // A relay reported before is still compared (a second proof, or one in another pair of checkpoints).
    const checkers = [await ctx.logs(undefined, { distrust: false })]
    for (const file of (values.checkpoint as string[] | undefined) ?? []) {
      let kept: { verifierKey?: unknown; note?: unknown }
      try {
        kept = JSON.parse(await readFile(file, 'utf8')) as typeof kept
      } catch (e) {
        throw usageError(`${file}: ${(e as Error).message}`, 'pass a kept checkpoint file ({"verifierKey", "note"}), as vouch writes under $VOUCH_HOME/logs')
      }
      if (typeof kept?.verifierKey !== 'string' || typeof kept.note !== 'string') throw usageError(`${file} is not a kept checkpoint ({"verifierKey", "note"})`)
      const store = memoryCheckpointStore()
      await store.keepCheckpoint(kept.note.slice(0, kept.note.indexOf('\n')), { verifierKey: kept.verifierKey, note: kept.note })
      checkers.push(new LogChecker({ store }))
    }
    for (const checker of checkers) {
      const fork = await checker.check(relay, [], { timeoutMs: ctx.timeoutMs }).then(
        () => undefined,
        (e: unknown) => {
          if (e instanceof LogForkError) return e
          throw e
        },
      )
      if (!fork) continue
      const ev = fork.evidence
      if (!ev.equivocation) {
        throw new CliError(EXIT.fork, 'fork', `${fork.message}`, "the relay no longer serves the larger tree's hashes, so there is no proof anyone else can check; keep both notes and tell its operator")
      }
      const meta = ev.equivocation as unknown as import('../../verify/index.ts').JsonObject
      if (utf8(canonicalize(meta)).length > LIMITS.metaBytes) {
        throw new CliError(EXIT.local, 'evidence_too_large', `the evidence is larger than meta's ${LIMITS.metaBytes} bytes`, 'publish it as a blob and a claim naming it (PROTOCOL §6.12); vouch does not do that yet')
      }
      const r = await ctx.publishStatements([{ subject: ev.verifierKey, claim: EQUIVOCATION_CLAIM, meta }])
      announce(ctx, r, [['reported', `${relay} forked its log ${ev.origin}: ${ev.reason}`]], { fork: ev })
      return
    }
    ctx.out.result(`no fork found: ${relay}'s log is consistent with the ${checkers.length} checkpoint${checkers.length === 1 ? '' : 's'} held`, { fork: null, checked: checkers.length })
  },
})
