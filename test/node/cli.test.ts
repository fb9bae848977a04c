import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, startNetwork } from '../../scripts/network-harness.ts'
import { encodeDidKey, verifyStatement, type Statement } from '../../src/verify/index.ts'
import { BIN, ROOT, runVouch, type Run } from './run-vouch.ts'

/**
 * The real `vouch` executable (bin/vouch.js → dist/cli.js, built here as `npm install` builds it)
 * as a subprocess, against two real local relays and a fake one that lies.
 */

type Net = Awaited<ReturnType<typeof startNetwork>>

let net: Net
let relays: string[]
let work: string
let home: string
let fake: Server
let fakeUrl = ''
const lies: { statements: unknown[]; blob: Buffer } = { statements: [], blob: Buffer.alloc(0) }

function vouch(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: home, VOUCH_RELAYS: relays.join(' '), ...env } })
}

/** No user mistake may end in a stack trace. */
const noStack = (r: Run) => expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)

function tree(dir: string) {
  mkdirSync(join(dir, 'src/lib'), { recursive: true })
  writeFileSync(join(dir, 'README'), 'mylib\n')
  writeFileSync(join(dir, 'src/lib/index.js'), 'export const answer = 42\n')
  writeFileSync(join(dir, 'src/run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
  symlinkSync('lib/index.js', join(dir, 'src/main.js'))
}

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
  work = mkdtempSync(join(tmpdir(), 'vouch-cli-'))
  home = join(work, 'home')
  fake = createServer((req, res) => {
    const url = req.url ?? ''
    if (url.startsWith('/v1/statements?')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statements: lies.statements, cursor: null }))
    if (url.startsWith('/v1/statements/')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(lies.statements[0]))
    if (url.startsWith('/v1/blobs/')) return res.writeHead(200, { 'content-length': lies.blob.length }).end(req.method === 'HEAD' ? undefined : lies.blob)
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"nothing here"}}')
  })
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r))
  fakeUrl = `http://127.0.0.1:${(fake.address() as { port: number }).port}`
  net = await startNetwork({ relays: 2, topology: 'line' })
  relays = net.relays.map((r) => r.url)
}, 120_000)

afterAll(async () => {
  await net?.stop()
  fake?.closeAllConnections()
  fake?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('vouch CLI', { timeout: 30_000 }, () => {
  let did = ''
  let published: { id: string; hash: string; statement: Statement }

  it('init → publish a directory → query → show → fetch, round trip', async () => {
    const init = await vouch(['init', '--json'])
    expect(init.code).toBe(0)
    did = init.json.did
    expect(did).toMatch(/^did:key:z6Mk/)
    expect(statSync(init.json.keyPath).mode & 0o777).toBe(0o600)
    expect(statSync(join(home, 'keys')).mode & 0o777).toBe(0o700)
    expect((await vouch(['init', '--json'])).json).toMatchObject({ did, created: false }) // idempotent

    tree(join(work, 'mylib'))
    const hash = await vouch(['hash', 'mylib', '--json'])
    expect(hash.json).toMatchObject({ type: 'nar' })
    const pub = await vouch(['publish', 'mylib@1.2.3', 'mylib', '--json'])
    expect(pub.code).toBe(0)
    expect(pub.json).toMatchObject({ subject: 'pkg:generic/mylib@1.2.3', hash: hash.json.hash, format: 'nar', warnings: [] })
    expect(pub.json.relays.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted'])
    expect(pub.json.uploads.map((u: { status: string }) => u.status)).toEqual(['stored', 'stored'])
    const v = await verifyStatement(pub.json.statement, { now: Date.now() })
    expect(v.id).toBe(pub.json.id)
    expect(v.statement).toMatchObject({ actor: did, claim: 'source', object: hash.json.hash, meta: { format: 'nar' } })
    published = { id: pub.json.id, hash: hash.json.hash, statement: pub.json.statement }

    const q = await vouch(['query', '--subject', 'mylib@1.2.3', '--claim', 'source', '--json'])
    expect(q.code).toBe(0)
    expect(q.json.statements).toEqual([{ id: published.id, statement: published.statement, relays: expect.arrayContaining(relays) }])
    const text = await vouch(['query', '--subject', 'mylib@1.2.3'])
    expect(text.stdout.trim()).toBe(`${published.id}  ${new Date(v.statement.time).toISOString()}  ${did}  pkg:generic/mylib@1.2.3  source  ${published.hash}`)

    const show = await vouch(['show', published.id])
    expect(show.code).toBe(0)
    expect(show.stdout).toContain(`subject  pkg:generic/mylib@1.2.3`)

    const fetched = await vouch(['fetch', 'mylib@1.2.3', '-o', 'out', '--json'])
    expect(fetched.code).toBe(0)
    expect(fetched.json).toMatchObject({ hash: published.hash, type: 'nar', actors: [did] })
    expect((await vouch(['hash', 'out'])).stdout.trim()).toBe(published.hash)
    expect(readFileSync(join(work, 'out/src/lib/index.js'), 'utf8')).toBe('export const answer = 42\n')
    expect(statSync(join(work, 'out/src/run.sh')).mode & 0o100).toBe(0o100)
    // By hash, as a single file with --raw (the NAR itself), and never over an existing path.
    const raw = await vouch(['fetch', published.hash, '-o', 'mylib.nar', '--raw', '--json'])
    expect(raw.json).toMatchObject({ type: 'file' })
    expect(`sha256-${createHash('sha256').update(readFileSync(join(work, 'mylib.nar'))).digest('base64')}`).toBe(published.hash)
    const clobber = await vouch(['fetch', published.hash, '-o', 'out'])
    expect(clobber.code).toBe(5)
    expect(clobber.stderr).toContain('already exists')

    // Publishing again signs the same fact anew and sends no content the relays hold.
    const again = await vouch(['publish', 'mylib@1.2.3', 'mylib', '--json'])
    expect(again.json.relays.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted'])
    expect(again.json.uploads.map((u: { status: string }) => u.status)).toEqual(['exists', 'exists'])
  })

  it('a file, the shortcuts, and yank', async () => {
    writeFileSync(join(work, 'tool-1.0.0.tgz'), 'not really a tarball')
    const pub = await vouch(['publish', 'pkg:npm/tool@1.0.0', 'tool-1.0.0.tgz', '--json'])
    expect(pub.json).toMatchObject({ format: 'tgz', hash: `sha256-${createHash('sha256').update('not really a tarball').digest('base64')}` })
    const claims: [string[], Partial<Statement>][] = [
      [['review', published.hash, '--verdict', 'pass', '--comment', 'read it all'], { subject: published.hash, claim: 'review', object: 'pass', meta: { comment: 'read it all' } }],
      [['author', 'add', did, 'mylib'], { subject: did, claim: 'author', object: 'pkg:generic/mylib' }],
      [['revoke', did, 'mylib', '--reason', 'test'], { subject: did, claim: 'author', object: 'pkg:generic/mylib', not: true, meta: { reason: 'test' } }],
      [['trust-builder', did, '--scope', 'pkg:npm'], { subject: did, claim: 'trusted-builder', object: 'pkg:npm' }],
      [['build', published.hash, 'tool-1.0.0.tgz', '--system', 'x86_64-linux'], { subject: published.hash, claim: 'build', object: pub.json.hash, meta: { system: 'x86_64-linux', format: 'tgz' } }],
      [['claim', 'mylib@1.2.3', 'tested-on', 'linux', '--meta', '{"ci":"yes"}'], { subject: 'pkg:generic/mylib@1.2.3', claim: 'tested-on', object: 'linux', meta: { ci: 'yes' } }],
    ]
    for (const [args, expected] of claims) {
      const r = await vouch([...args, '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.statement).toMatchObject({ actor: did, ...expected })
      expect((await verifyStatement(r.json.statement, { now: Date.now() })).id).toBe(r.json.id)
    }
    // A statement id where a content hash belongs (publish prints both) is refused, by name.
    for (const args of [['yank', 'mylib@1.2.3', published.id], ['review', published.id, '--verdict', 'pass']]) {
      const wrong = await vouch([...args, '--json'])
      expect(wrong.code, wrong.stderr).toBe(4)
      expect(wrong.json.error).toMatchObject({ code: 'statement_id' })
    }
    expect((await vouch(['yank', 'mylib@1.2.3', pub.json.hash, '--json'])).json.error).toMatchObject({ code: 'unclaimed_hash' })
    expect((await vouch(['review', published.id, '--verdict', 'pass', '--force'])).code).toBe(0)
    // Without a hash: your own standing source claims for the version.
    const all = await vouch(['yank', 'pkg:npm/tool@1.0.0', '--json'])
    expect(all.code, all.stderr).toBe(0)
    expect(all.json.statement).toMatchObject({ subject: 'pkg:npm/tool@1.0.0', object: pub.json.hash, not: true })
    expect((await vouch(['yank', 'pkg:npm/tool@1.0.0', '--json'])).json.error).toMatchObject({ code: 'not_found' })
    const yank = await vouch(['yank', 'mylib@1.2.3', published.hash, '--json'])
    expect(yank.json.statement).toMatchObject({ subject: 'pkg:generic/mylib@1.2.3', claim: 'source', object: published.hash, not: true })
    const gone = await vouch(['fetch', 'mylib@1.2.3', '-o', 'yanked'])
    expect(gone.code).toBe(4)
    expect(gone.stderr).toContain('yanked')
    expect(existsSync(join(work, 'yanked'))).toBe(false)
  })

  it('a relay serving a tampered statement or wrong blob bytes is reported, its answer dropped', async () => {
    const tampered = { ...published.statement, subject: 'pkg:generic/mylib@9.9.9' }
    lies.statements = [tampered]
    const q = await vouch(['query', '--subject', 'mylib@9.9.9', '--json'], { VOUCH_RELAYS: `${fakeUrl} ${relays[0]}` })
    expect(q.code).toBe(0)
    expect(q.json.statements).toEqual([])
    const liar = q.json.relays.find((r: { relay: string }) => r.relay === fakeUrl)
    expect(liar).toMatchObject({ ok: false, dropped: [{ code: 'bad_signature' }], problem: { kind: 'invalid' } })
    expect(q.stderr).toContain(`warning: ${fakeUrl} sent 1 statement that failed verification`)
    // Only the liar: nothing trustworthy came back.
    expect((await vouch(['query', '--subject', 'mylib@9.9.9'], { VOUCH_RELAYS: fakeUrl })).code).toBe(1)
    const show = await vouch(['show', published.id], { VOUCH_RELAYS: fakeUrl })
    expect(show.code).toBe(1)
    noStack(show)

    // Wrong bytes from the first relay: the next one's are used, the liar is named.
    const nar = readFileSync(join(work, 'mylib.nar'))
    lies.blob = Buffer.from(nar).fill(0x41, 100, 120)
    const ok = await vouch(['fetch', published.hash, '-o', 'via-liar', '--json'], { VOUCH_RELAYS: `${fakeUrl} ${relays[1]}` })
    expect(ok.code).toBe(0)
    expect(ok.json).toMatchObject({ relay: relays[1], type: 'nar' })
    expect(ok.stderr).toContain(fakeUrl)
    expect(ok.json.warnings.join(' ')).toMatch(/hash/)
    for (const raw of [[], ['--raw']]) {
      const bad = await vouch(['fetch', published.hash, '-o', 'never', ...raw, '--json'], { VOUCH_RELAYS: fakeUrl })
      expect(bad.code).toBe(1)
      expect(bad.json.error).toMatchObject({ code: 'mismatch', exit: 1 })
      noStack(bad)
      expect(readdirSync(work).filter((f) => f.includes('never'))).toEqual([]) // no OUT, no temp file
    }
  })

  it('OpenSSH key import (file and ssh-agent) and key file permissions', async () => {
    const ssh = join(work, 'ssh')
    mkdirSync(ssh, { mode: 0o700 })
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@example', '-f', join(ssh, 'id_ed25519')])
    const pubBlob = Buffer.from(readFileSync(join(ssh, 'id_ed25519.pub'), 'utf8').split(' ')[1]!, 'base64')
    const expected = encodeDidKey(new Uint8Array(pubBlob.subarray(pubBlob.length - 32)))

    const imp = await vouch(['key', 'import', join(ssh, 'id_ed25519'), '--name', 'ssh', '--json'])
    expect(imp.code, imp.stderr).toBe(0)
    expect(imp.json).toMatchObject({ did: expected, kind: 'file', comment: 'alice@example' })
    const signed = await vouch(['claim', 'mylib@1.2.3', 'ssh-signed', '--key', 'ssh', '--json'])
    expect(signed.json.statement.actor).toBe(expected)
    // Exported again as OpenSSH, ssh-keygen reads it back to the same public key.
    const exp = await vouch(['key', 'export', 'ssh', '--private', '-o', join(ssh, 'exported')])
    expect(exp.code, exp.stderr).toBe(0)
    expect(execFileSync('ssh-keygen', ['-y', '-f', join(ssh, 'exported')], { encoding: 'utf8' }).split(' ')[1]).toBe(pubBlob.toString('base64'))

    // ssh-agent: only the public key is stored; signatures come from the agent.
    const sock = join(ssh, 'agent.sock')
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' })
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20))
      execFileSync('ssh-add', ['-q', join(ssh, 'id_ed25519')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' })
      const a = await vouch(['key', 'import', join(ssh, 'id_ed25519.pub'), '--agent', '--name', 'agent', '--json'], { SSH_AUTH_SOCK: sock })
      expect(a.json).toMatchObject({ did: expected, kind: 'ssh-agent' })
      expect(readFileSync(a.json.path, 'utf8')).not.toContain('seed')
      const viaAgent = await vouch(['claim', 'mylib@1.2.3', 'agent-signed', '--key', 'agent', '--json'], { SSH_AUTH_SOCK: sock })
      expect(viaAgent.code, viaAgent.stderr).toBe(0)
      expect((await verifyStatement(viaAgent.json.statement, { now: Date.now() })).statement.actor).toBe(expected)
      const noAgent = await vouch(['claim', 'mylib@1.2.3', 'agent-signed', '--key', 'agent'], { SSH_AUTH_SOCK: undefined })
      expect(noAgent.code).toBe(5)
      expect(noAgent.stderr).toContain('SSH_AUTH_SOCK')
    } finally {
      agent.kill()
    }

    // A key file others can read is refused, with the fix in the message.
    const keyFile = join(home, 'keys/default.key')
    chmodSync(keyFile, 0o644)
    try {
      const r = await vouch(['claim', 'x', 'y', '--json'])
      expect(r.code).toBe(5)
      expect(r.json.error).toMatchObject({ code: 'key_permissions', exit: 5 })
      expect(r.stderr).toContain(`chmod 600 ${keyFile}`)
      noStack(r)
    } finally {
      chmodSync(keyFile, 0o600)
    }
    chmodSync(join(ssh, 'id_ed25519'), 0o644)
    expect((await vouch(['key', 'import', join(ssh, 'id_ed25519'), '--name', 'loose'])).code).toBe(5)
    const list = await vouch(['key', 'list', '--json'])
    expect(list.json.keys.map((k: { name: string }) => k.name)).toEqual(['agent', 'default', 'ssh'])
  })

  it('help, usage errors and exit codes', async () => {
    const help = await vouch(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Exit codes')
    for (const c of ['init', 'key', 'relay', 'hash', 'publish', 'claim', 'build', 'review', 'author', 'yank', 'revoke', 'trust-builder', 'show', 'query', 'fetch']) {
      const r = await vouch([c, '--help'])
      expect(r.code, c).toBe(0)
      expect(r.stdout, c).toMatch(/Usage:[\s\S]*Examples:\n {2}vouch /)
    }
    const cases: [string[], number, RegExp][] = [
      [['publsh'], 2, /did you mean `vouch publish`/],
      [['publish', 'mylib', 'mylib'], 2, /no version/],
      [['publish', 'mylib@1'], 2, /missing argument/],
      [['query', '--subjekt', 'x'], 2, /unknown option/i],
      [['query'], 2, /at least one/],
      [['review', published.hash, '--verdict', 'meh'], 2, /--verdict/],
      [['claim', 'x', 'Not-A-Claim'], 2, /bad_claim/],
      [['show', 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='], 4, /not found/],
      [['fetch', 'nosuch@1.0.0', '-o', 'x'], 4, /no source claim/],
      [['hash', 'does-not-exist'], 5, /does not exist/],
    ]
    for (const [args, code, message] of cases) {
      const r = await vouch(args)
      expect(r.code, args.join(' ')).toBe(code)
      expect(r.stderr, args.join(' ')).toMatch(message)
      noStack(r)
    }
    const nowhere = `http://127.0.0.1:${await freePort()}`
    const down = await vouch(['claim', 'x', 'y', '--json'], { VOUCH_RELAYS: nowhere })
    expect(down.code).toBe(3)
    expect(down.json.error).toMatchObject({ code: 'unreachable', exit: 3 })
    const noRelays = await vouch(['query', '--claim', 'x'], { VOUCH_RELAYS: undefined })
    expect(noRelays.code).toBe(2)
    expect(noRelays.stderr).toContain('vouch relay add')
  })

  it('relay add/remove/list; VOUCH_RELAYS and --relay override the config', async () => {
    const env = { VOUCH_RELAYS: undefined }
    expect((await vouch(['relay', 'add', ...relays], env)).code).toBe(0)
    expect((await vouch(['relay', 'list', '--json'], env)).json).toMatchObject({ relays, source: 'config' })
    expect((await vouch(['relay', 'list', '--json', '--relay', fakeUrl], env)).json).toMatchObject({ relays: [fakeUrl], source: 'flag' })
    expect((await vouch(['relay', 'list', '--json'], { VOUCH_RELAYS: `${fakeUrl},${relays[0]}` })).json).toMatchObject({ relays: [fakeUrl, relays[0]], source: 'env' })
    expect((await vouch(['relay', 'remove', relays[1]!], env)).code).toBe(0)
    expect((await vouch(['relay', 'list', '--json'], env)).json.relays).toEqual([relays[0]])
    expect((await vouch(['relay', 'add', 'ftp://x'], env)).code).toBe(2)
    await vouch(['relay', 'add', relays[1]!], env)
  })

  it('two relays, one stopped: a warning, and the command still succeeds', async () => {
    writeFileSync(join(work, 'late.txt'), 'published while a relay was down\n')
    await net.relays[1]!.stop()
    try {
      const r = await vouch(['publish', 'late@1.0.0', 'late.txt', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.relays).toMatchObject([{ relay: relays[0], ok: true }, { relay: relays[1], ok: false, problem: { kind: 'network' } }])
      expect(r.stderr).toContain(`warning: cannot reach ${relays[1]}`)
      // The statement went with the content: one report per relay, the unreachable one too.
      expect(r.json.uploads).toMatchObject([{ relay: relays[0], ok: true, status: 'stored' }, { relay: relays[1], ok: false, status: null }])
      const q = await vouch(['query', '--subject', 'late@1.0.0', '--json'])
      expect(q.code).toBe(0)
      expect(q.json.statements.map((s: { id: string }) => s.id)).toEqual([r.json.id])
      const f = await vouch(['fetch', 'late@1.0.0', '-o', 'late-out.txt'])
      expect(f.code).toBe(0)
      expect(readFileSync(join(work, 'late-out.txt'), 'utf8')).toBe('published while a relay was down\n')
      expect((await vouch(['publish', 'late@1.0.0', 'late.txt', '--quorum', '2'])).code).toBe(3)
    } finally {
      await net.relays[1]!.start()
    }
  }, 60_000)
})
