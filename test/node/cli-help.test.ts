import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { closest } from '../../src/cli/args.ts'
import { SOFTWARE } from '../../src/version.ts'
import { runVouch } from './run-vouch.ts'

let env: Record<string, string>
beforeAll(async () => {
  env = { VOUCH_HOME: await mkdtemp(join(tmpdir(), 'vouch-help-')) }
})

describe('the small ones: version, help CMD, typo hints', () => {
  it('`vouch version` and `--version` print the version; --json gives it as a document', async () => {
    for (const args of [['version'], ['--version']]) {
      const r = await runVouch(args, { env })
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(`vouch ${SOFTWARE.version}\n`)
    }
    expect((await runVouch(['version', '--json'], { env })).json).toEqual({ version: SOFTWARE.version })
  })

  it('`vouch help CMD` is `vouch CMD --help`, and `vouch help` the overview', async () => {
    const viaHelp = await runVouch(['help', 'hash'], { env })
    const viaFlag = await runVouch(['hash', '--help'], { env })
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
    expect(viaHelp.stdout).toContain('--git')
    expect((await runVouch(['help'], { env })).stdout).toBe((await runVouch(['--help'], { env })).stdout)
    expect((await runVouch(['help', 'nosuch'], { env })).code).toBe(2)
  })

  it('help lists the git and OCI commands: bridge git|oci, publish --git, verify --checkout', async () => {
    expect((await runVouch(['help'], { env })).stdout).toMatch(/bridge .*git repository or an OCI image layout/)
    const bridge = (await runVouch(['help', 'bridge'], { env })).stdout
    expect(bridge).toContain('bridge git URL|DIR --name NAME')
    expect(bridge).toContain('bridge oci LAYOUT_DIR --name NAME')
    expect((await runVouch(['help', 'publish'], { env })).stdout).toContain('--git')
    expect((await runVouch(['help', 'verify'], { env })).stdout).toContain('--checkout DIR')
  })

  it('a mistyped option or command gets the nearest real one as a hint, exit 2', async () => {
    const opt = await runVouch(['hash', '--jsn', 'README.md'], { env })
    expect(opt.code).toBe(2)
    expect(opt.stderr).toContain("unknown option '--jsn'")
    expect(opt.stderr).toContain('did you mean `--json`?')
    const cmd = await runVouch(['hsah', 'README.md'], { env })
    expect(cmd.code).toBe(2)
    expect(cmd.stderr).toContain('did you mean `vouch hash`?')
    const far = await runVouch(['hash', '--completely-different', 'README.md'], { env })
    expect(far.stderr).not.toContain('did you mean')
  })

  it('closest picks the nearest within two edits, and nothing further', () => {
    expect(closest('jsn', ['json', 'relay', 'quorum'])).toBe('json')
    expect(closest('realy', ['json', 'relay'])).toBe('relay')
    expect(closest('xyzzy', ['json', 'relay'])).toBeUndefined()
    expect(closest('quorom', ['quorum', 'quiet'])).toBe('quorum')
  })
})
