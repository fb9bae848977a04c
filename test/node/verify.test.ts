import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { createStatement, generateKeyPair, keySigner, publish, querySource, sign } from '../../src/client/index.ts'
import { ensurePolicy, evaluate, FactIndex, gatherForVerdict, type Explanation } from '../../src/policy/index.ts'
import { BIN, ROOT, runVouch, type Run } from './run-vouch.ts'

/**
 * `vouch verify` and `vouch fetch --policy`: the built CLI as a subprocess against two real local
 * relays, with four identities (me: the policy's root; an author I name; a builder I trust; a
 * stranger), and gatherForVerdict called directly for alias roots and its bounds.
 */

type Net = Awaited<ReturnType<typeof startNetwork>>
type Who = 'me' | 'author' | 'builder' | 'stranger'

let net: Net
let relays: string[]
let work: string
const dids = {} as Record<Who, string>

function vouch(who: Who, args: string[]): Promise<Run> {
  return runVouch(args, { cwd: work, env: { HOME: work, VOUCH_HOME: join(work, who), VOUCH_RELAYS: relays.join(' ') } })
}

const ids = (e: Explanation): string[] => [...(e.statements ?? []), ...(e.children ?? []).flatMap(ids)]
const short = (id: string) => id.slice(0, 15) // as renderExplanation prints ids
const policyFile = () => join(work, 'me', 'policy.json')

function dir(name: string, text: string) {
  mkdirSync(join(work, name), { recursive: true })
  writeFileSync(join(work, name, 'index.js'), text)
  return name
}

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'inherit' })
  work = mkdtempSync(join(tmpdir(), 'vouch-verify-'))
  net = await startNetwork({ relays: 2, topology: 'line' })
  relays = net.relays.map((r) => r.url)
  await Promise.all(
    (['me', 'author', 'builder', 'stranger'] as const).map(async (who) => {
      const r = await vouch(who, ['init', '--json'])
      expect(r.code).toBe(0)
      dids[who] = r.json.did
    }),
  )
}, 120_000)

afterAll(async () => {
  await net?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('vouch verify and fetch --policy', { timeout: 30_000 }, () => {
  /** The statements the explanation must name. */
  const s = {} as Record<'source' | 'grant' | 'trustBuilder' | 'build' | 'stranger', string>
  let good = ''
  let bad = ''
  let output = ''

  it('trusted: an author my key names, a builder it trusts; the explanation names the statements', async () => {
    const pub = await vouch('author', ['publish', 'mylib@1.0.0', dir('good', 'export const ok = 1\n'), '--json'])
    expect(pub.code).toBe(0)
    ;[good, s.source] = [pub.json.hash, pub.json.id]
    const [grant, builder] = await Promise.all([vouch('me', ['author', 'add', dids.author, 'mylib', '--json']), vouch('me', ['trust-builder', dids.builder, '--json'])])
    expect(builder.code).toBe(0)
    s.grant = grant.json.id
    s.trustBuilder = builder.json.id
    writeFileSync(join(work, 'mylib.bin'), 'built bytes\n')
    const build = await vouch('builder', ['build', good, 'mylib.bin', '--system', 'x86_64-linux', '--json'])
    expect(build.code).toBe(0)
    ;[output, s.build] = [build.json.output, build.json.id]
    // A stranger claims another hash for the same version: under my policy it does not count.
    const other = await vouch('stranger', ['publish', 'mylib@1.0.0', dir('bad', 'export const ok = 0\n'), '--json'])
    ;[bad, s.stranger] = [other.json.hash, other.json.id]

    const none = await vouch('me', ['verify', 'mylib@1.0.0'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('vouch policy init')
    const init = await vouch('me', ['policy', 'init', '--json'])
    expect(init.code).toBe(0)
    expect(init.json.policy.trust.keys).toEqual([dids.me])

    const text = await vouch('me', ['verify', 'mylib@1.0.0'])
    expect(text.stderr).toBe('')
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^verdict +trusted$/m)
    expect(text.stdout).toMatch(new RegExp(`^source +${good.replace(/[+/]/g, '\\$&')}$`, 'm'))
    expect(text.stdout).toContain(`build    x86_64-linux: ${output} (1 builder)`)
    for (const id of Object.values(s)) expect(text.stdout).toContain(short(id))
    expect(text.stdout).toContain('✓ pkg:generic/mylib@1.0.0: trusted')
    expect(text.stdout).toMatch(/✗ did:key:z6Mk.* claims .* but is not an author of pkg:generic\/mylib under this policy/)

    const json = await vouch('me', ['verify', 'mylib@1.0.0', '--json'])
    expect(json.code).toBe(0)
    expect(json.json).toMatchObject({
      verdict: 'trusted',
      subject: 'pkg:generic/mylib@1.0.0',
      source: good,
      builds: [{ system: 'x86_64-linux', output, builders: [dids.builder] }],
      policy: policyFile(),
      gathered: { complete: true },
      warnings: [],
    })
    expect(json.json.explanation.rule).toBe('verdict')
    expect(new Set(ids(json.json.explanation))).toEqual(new Set(Object.values(s)))
  })

  it('fetch --policy downloads only the accepted hash, or the accepted build output', async () => {
    const plain = await vouch('me', ['fetch', 'mylib@1.0.0', '-o', 'plain'])
    expect(plain.code).toBe(1) // two hashes are claimed; without a policy fetch cannot choose
    expect(plain.stderr).toContain(bad)

    const f = await vouch('me', ['fetch', 'mylib@1.0.0', '--policy', policyFile(), '-o', 'fetched', '--json'])
    expect(f.code).toBe(0)
    expect(f.json).toMatchObject({ hash: good, type: 'nar', verdict: 'trusted', actors: [dids.author], statements: [s.source] })
    expect(readFileSync(join(work, 'fetched/index.js'), 'utf8')).toBe('export const ok = 1\n')

    const b = await vouch('me', ['fetch', 'mylib@1.0.0', '--policy', policyFile(), '--build', 'x86_64-linux', '-o', 'built.bin', '--json'])
    expect(b.code).toBe(0)
    expect(b.json).toMatchObject({ hash: output, verdict: 'trusted', build: 'x86_64-linux', actors: [dids.builder], statements: [s.build] })
    expect(readFileSync(join(work, 'built.bin'), 'utf8')).toBe('built bytes\n')

    const arm = await vouch('me', ['fetch', 'mylib@1.0.0', '--policy', policyFile(), '--build', 'aarch64-linux', '-o', 'arm.bin'])
    expect(arm.code).toBe(1)
    expect(arm.stderr).toContain('accepts builds for x86_64-linux')
    expect(existsSync(join(work, 'arm.bin'))).toBe(false)
    expect((await vouch('me', ['fetch', good, '--policy', policyFile(), '-o', 'x'])).code).toBe(2)
    expect((await vouch('me', ['fetch', 'mylib@1.0.0', '--build', 'x86_64-linux', '-o', 'x'])).code).toBe(2)
  })

  it('policy files: comments allowed, every field checked, builds.required and agree apply', async () => {
    const strict = join(work, 'strict.json')
    writeFileSync(strict, `// two builders must agree\n{\n  "version": 1, /* mine */ "trust": { "keys": ["${dids.me}"] },\n  "builds": { "required": true, "agree": 2 }\n}\n`)
    const r = await vouch('me', ['verify', 'mylib@1.0.0', '--policy', strict, '--json'])
    expect(r.code).toBe(1)
    expect(r.json).toMatchObject({ verdict: 'untrusted', source: good, builds: [] })
    expect(r.json.explanation.children.find((c: Explanation) => c.rule === 'builds').text).toContain('2 agreeing trusted builders (required)')
    const refused = await vouch('me', ['fetch', 'mylib@1.0.0', '--policy', strict, '-o', 'strict-out'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('✗ no build output with 2 agreeing trusted builders (required)')
    expect(existsSync(join(work, 'strict-out'))).toBe(false)

    writeFileSync(join(work, 'typo.json'), `{"version": 1, "trust": {"keys": []}, "bulds": {}}`)
    const typo = await vouch('me', ['verify', 'mylib@1.0.0', '--policy', 'typo.json'])
    expect(typo.code).toBe(5)
    expect(typo.stderr).toContain('bulds')
    expect((await vouch('me', ['verify', 'mylib@1.0.0', '--policy', 'missing.json'])).code).toBe(2)
    expect((await vouch('me', ['policy', 'init'])).code).toBe(5) // never overwrites
    for (const c of ['verify', 'policy']) expect((await vouch('me', [c, '--help'])).stdout).toMatch(/Usage:[\s\S]*Examples:\n {2}vouch /)
  })

  it('gatherForVerdict: alias roots through the proof checker, spam re-read per key, bounds reported', async () => {
    const policy = ensurePolicy({ version: 1, trust: { keys: [dids.me] } })
    const subject = 'pkg:generic/mylib@1.0.0'
    // One statement per page: every broad answer is cut short, so the engine's inputs are re-read per trusted key.
    const small = await gatherForVerdict(querySource(relays).read, subject, policy, { perQuery: 1 })
    expect(small.complete).toBe(true)
    expect(evaluate(new FactIndex(small.facts), policy, subject, { now: small.now }).source).toBe(good)
    const bounded = await gatherForVerdict(querySource(relays).read, subject, policy, { maxQueries: 2 })
    expect(bounded.complete).toBe(false)
    expect(bounded.queries).toBe(2)
    expect(bounded.incomplete.join()).toContain('maxQueries')

    // A key that claims to be dns:example.org is a root only once the checker proves it.
    const key = await generateKeyPair()
    const signer = keySigner(key)
    const statements = await Promise.all(
      [
        { subject: signer.did, claim: 'alias', object: 'dns:example.org' },
        { subject: 'pkg:generic/aliaslib@1.0.0', claim: 'source', object: good },
      ].map((f) => sign(createStatement({ ...f, actor: signer.did }), signer)),
    )
    await publish(relays, statements)
    const byAlias = ensurePolicy({ version: 1, trust: { aliases: [{ aliases: ['dns:example.org'] }] } })
    const asked: { did: string; alias: string }[][] = []
    const proved = await gatherForVerdict(querySource(relays).read, 'pkg:generic/aliaslib@1.0.0', byAlias, {
      proofs: async (claims) => (asked.push(claims), claims.map((c) => ({ ...c, method: 'dns' }))),
    })
    expect(asked).toEqual([[{ did: signer.did, alias: 'dns:example.org' }]])
    expect(evaluate(new FactIndex(proved.facts), byAlias, 'pkg:generic/aliaslib@1.0.0', { now: proved.now, proofs: proved.proofs })).toMatchObject({ verdict: 'trusted', source: good })
    const unproved = await gatherForVerdict(querySource(relays).read, 'pkg:generic/aliaslib@1.0.0', byAlias, { proofs: async () => [] })
    expect(evaluate(new FactIndex(unproved.facts), byAlias, 'pkg:generic/aliaslib@1.0.0', { now: unproved.now, proofs: unproved.proofs }).verdict).toBe('untrusted')
  })

  it('a conflict: two keys the policy trusts claim different hashes', async () => {
    await vouch('author', ['publish', 'mylib@2.0.0', 'good', '--no-upload'])
    await vouch('me', ['publish', 'mylib@2.0.0', 'bad', '--no-upload']) // a root may publish (rootsMayPublish)
    const r = await vouch('me', ['verify', 'mylib@2.0.0', '--json'])
    expect(r.code).toBe(1)
    expect(r.json.verdict).toBe('conflict')
    expect(r.json.source).toBeUndefined()
    expect(r.json.explanation.text).toBe('pkg:generic/mylib@2.0.0: conflict (source)')
    const text = await vouch('me', ['verify', 'mylib@2.0.0'])
    expect(text.code).toBe(1)
    expect(text.stdout).toContain(`✗ trusted keys disagree on the source of pkg:generic/mylib@2.0.0: `)
    const f = await vouch('me', ['fetch', 'mylib@2.0.0', '--policy', policyFile(), '-o', 'conflict-out'])
    expect(f.code).toBe(1)
    expect(f.stderr).toContain('the policy does not accept pkg:generic/mylib@2.0.0 (conflict)')
    expect(existsSync(join(work, 'conflict-out'))).toBe(false)
  })

  it('a yank: the version becomes untrusted, and fetch --policy refuses it', async () => {
    const y = await vouch('author', ['yank', 'mylib@1.0.0', good, '--json'])
    expect(y.code).toBe(0)
    const r = await vouch('me', ['verify', 'mylib@1.0.0'])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^verdict +untrusted$/m)
    expect(r.stdout).toContain(`says pkg:generic/mylib@1.0.0 IS NOT ${good}  [${short(y.json.id)}]`)
    const f = await vouch('me', ['fetch', 'mylib@1.0.0', '--policy', policyFile(), '-o', 'yanked', '--json'])
    expect(f.code).toBe(1)
    expect(f.json.error).toMatchObject({ code: 'untrusted', exit: 1 })
    expect(existsSync(join(work, 'yanked'))).toBe(false)
  })
})
