import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)

/**
 * `npm pack` gives a CLI that runs on its own: the tarball holds bin/ and the bundled dist/ (npm 11
 * does not run a package's own `prepare` when installing a tarball), and the bundle needs no
 * node_modules. Checked by unpacking the tarball into an empty directory and running it there,
 * with no network and nothing else installed.
 */
describe('npm pack', () => {
  const dirs: string[] = []
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

  it('packs bin/ and dist/ only, and the unpacked CLI runs without node_modules', async () => {
    const out = await mkdtemp(join(tmpdir(), 'vouch-pack-'))
    dirs.push(out)
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', out], { maxBuffer: 16 << 20 })
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }]
    const paths = info.files.map((f) => f.path)
    expect(paths).toContain('bin/vouch.js')
    expect(paths).toContain('dist/cli.js')
    // `vouch hash` runs from its own CommonJS bundle, which bin/package.json makes bin/vouch.js able to require.
    expect(paths).toContain('dist/hash.cjs')
    expect(paths).toContain('bin/package.json')
    expect(paths.filter((p) => !/^(bin|dist)\//.test(p) && !['package.json', 'README.md'].includes(p))).toEqual([])
    await run('tar', ['xzf', join(out, info.filename), '-C', out])
    expect(await readdir(join(out, 'package'))).not.toContain('node_modules')
    const cli = join(out, 'package', 'bin', 'vouch.js')
    const env = { ...process.env, VOUCH_HOME: join(out, 'home'), NODE_PATH: '' }
    const help = await run(process.execPath, [cli, '--help'], { cwd: out, env })
    expect(help.stdout).toMatch(/^vouch \d+\.\d+\.\d+: /)
    await writeFile(join(out, 'hello.txt'), 'hello\n')
    const hash = await run(process.execPath, [cli, 'hash', 'hello.txt', '--json'], { cwd: out, env })
    // sha256 of "hello\n", computed independently.
    expect(JSON.parse(hash.stdout)).toMatchObject({ hash: 'sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=' })
  })

  it('`npm install -g` of the tarball works offline, into a fresh prefix with an empty npm cache', async () => {
    const out = await mkdtemp(join(tmpdir(), 'vouch-global-'))
    dirs.push(out)
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', out], { maxBuffer: 16 << 20 })
    const [info] = JSON.parse(stdout) as [{ filename: string }]
    const prefix = join(out, 'prefix')
    // --offline with an empty cache: anything the install wanted from a registry would fail it.
    await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, '--cache', join(out, 'cache'), join(out, info.filename)], {
      cwd: out,
      env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' },
    })
    const vouch = join(prefix, 'bin', 'vouch')
    const env = { ...process.env, VOUCH_HOME: join(out, 'home'), NODE_PATH: '' }
    const version = await run(vouch, ['version'], { cwd: out, env })
    expect(version.stdout).toMatch(/^vouch \d+\.\d+\.\d+\n$/)
    await writeFile(join(out, 'hello.txt'), 'hello\n')
    const hash = await run(vouch, ['hash', 'hello.txt', '--json'], { cwd: out, env })
    expect(JSON.parse(hash.stdout)).toMatchObject({ hash: 'sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=' })
  })
})
