import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { followNpm, type CheckpointStore, type FollowState } from '../../bridges/index.ts'
import { positiveInt } from '../args.ts'
import type { Context } from '../context.ts'
import { EXIT, localError, usageError } from '../errors.ts'
import { fields } from '../output.ts'
import { bridgeOptions, bridging, plural } from '../bridging.ts'

interface Values {
  registry?: string
  follow?: string
  state?: string
  once?: boolean
  batch?: string
  concurrency?: string
  'dry-run'?: boolean
  upload?: boolean
}

/**
 * The checkpoint as a JSON file, replaced atomically (write a sibling, then rename), so a crash or
 * a kill leaves either the old checkpoint or the new one, never half of one.
 */
export function fileStore(path: string): CheckpointStore {
  return {
    async load() {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
      try {
        const state = JSON.parse(text) as FollowState
        if (typeof state !== 'object' || state === null || (state.since !== undefined && typeof state.since !== 'string' && typeof state.since !== 'number')) throw new Error('no since')
        return state
      } catch {
        throw localError('bad_state', `${path} is not a follow checkpoint`, 'fix it, or delete it to follow from the start of the feed')
      }
    },
    async save(state) {
      await mkdir(dirname(path), { recursive: true })
      const tmp = `${path}.${process.pid}.tmp`
      await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`)
      await rename(tmp, path)
    },
  }
}

/** `vouch bridge npm --follow URL`: follow a changes feed until stopped (SIGINT/SIGTERM) or, with --once, to its end. */
export async function followCommand(ctx: Context, values: Values, packages: string[]): Promise<void> {
  if (packages.length) throw usageError('--follow takes no package names: it bridges every package the feed names')
  if (values['dry-run'] || values.upload) throw usageError(`--${values['dry-run'] ? 'dry-run' : 'upload'} does not work with --follow`)
  const feed = values.follow!
  const statePath = values.state ?? join(ctx.paths.dir, 'bridge', `npm-follow-${createHash('sha256').update(feed).digest('hex').slice(0, 16)}.json`)
  const batch = positiveInt('batch', values.batch)
  const base = await bridgeOptions(ctx, false)
  const stop = new AbortController()
  const onSignal = () => stop.abort(new Error('stopped by a signal'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const r = await bridging(() =>
      followNpm({
        ...base,
        changes: feed,
        registry: values.registry,
        store: fileStore(statePath),
        once: values.once === true,
        signal: stop.signal,
        ...(batch !== undefined && { batchStatements: batch }),
        fetchConcurrency: positiveInt('concurrency', values.concurrency),
        onBatch: (b) => ctx.out.note(`checkpoint ${b.checkpoint}: ${plural(b.changes, 'change')}, ${b.accepted} new, ${b.duplicates} already held`),
        onRetry: (what, attempt, wait, e) => ctx.out.note(`${what}: ${e.message}; try ${attempt + 1} in ${Math.round(wait / 1000)} s`),
      }),
    )
    for (const f of r.failed) ctx.out.warn(`${f.id} (seq ${f.seq}): ${f.code}: ${f.message}`)
    ctx.out.result(
      fields([
        ['feed', feed],
        ['checkpoint', `${r.checkpoint ?? '(start)'} (${statePath})`],
        ['changes', `${plural(r.changes, 'change')}, ${plural(r.packages, 'package')} bridged`],
        ['statements', `${r.statements} sent: ${r.accepted} new, ${r.duplicates} already held${r.withdrawn ? `, ${r.withdrawn} withdrawals` : ''}`],
        ['failed', r.failedCount ? `${plural(r.failedCount, 'package')} skipped (listed in the checkpoint file)` : undefined],
        ['stopped', { end: 'at the end of the feed', signal: 'by a signal; the next run continues from the checkpoint', limit: 'at the limit', deadline: 'at the deadline' }[r.stopped]],
      ]),
      { feed, state: statePath, ...r },
    )
    if (r.failedCount) process.exitCode = EXIT.verification
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
