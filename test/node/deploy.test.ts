import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const run = promisify(execFile)

it('wrangler deploy --dry-run bundles the relay with its D1 and KV bindings', async () => {
  const out = await mkdtemp(join(tmpdir(), 'vouch-dry-'))
  try {
    const { stdout } = await run('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { timeout: 60_000 })
    expect(stdout).toMatch(/env\.DB \(vouch\)\s+D1 Database/)
    expect(stdout).toMatch(/env\.CACHE\s+KV Namespace/)
    expect(await readdir(out)).toContain('index.js')
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}, 60_000)
