import { describe, expect, it } from 'vitest'
import example from '../../docs/examples/statement.json'
import pkg from '../../package.json'
import { SOFTWARE } from '../../src/version.ts'
import { LIMITS, verifyStatement } from '../../src/verify/index.ts'
import protocol from '../../docs/PROTOCOL.md?raw'
import wrangler from '../../wrangler.toml?raw'
import { RATE_LIMITS } from '../../src/http/limits.ts'

describe('what the README promises', () => {
  it('the example statement in docs/examples verifies', async () => {
    const v = await verifyStatement(example, { now: Date.now() })
    expect(v.statement.subject).toBe('pkg:generic/mylib@1.2.3')
  })
  it('the relay reports the version in package.json', () => {
    expect(SOFTWARE.version).toBe(pkg.version)
  })
})

describe('what PROTOCOL.md promises', () => {
  it('§7 names the /.well-known/vouch field of every limit a relay reports', () => {
    const section = protocol.slice(protocol.indexOf('## 7. Limits'), protocol.indexOf('## 8. Error codes'))
    const gate = ['statementsPerDay', 'blobBytesPerDay', 'peerStatementsPerDay', ...Object.keys(RATE_LIMITS)]
    for (const field of [...Object.keys(LIMITS), 'blobBytes', 'cpuBudgetMs', ...gate]) expect(section, field).toContain(`\`${field}\``)
  })
  it('§7 gives the rate limits wrangler.toml configures', () => {
    for (const [name, field] of [['RATE_REQUESTS', 'requestsPerMinute'], ['RATE_PEERS', 'peerRequestsPerMinute'], ['RATE_CHECKS', 'checksPerMinute']] as const) {
      const m = new RegExp(`name = "${name}"[^[]*?limit = (\\d+)`).exec(wrangler)
      expect(Number(m?.[1]), name).toBe(RATE_LIMITS[field])
    }
  })
  it('§8 lists the gate codes', () => {
    const section = protocol.slice(protocol.indexOf('## 8. Error codes'))
    for (const code of ['not_admitted', 'quota_exceeded', 'rate_limited']) expect(section).toContain(`\`${code}\``)
  })
  it('§8 lists bad_config', () => {
    expect(protocol.slice(protocol.indexOf('## 8. Error codes'))).toContain('`bad_config`')
  })
})
