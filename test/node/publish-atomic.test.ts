import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNetwork } from '../../scripts/network-harness.ts'
import { runVouch } from './run-vouch.ts'

/**
 * `vouch publish` sends the statement with the content it names (PROTOCOL §6.8), so a relay that
 * refuses the content at upload time (here: its daily blob quota, which no probe can see ahead)
 * keeps no statement naming it, while a relay that takes the content keeps both.
 */
type Net = Awaited<ReturnType<typeof startNetwork>>
let stingy: Net
let generous: Net
let work: string

const statementsAbout = async (relay: string, subject: string) =>
  ((await (await fetch(`${relay}/v1/statements?subject=${encodeURIComponent(subject)}`)).json()) as { statements: unknown[] }).statements.length

beforeAll(async () => {
  ;[stingy, generous] = await Promise.all([
    startNetwork({ relays: 1, topology: 'ring', vars: { QUOTA_BLOB_BYTES_PER_DAY: '1000' } }),
    startNetwork({ relays: 1, topology: 'ring' }),
  ])
  work = mkdtempSync(join(tmpdir(), 'vouch-atomic-'))
  writeFileSync(join(work, 'big.bin'), Buffer.alloc(5000, 7))
}, 120_000)
afterAll(async () => Promise.all([stingy?.stop(), generous?.stop()]))

describe('publish: statement and content land together or not at all', () => {
  it('a relay that refuses the content holds no statement; the one that takes it holds both', async () => {
    const a = stingy.relays[0]!.url
    const b = generous.relays[0]!.url
    const env = { HOME: work, VOUCH_HOME: join(work, 'home') }
    expect((await runVouch(['init', '--relay', a, '--relay', b], { cwd: work, env })).code).toBe(0)

    const both = await runVouch(['publish', 'atomic@1.0.0', 'big.bin', '--json'], { cwd: work, env })
    expect(both.code, both.stderr).toBe(0)
    expect(both.stderr).toContain('quota_exceeded')
    expect(both.json.uploads).toMatchObject([{ relay: a, ok: false, status: null }, { relay: b, ok: true, status: 'stored' }])
    expect(await statementsAbout(a, 'pkg:generic/atomic@1.0.0')).toBe(0)
    expect(await statementsAbout(b, 'pkg:generic/atomic@1.0.0')).toBe(1)
    expect((await fetch(`${b}/v1/blobs/${encodeURIComponent(both.json.hash)}`, { method: 'HEAD' })).status).toBe(200)

    const only = await runVouch(['publish', 'atomic@2.0.0', 'big.bin', '--relay', a], { cwd: work, env })
    expect(only.code).toBe(3)
    expect(only.stderr).toContain('nothing was published')
    expect(await statementsAbout(a, 'pkg:generic/atomic@2.0.0')).toBe(0)
  }, 60_000)
})
