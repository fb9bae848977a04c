/**
 * `vouch check` benchmark: the built CLI judging a 1,500-package lockfile against one local relay
 * (the real Worker under wrangler's dev engine) that holds bridged claims for every package, and
 * the same lockfile from an offline bundle with no relay configured at all; also the project's own
 * package-lock.json, with a bridged claim for each of its packages.
 *
 * The relay holds, signed here: one bridge key's `published` claim per package (its lockfile
 * integrity), for every 5th package an `author` grant from the policy's root to one of 8 author
 * keys and that author's `source` claim (same hash), and for every 50th package a yank by the
 * bridge. The policy trusts the root and the bridge for npm.
 *
 * Measured, each over several rounds, as wall time of the CLI process (start-up included):
 *   check (relay)    `vouch check LOCK --json`: requests made (from its output), statements used;
 *   check (bundle)   `vouch check LOCK --bundle FILE --json`, no relay configured;
 *   bundle           `vouch bundle LOCK -o FILE`;
 *   vouch version    the CLI's start-up alone;
 * and in process, as the baseline: verifying the same statements one after another
 * (`verifyStatement`), and 8 at a time as `readBundle` does (the gain of both cores, measured in
 * the same run), and judging the lockfile from them in memory (`judgeLocked` over a memory source).
 *
 * With VOUCH_BENCH_BASELINE_CLI=path/to/another/bin/vouch.js (e.g. a build of main), that CLI's
 * check and bundle check are timed in the same rounds, alternating: on a shared machine the ratio
 * to it is the result, not the absolute times.
 *
 * `npm run bench -- check [--packages N] [--rounds N] [--quick] [--markdown]`; docs/PERFORMANCE.md.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNetwork } from '../scripts/network-harness.ts'
import { readBundle } from '../src/cli/bundle.ts'
import { judgeLocked } from '../src/cli/check.ts'
import { memoryCheckSource } from '../src/cli/check-source.ts'
import { readLockfile } from '../src/cli/lockfile.ts'
import { ensurePolicy } from '../src/policy/index.ts'
import { encodeDidKey, keyPairFromSeed, LIMITS, parseJson, signStatement, verifyStatement, type Statement, type UnsignedStatement } from '../src/verify/index.ts'
import { benchFetch } from './lib/client-ip.ts'
import { fmt, markdownTable, median, table } from './lib/stats.ts'
import { benchOptions } from './lib/options.ts'

const ROOT = join(import.meta.dirname, '..')
const BIN = join(ROOT, 'bin/vouch.js')
const BASELINE = process.env.VOUCH_BENCH_BASELINE_CLI

async function key(n: number) {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(0x5c).map((b, i) => (i === 0 ? n : b)))
  return { ...kp, did: encodeDidKey(kp.publicKey) }
}

/** Runs the built CLI; resolves with wall ms and parsed --json output. */
function vouch(args: string[], env: Record<string, string>, cwd: string, bin = BIN): Promise<{ ms: number; code: number; json: any; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } as unknown as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (err += d))
    child.on('close', (code) => {
      let json
      try {
        json = JSON.parse(out)
      } catch {
        json = undefined
      }
      resolve({ ms: performance.now() - t0, code: code ?? -1, json, stderr: err })
    })
  })
}

export async function main(args: string[]): Promise<void> {
  const options = benchOptions(args, ['packages', 'rounds'], ['quick', 'markdown'])
  const opt = options.number
  const quick = args.includes('--quick')
  const n = opt('packages', 1500)
  const rounds = opt('rounds', quick ? 2 : 5)

  // The lockfile (v3) and the project's own.
  const work = mkdtempSync(join(tmpdir(), 'vouch-bench-check-'))
  const packages: Record<string, unknown> = { '': { name: 'bench-app', version: '1.0.0' } }
  for (let i = 0; i < n; i++) {
    const name = i % 10 === 0 ? `@bench/pkg-${i}` : `pkg-${i}`
    packages[`node_modules/${name}`] = { version: `1.${i % 7}.0`, integrity: `sha512-${createHash('sha512').update(name).digest('base64')}` }
  }
  writeFileSync(join(work, 'package-lock.json'), JSON.stringify({ name: 'bench-app', lockfileVersion: 3, requires: true, packages }))
  const lock = readLockfile('package-lock.json', readFileSync(join(work, 'package-lock.json'), 'utf8'))
  const own = readLockfile('package-lock.json', readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
  mkdirSync(join(work, 'own'))
  writeFileSync(join(work, 'own/package-lock.json'), readFileSync(join(ROOT, 'package-lock.json')))

  const root = await key(1)
  const bridge = await key(2)
  const authors = await Promise.all(Array.from({ length: 8 }, (_, i) => key(10 + i)))
  const policy = { version: 1, trust: { keys: [root.did] }, bridges: [{ key: bridge.did, ecosystems: ['npm'] }] }
  for (const dir of [work, join(work, 'own')]) {
    mkdirSync(join(dir, '.vouch'), { recursive: true })
    writeFileSync(join(dir, '.vouch/policy.json'), JSON.stringify(policy))
  }

  console.error(`signing claims for ${lock.packages.length} + ${own.packages.length} packages…`)
  const t = Date.now() - 60_000
  const todo: [UnsignedStatement, Uint8Array][] = []
  const st = (k: { did: string; secretKey: Uint8Array }, subject: string, claim: string, object: string, extra: Partial<UnsignedStatement> = {}) =>
    todo.push([{ v: 1, actor: k.did, subject, claim, object, time: t, ...extra }, k.secretKey])
  lock.packages.forEach((p, i) => {
    st(bridge, p.subject, 'published', p.digest!)
    if (i % 5 === 0) {
      const a = authors[i % authors.length]!
      st(root, a.did, 'author', p.subject.slice(0, p.subject.lastIndexOf('@')))
      st(a, p.subject, 'source', p.digest!)
    }
    if (i % 50 === 0) st(bridge, p.subject, 'published', p.digest!, { not: true, time: t + 1 })
  })
  for (const p of own.packages) if (p.digest) st(bridge, p.subject, 'published', p.digest)
  const signed: Statement[] = await Promise.all(todo.map(([u, sk]) => signStatement(u, sk)))

  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
  console.error('starting one local relay…')
  const net = await startNetwork({ relays: 1, topology: 'line' })
  const relay = net.relays[0]!.url
  const online = { HOME: work, VOUCH_HOME: join(work, 'home'), VOUCH_RELAYS: relay }
  const offline = { HOME: work, VOUCH_HOME: join(work, 'offline-home') }
  const r: Record<string, number[]> = { check: [], bundleCheck: [], bundle: [], own: [], version: [], verify: [], verifyAll: [], judge: [], baseCheck: [], baseBundleCheck: [] }
  let requests = { bulk: 0, other: 0 }
  let ownRequests = { bulk: 0, other: 0 }
  let used = 0
  let summary: Record<string, number> = {}
  let ownSummary: Record<string, number> = {}
  try {
    for (let i = 0; i < signed.length; i += 1000) {
      const res = await benchFetch(`${relay}/v1/statements`, { method: 'POST', body: JSON.stringify(signed.slice(i, i + 1000)), headers: { 'content-type': 'application/json' } })
      if (res.status !== 200) throw new Error(`the relay answered ${res.status}: ${await res.text()}`)
      await res.body?.cancel()
    }
    // Warm-up, not counted: the relay's first reads, the OS's file cache of the CLI.
    await vouch(['check', 'package-lock.json', '--json'], online, work)
    const made = await vouch(['bundle', 'package-lock.json', '-o', 'bundle.json', '--json'], online, work)
    if (made.code !== 0) throw new Error(`vouch bundle failed: ${made.stderr}`)
    const bundleText = readFileSync(join(work, 'bundle.json'), 'utf8')
    const pol = ensurePolicy(policy)

    for (let round = 0; round < rounds; round++) {
      const c = await vouch(['check', 'package-lock.json', '--json'], online, work)
      if (c.code !== 1 || !c.json) throw new Error(`vouch check: exit ${c.code} ${c.stderr}`)
      r.check!.push(c.ms)
      ;({ requests, statements: used, summary } = c.json)
      const b = await vouch(['check', 'package-lock.json', '--bundle', 'bundle.json', '--json'], offline, work)
      if (JSON.stringify(b.json?.summary) !== JSON.stringify(summary)) throw new Error(`the bundle check disagrees: ${JSON.stringify(b.json?.summary)} ${b.stderr}`)
      r.bundleCheck!.push(b.ms)
      if (BASELINE) {
        const bc = await vouch(['check', 'package-lock.json', '--json'], online, work, BASELINE)
        const bb = await vouch(['check', 'package-lock.json', '--bundle', 'bundle.json', '--json'], offline, work, BASELINE)
        for (const x of [bc, bb]) if (JSON.stringify(x.json?.summary) !== JSON.stringify(summary)) throw new Error(`the baseline CLI disagrees: ${JSON.stringify(x.json?.summary)} ${x.stderr}`)
        r.baseCheck!.push(bc.ms)
        r.baseBundleCheck!.push(bb.ms)
      }
      r.bundle!.push((await vouch(['bundle', 'package-lock.json', '-o', 'bundle.json', '--json'], online, work)).ms)
      const o = await vouch(['check', 'package-lock.json', '--json'], online, join(work, 'own'))
      if (!o.json) throw new Error(`vouch check (own lockfile): ${o.stderr}`)
      r.own!.push(o.ms)
      ;({ requests: ownRequests, summary: ownSummary } = o.json)
      r.version!.push((await vouch(['version'], online, work)).ms)
      // Baselines in process: verify the statements the check used one after another (the
      // baseline of earlier tables: one core at a time), then 8 at a time as readBundle does
      // (WebCrypto's pool threads beside this one), then judge from them in memory.
      const t0 = performance.now()
      for (const raw of (parseJson(bundleText, { maxDepth: LIMITS.bodyDepth + 4 }) as { statements: unknown[] }).statements) await verifyStatement(raw, { now: Date.now() })
      r.verify!.push(performance.now() - t0)
      const t2 = performance.now()
      const { statements } = await readBundle(bundleText)
      r.verifyAll!.push(performance.now() - t2)
      const t1 = performance.now()
      await judgeLocked(memoryCheckSource(statements), lock.packages, pol)
      r.judge!.push(performance.now() - t1)
      console.error(`round ${round + 1}/${rounds}: check ${fmt(c.ms)} ms, bundle check ${fmt(b.ms)} ms`)
    }
  } finally {
    await net.stop()
    rmSync(work, { recursive: true, force: true })
  }

  const m = (k: string) => median(r[k]!)
  const rows = [
    ['measure', 'median ms', 'min', 'max', 'requests', 'statements/s', 'vs in-process verify'],
    ['vouch check, 1 local relay', fmt(m('check')), fmt(Math.min(...r.check!)), fmt(Math.max(...r.check!)), `${requests.bulk} bulk + ${requests.other}`, fmt(used / (m('check') / 1000)), `${(m('check') / m('verify')).toFixed(2)}x`],
    ['vouch check --bundle, no relay', fmt(m('bundleCheck')), fmt(Math.min(...r.bundleCheck!)), fmt(Math.max(...r.bundleCheck!)), '0', fmt(used / (m('bundleCheck') / 1000)), `${(m('bundleCheck') / m('verify')).toFixed(2)}x`],
    ['vouch bundle', fmt(m('bundle')), fmt(Math.min(...r.bundle!)), fmt(Math.max(...r.bundle!)), `${requests.bulk} bulk + ${requests.other}`, '', `${(m('bundle') / m('verify')).toFixed(1)}x`],
    [`vouch check, own package-lock.json (${own.packages.length} packages)`, fmt(m('own')), fmt(Math.min(...r.own!)), fmt(Math.max(...r.own!)), `${ownRequests.bulk} bulk + ${ownRequests.other}`, '', ''],
    ['vouch version (CLI start-up)', fmt(m('version')), fmt(Math.min(...r.version!)), fmt(Math.max(...r.version!)), '', '', ''],
    ['in process: verify the bundle, one at a time', fmt(m('verify')), fmt(Math.min(...r.verify!)), fmt(Math.max(...r.verify!)), '', fmt(used / (m('verify') / 1000)), '1.0x'],
    ['in process: verify the bundle, 8 at a time (readBundle)', fmt(m('verifyAll')), fmt(Math.min(...r.verifyAll!)), fmt(Math.max(...r.verifyAll!)), '', fmt(used / (m('verifyAll') / 1000)), `${(m('verifyAll') / m('verify')).toFixed(2)}x`],
    ...(BASELINE
      ? [
          ['baseline CLI: vouch check, 1 local relay', fmt(m('baseCheck')), fmt(Math.min(...r.baseCheck!)), fmt(Math.max(...r.baseCheck!)), '', `this CLI ${(m('check') / m('baseCheck')).toFixed(2)}x`, `${(m('baseCheck') / m('verify')).toFixed(2)}x`],
          ['baseline CLI: vouch check --bundle', fmt(m('baseBundleCheck')), fmt(Math.min(...r.baseBundleCheck!)), fmt(Math.max(...r.baseBundleCheck!)), '', `this CLI ${(m('bundleCheck') / m('baseBundleCheck')).toFixed(2)}x`, `${(m('baseBundleCheck') / m('verify')).toFixed(2)}x`],
        ]
      : []),
    ['in process: judge from memory', fmt(m('judge')), fmt(Math.min(...r.judge!)), fmt(Math.max(...r.judge!)), '', '', `${(m('judge') / m('verify')).toFixed(1)}x`],
  ]
  console.log(`\n${lock.packages.length} packages, ${used} statements used by the check, ${rounds} rounds; summary ${JSON.stringify(summary)}; own lockfile ${JSON.stringify(ownSummary)}`)
  console.log(`${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]!.toFixed(2)}\n`)
  console.log(args.includes('--markdown') ? markdownTable(rows, 1) : table(rows, 1))
}
