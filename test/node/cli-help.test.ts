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

describe('global options only where they apply', () => {
  it('offline commands neither list nor accept --relay and --timeout; network commands do', async () => {
    for (const cmd of ['hash', 'key', 'policy']) {
      const help = await runVouch([cmd, '--help'], { env })
      expect(help.code).toBe(0)
      expect(help.stdout).not.toContain('--relay')
      expect(help.stdout).not.toContain('--timeout')
      expect(help.stdout).toContain('--json')
    }
    const refused = await runVouch(['hash', '.', '--relay', 'http://127.0.0.1:1'], { env })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/unknown option '--relay'/)
    const fetch = await runVouch(['fetch', '--help'], { env })
    expect(fetch.stdout).toContain('--relay URL')
    expect(fetch.stdout).toContain('--timeout SECONDS')
  })
})

describe('one policy lookup for every command', () => {
  const policyFor = (did: string) => JSON.stringify({ version: 1, trust: { keys: [did] } })
  const A = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
  const B = 'did:key:z6MkfrQREJ5ZA3HqdrSgKpjY8mN3FR4VnQgFzBnLtAYvLhQ5'

  it('--policy FILE, else .vouch/policy.json here or in a parent, else the user\'s; --policy alone is the user\'s', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises')
    const home = await mkdtemp(join(tmpdir(), 'vouch-policy-home-'))
    const project = await mkdtemp(join(tmpdir(), 'vouch-policy-project-'))
    const deep = join(project, 'packages', 'a')
    await mkdir(join(project, '.vouch'), { recursive: true })
    await mkdir(deep, { recursive: true })
    await writeFile(join(home, 'policy.json'), policyFor(A))
    await writeFile(join(project, '.vouch', 'policy.json'), policyFor(B))
    const show = (args: string[], cwd: string) => runVouch(['policy', 'show', '--json', ...args], { env: { VOUCH_HOME: home }, cwd })

    const fromParent = await show([], deep)
    expect(fromParent.code).toBe(0)
    expect(fromParent.json.path).toBe(join(project, '.vouch', 'policy.json'))
    expect(fromParent.json.policy.trust.keys).toEqual([B])

    const alone = await show(['--policy'], deep)
    expect(alone.code).toBe(0)
    expect(alone.json.path).toBe(join(home, 'policy.json'))
    expect(alone.json.policy.trust.keys).toEqual([A])

    const explicit = await show(['--policy', join(home, 'policy.json')], project)
    expect(explicit.json.policy.trust.keys).toEqual([A])

    const outside = await show([], home)
    expect(outside.json.path).toBe(join(home, 'policy.json'))

    const missing = await show(['--policy', join(project, 'nope.json')], project)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('nope.json')
  })
})
