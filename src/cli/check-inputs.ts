import { access, readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Context } from './context.ts'
import { localError, usageError } from './errors.ts'
import { LockfileError, readLockfile } from './lockfile.ts'
import { loadPolicy } from './verdict.ts'

/** What `vouch check` and `vouch bundle` both start from. */

const DEFAULT_LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json', 'flake.lock']
const exists = (p: string) => access(p).then(() => true, () => false)

/** The lockfile (LOCKFILE, else one in the current folder) and the policy that applies to it. */
export async function openCheckInputs(ctx: Context, file: string | undefined, policyFile: string | undefined) {
  let path = file === undefined ? undefined : resolve(file)
  if (path === undefined) {
    for (const name of DEFAULT_LOCKFILES) if (await exists(resolve(name))) (path ??= resolve(name))
    if (path === undefined) throw usageError('no lockfile here (package-lock.json, npm-shrinkwrap.json, flake.lock)', 'name one: vouch check path/to/package-lock.json')
  }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw usageError(`cannot read ${path}: ${(e as Error).message}`)
  }
  let lock
  try {
    lock = readLockfile(path, text)
  } catch (e) {
    if (e instanceof LockfileError) throw localError('bad_lockfile', e.message)
    throw e
  }
  const { policy, path: policyPath } = await loadPolicy(ctx, policyFile, dirname(path))
  return { path, text, lock, policy, policyPath }
}
