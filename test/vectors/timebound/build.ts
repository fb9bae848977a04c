import { utf8 } from '../../../src/verify/index.ts'
import vectors from '../cosignature/cosignatures.json'
import { entryOf } from '../log/build.ts'

/**
 * Witnessed time bound vectors (docs/PROTOCOL.md §6.13) over the log and cosignature vectors: the
 * relay's current checkpoint is `log/checkpoint` (300 leaves, tiles under `log/tile`); the
 * witnessed checkpoint for a leaf is a cosigned note of the cosignature vectors. Each case gives
 * the expected bound in ms (the k-th earliest cosignature time, to the end of its second), or the
 * reason there is none; and `prefix`, whether the leaf counts when this witnessed checkpoint is the
 * latest and the current one has no cosignatures (§6.11). `node --import tsx
 * test/vectors/timebound/build.ts` rewrites bounds.json.
 */
export function buildTimeBoundVectors(): string {
  const note = (file: string) => vectors.cases.find((c) => c.checkpoint === file)!.cosignedNote
  const w1 = vectors.cases[0]!.witnesses[0]!
  const w2 = vectors.cases[0]!.witnesses[1]!
  const end = (t: number) => (t + 1) * 1000
  const cases = [
    { leaf: 42, witnessed: note('checkpoint.100'), witnesses: [w1.vkey, w2.vkey], k: 1, bound: { at: end(w1.time), by: [w1.name], size: 100 } },
    { leaf: 42, witnessed: note('checkpoint.100'), witnesses: [w1.vkey, w2.vkey], k: 2, bound: { at: end(w2.time), by: [w1.name, w2.name], size: 100 } },
    { leaf: 99, witnessed: note('checkpoint.100'), witnesses: [w2.vkey], k: 1, bound: { at: end(w2.time), by: [w2.name], size: 100 } },
    { leaf: 250, witnessed: note('checkpoint.300'), witnesses: [w1.vkey, w2.vkey], k: 2, bound: { at: end(w2.time), by: [w1.name, w2.name], size: 300 } },
    { leaf: 100, witnessed: note('checkpoint.100'), witnesses: [w1.vkey], k: 1, none: 'not_included' },
  ].map((c) => ({
    ...c,
    entry: new TextDecoder().decode(entryOf(c.leaf)),
    // Under a witness requirement with this witnessed checkpoint as the latest (PROTOCOL §6.11): only its prefix of the current tree counts.
    prefix: c.leaf < Number(c.witnessed.split('\n')[1]) ? 'counts' : 'not_witnessed',
  }))
  return (
    JSON.stringify(
      {
        comment:
          'Witnessed time bounds (PROTOCOL §6.13) over test/vectors/log (current checkpoint: 300 leaves) and test/vectors/cosignature. bound.at is ms. prefix: the leaf verdict when the current checkpoint has no cosignatures and `witnessed` is the latest witnessed one, under the same witnesses and k (§6.11).',
        cases,
      },
      null,
      2,
    ) + '\n'
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import('node:fs')
  writeFileSync(new URL('./bounds.json', import.meta.url), utf8(buildTimeBoundVectors()))
}
