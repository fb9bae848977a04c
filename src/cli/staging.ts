import { rmSync } from 'node:fs'
import { chmod, lstat, mkdtemp, readdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/**
 * Where a download waits until its hash is checked: a private directory (mkdtemp makes it 0700)
 * beside OUT, so the final rename stays on one file system, while nobody else can read or run
 * what an unchecked relay sent. Its name carries our pid, so a later run can tell a crashed
 * download's leftovers (`kill -9`, power loss) from one still in progress, and remove them.
 */
const PREFIX = '.vouch-partial-'
const NAME = /^\.vouch-partial-(\d+)-[A-Za-z0-9]{6}$/

export interface Stage {
  /** The staging directory (0700). */
  dir: string
  /** Where the download is written inside it; renamed to OUT once verified. */
  path: string
  /** Removes the stage and all in it (idempotent, synchronous so a signal handler can call it). */
  remove(): void
}

export async function createStage(dest: string): Promise<Stage> {
  const dir = await mkdtemp(join(dirname(dest), `${PREFIX}${process.pid}-`))
  await chmod(dir, 0o700) // mkdtemp's mode already; said again so a future change cannot loosen it
  return { dir, path: join(dir, 'out'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the stages left in `dir` by downloads whose process is gone. Only our own pattern, only
 * directories we own, never one whose process still runs. Returns how many were removed.
 */
export async function removeStaleStages(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[])
  let removed = 0
  for (const name of names) {
    const m = NAME.exec(name)
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue
    const path = join(dir, name)
    const st = await lstat(path).catch(() => undefined)
    if (!st?.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) continue
    await rm(path, { recursive: true, force: true })
    removed++
  }
  return removed
}
