import { describe, expect, it } from 'vitest'
import { ProtocolError, verifyStatement, statementId } from '../../src/verify/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

const NOW = 1_777_895_712_055

describe('statement sign and verify', () => {
  it('a signed statement verifies and its id is the hash of its canonical form', async () => {
    const s = await makeStatement(await testKey(1))
    const v = await verifyStatement(s, { now: NOW })
    expect(v.id).toBe(await statementId(s))
    expect(v.id).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/)
    expect(JSON.parse(v.canonical)).toEqual(s)
  })

  it('a changed field breaks the signature', async () => {
    const s = await makeStatement(await testKey(1))
    await expect(verifyStatement({ ...s, subject: 'pkg:generic/mylib@1.2.4' }, { now: NOW })).rejects.toMatchObject({ code: 'bad_signature' })
  })

  it('refuses a statement from the future beyond the skew window', async () => {
    const s = await makeStatement(await testKey(1), { time: NOW + 300_001 })
    await expect(verifyStatement(s, { now: NOW, skewMs: 300_000 })).rejects.toBeInstanceOf(ProtocolError)
    const ok = await makeStatement(await testKey(1), { time: NOW + 300_000 })
    await expect(verifyStatement(ok, { now: NOW, skewMs: 300_000 })).resolves.toBeTruthy()
  })
})
