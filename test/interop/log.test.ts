import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import {
  base64,
  consistencyProof,
  inclusionProof,
  leafHash,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  tileHashReader,
  tilePath,
  type Checkpoint,
} from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Go's golang.org/x/mod/sumdb (Debian's golang-golang-x-mod-dev, built offline in GOPATH mode)
 * verifies a running relay's checkpoints, recomputes its tree from its tiles and accepts proofs our
 * TypeScript computed. Without Go this skips with a warning, except under CI, where it fails.
 */
/** Runs the Go checker without blocking this process's event loop (it may be serving the files). */
const logcheck = (bin: string, args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(bin, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }))
  })

const haveGo = spawnSync('go', ['version']).status === 0
if (!haveGo) {
  if (process.env.CI) throw new Error('Go is required under CI: apt-get install golang-go golang-golang-x-mod-dev')
  console.warn('SKIPPED: Go interop test (install golang-go golang-golang-x-mod-dev to run it)')
}

/** The GOPATH Debian's x/mod package installs (`…/gocode`, holding src/golang.org/x/mod). */
function gopath(): string {
  const files = spawnSync('dpkg', ['-L', 'golang-golang-x-mod-dev'], { encoding: 'utf8' }).stdout ?? ''
  const src = files.split('\n').find((l) => l.endsWith('/src/golang.org/x/mod'))
  if (!src) throw new Error('golang-golang-x-mod-dev is not installed')
  return src.slice(0, -'/src/golang.org/x/mod'.length)
}

describe.skipIf(!haveGo)('Go sumdb/tlog and sumdb/note verify our log', () => {
  let net: Awaited<ReturnType<typeof startNetwork>>
  let bin: string
  const dir = mkdtempSync(join(tmpdir(), 'vouch-interop-'))
  beforeAll(async () => {
    bin = join(dir, 'logcheck')
    const build = spawnSync('go', ['build', '-o', bin, 'logcheck.go'], {
      cwd: new URL('./go', import.meta.url).pathname,
      env: { ...process.env, GO111MODULE: 'off', GOPATH: gopath(), GOCACHE: join(dir, 'gocache'), GOFLAGS: '' },
      encoding: 'utf8',
    })
    expect(build.status, build.stderr).toBe(0)
    net = await startNetwork({ relays: 1, topology: 'line' })
  })
  afterAll(() => net?.stop())

  it('accepts our checkpoints, tiles, bundles and proofs', async () => {
    const url = net.relays[0]!.url
    const { log } = (await (await fetch(`${url}/.well-known/vouch`)).json()) as { log: { verifierKey: string; prefix: string } }
    const prefix = `${url}${log.prefix}`
    const verifier = parseVerifierKey(log.verifierKey)!
    const key = await testKey(61)
    let serial = 0
    const post = async (n: number) => {
      const batch = []
      for (let i = 0; i < n; i++) batch.push(await makeStatement(key, { subject: `pkg:generic/interop${serial++}@1`, time: Date.now() }))
      expect((await fetch(`${url}/v1/statements`, { method: 'POST', body: JSON.stringify(batch), headers: { 'content-type': 'application/json' } })).status).toBe(200)
    }
    /** The checkpoint once it names `size` (it is cached for about a second). */
    const checkpointOf = async (size: number): Promise<{ note: string; cp: Checkpoint }> => {
      for (let tries = 0; tries < 100; tries++) {
        const note = await (await fetch(`${prefix}/checkpoint`)).text()
        const opened = await openNote(note, verifier)
        expect(opened.verified).toBe(true)
        const cp = parseCheckpoint(opened.text)!
        if (cp.size === size) return { note, cp }
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`the checkpoint never reached ${size}`)
    }
    await post(300)
    const old = await checkpointOf(300)
    await post(700)
    await post(100)
    const cur = await checkpointOf(1100)
    const h = tileHashReader(cur.cp.size, async (level, index, width) => new Uint8Array(await (await fetch(`${prefix}/${tilePath({ level, index, width })}`)).arrayBuffer()))
    const bundle = async (i: number) => {
      const bytes = new Uint8Array(await (await fetch(`${prefix}/${tilePath({ level: 'entries', index: Math.floor(i / 256), width: Math.min(256, cur.cp.size - Math.floor(i / 256) * 256) })}`)).arrayBuffer())
      let o = 0
      for (let k = 0; k < i % 256; k++) o += 2 + ((bytes[o]! << 8) | bytes[o + 1]!)
      return bytes.slice(o + 2, o + 2 + ((bytes[o]! << 8) | bytes[o + 1]!))
    }
    const inclusion = []
    for (const index of [0, 1, 255, 256, 299, 767, 1024, 1099]) {
      inclusion.push({ index, leaf: base64.encode(leafHash(await bundle(index))), proof: (await inclusionProof(index, cur.cp.size, h)).map((x) => base64.encode(x)) })
    }
    const consistency = (await consistencyProof(old.cp.size, cur.cp.size, h)).map((x) => base64.encode(x))
    const cases = join(dir, 'cases.json')
    writeFileSync(cases, JSON.stringify({ old: old.note, new: cur.note, inclusion, consistency }))
    const run = await logcheck(bin, [prefix, log.verifierKey, cases])
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^ok: .*sizes 300, 1100, 1100; 8 inclusion proofs; consistency 300 -> 1100/)
  })

  it('accepts the committed test vectors (test/vectors/log) served as static files', async () => {
    const root = new URL('../vectors/log/', import.meta.url).pathname
    const server = createServer((req, res) => {
      try {
        const body = readFileSync(join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/^\/log\//, '').replaceAll('..', '')))
        res.writeHead(200).end(body)
      } catch {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const p = JSON.parse(readFileSync(join(root, 'proofs.json'), 'utf8')) as { verifierKey: string; inclusion: { index: number; leafHash: string; proof: string[] }[]; consistency: { proof: string[] }[] }
      const cases = join(dir, 'vectors.json')
      writeFileSync(
        cases,
        JSON.stringify({
          old: readFileSync(join(root, 'checkpoint.100'), 'utf8'),
          new: readFileSync(join(root, 'checkpoint.300'), 'utf8'),
          inclusion: p.inclusion.map((i) => ({ index: i.index, leaf: i.leafHash, proof: i.proof })),
          consistency: p.consistency[0]!.proof,
        }),
      )
      const prefix = `http://127.0.0.1:${(server.address() as AddressInfo).port}/log`
      const run = await logcheck(bin, [prefix, p.verifierKey, cases])
      expect(run.stderr).toBe('')
      expect(run.stdout).toMatch(/sizes 100, 300, 300; 5 inclusion proofs; consistency 100 -> 300/)
    } finally {
      server.close()
    }
  })
})
