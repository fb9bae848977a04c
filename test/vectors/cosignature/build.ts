import { ed25519 } from '@noble/curves/ed25519'
import {
  base64,
  cosign,
  cosignedMessage,
  cosignerKey,
  formatCosignerKey,
  keyPairFromSeed,
  splitNote,
  utf8,
} from '../../../src/verify/index.ts'
import { buildLogVectors } from '../log/build.ts'

/**
 * Cosignature vectors (C2SP tlog-cosignature v1, Ed25519, type 0x04; docs/PROTOCOL.md "Witnesses"):
 * two fixed witness keys cosign the fixed log's checkpoints at fixed times. Ed25519 is deterministic,
 * so `npm run vectors:cosignature` rewrites cosignatures.json byte for byte; every signature is checked
 * against @noble/curves before the file is written.
 */
export const WITNESSES = [
  { name: 'witness.example/w1', seed: new Uint8Array(32).fill(0x57) },
  { name: 'witness.example/w2', seed: new Uint8Array(32).fill(0x58) },
]
export const TIMES = [1_777_895_712, 1_777_895_772]

export async function buildCosignatureVectors(): Promise<string> {
  const log = await buildLogVectors()
  const cases = []
  for (const file of ['checkpoint.100', 'checkpoint.300']) {
    const note = new TextDecoder().decode(log.get(file))
    const { body } = splitNote(note)
    const lines: string[] = []
    const witnesses = []
    for (const [i, w] of WITNESSES.entries()) {
      const kp = await keyPairFromSeed(w.seed)
      const key = cosignerKey(w.name, kp.publicKey)
      const line = await cosign(body, key, kp.secretKey, TIMES[i]!)
      const raw = base64.decode(line.slice(line.lastIndexOf(' ') + 1, -1))
      const message = cosignedMessage(body, TIMES[i]!)
      if (!ed25519.verify(raw.slice(12), message, kp.publicKey)) throw new Error(`@noble/curves refuses ${w.name}'s cosignature`)
      lines.push(line)
      witnesses.push({ name: w.name, vkey: formatCosignerKey(w.name, kp.publicKey), time: TIMES[i], message: new TextDecoder().decode(message), line })
    }
    cases.push({ checkpoint: file, body, witnesses, cosignedNote: note + lines.join('') })
  }
  const spec = {
    comment: 'The example in c2sp.org/tlog-cosignature: its cosignature line carries key id 8d66cf3f and time 1679315147; its signed message is this text.',
    line: '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==',
    keyId: '8d66cf3f',
    time: 1679315147,
    body: 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    message: 'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
  }
  return JSON.stringify({ comment: 'tlog-cosignature v1 (Ed25519, type 0x04) over the log vectors\' checkpoints. Seeds: 32 bytes of 0x57 and 0x58.', cases, spec }, null, 2) + '\n'
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import('node:fs')
  writeFileSync(new URL('./cosignatures.json', import.meta.url), utf8(await buildCosignatureVectors()))
}
