/**
 * The client's cost of a witness requirement (issue 16.4): believing one checkpoint with k
 * cosignatures (witnessBelief, which verifies the k Ed25519 cosignatures the policy names), beside
 * the checkpoint's own signature check. Pure CPU, no relay: rows for `npm run bench -- log`.
 */
import { witnessBelief } from '../src/client/index.ts'
import { cosign, cosignerKey, formatCheckpoint, formatCosignerKey, keyPairFromSeed, openNote, parseCheckpoint, parseVerifierKey, formatVerifierKey, signNote, type NoteVerifier } from '../src/verify/index.ts'
import { fmt, percentile } from './lib/stats.ts'

export async function cosignatureRows(ks: readonly number[] = [1, 3, 5], rounds = 200): Promise<[string, string][]> {
  const origin = 'bench.test/vouch-log'
  const log = await keyPairFromSeed(new Uint8Array(32).fill(1))
  const body = formatCheckpoint({ origin, size: 51_200, root: new Uint8Array(32).fill(2) })
  const time = Math.floor(Date.now() / 1000) - 60
  const witnesses = await Promise.all(
    Array.from({ length: Math.max(...ks) }, async (_, i) => {
      const pair = await keyPairFromSeed(new Uint8Array(32).fill(10 + i))
      const name = `w${i}.bench.test/vouch-witness`
      return { vkey: formatCosignerKey(name, pair.publicKey), line: await cosign(body, cosignerKey(name, pair.publicKey), pair.secretKey, time) }
    }),
  )
  const note = (await signNote(body, origin, log.publicKey, log.secretKey)) + witnesses.map((w) => w.line).join('')
  const verifier = parseVerifierKey(formatVerifierKey(origin, log.publicKey)) as NoteVerifier
  const checkpoint = parseCheckpoint(body)!
  const time1 = async (f: () => Promise<unknown>) => {
    const runs: number[] = []
    for (let i = 0; i < rounds; i++) {
      const t = performance.now()
      await f()
      runs.push(performance.now() - t)
    }
    return percentile(runs, 50)
  }
  const rows: [string, string][] = [['client: open a checkpoint note (log signature), median', `${fmt(await time1(() => openNote(note, verifier)))} ms`]]
  for (const k of ks) {
    const believe = witnessBelief({ witnesses: witnesses.slice(0, k).map((w) => w.vkey), k })
    const signed = { relay: 'http://bench.test', verifierKey: 'bench.test+00000000+AQ', note, opened: { text: body, verified: true } as never, checkpoint }
    const ms = await time1(async () => {
      if ((await believe(signed)) !== true) throw new Error('the benchmark checkpoint is not witnessed')
    })
    rows.push([`client: believe a checkpoint with ${k} of ${k} witness cosignatures, median`, `${fmt(ms)} ms per checkpoint fetched`])
  }
  return rows
}
