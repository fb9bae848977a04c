import { describe, expect, it } from 'vitest'
import example from '../../docs/examples/statement.json'
import pkg from '../../package.json'
import { SOFTWARE } from '../../src/version.ts'
import { verifyStatement } from '../../src/verify/index.ts'

describe('what the README promises', () => {
  it('the example statement in docs/examples verifies', async () => {
    const v = await verifyStatement(example, { now: Date.now() })
    expect(v.statement.subject).toBe('pkg:generic/mylib@1.2.3')
  })
  it('the relay reports the version in package.json', () => {
    expect(SOFTWARE.version).toBe(pkg.version)
  })
})
