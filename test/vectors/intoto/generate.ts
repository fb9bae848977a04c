/**
 * Writes slsa-provenance-v1.dsse.json: a SLSA provenance v1 Statement in a DSSE envelope,
 * signed with the RFC 8032 §7.1 TEST 1 key (the DSSE vectors' key "A"), so anyone can check it.
 * Deterministic (Ed25519 signatures are): `node --import tsx test/vectors/intoto/generate.ts`.
 * The provenance is constructed (no real Ed25519-signed SLSA v1 envelope was found to copy); its
 * subject is the real left-pad 1.3.0 tarball (test/vectors/npm/tarballs/).
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signEnvelope, INTOTO_PAYLOAD_TYPE } from '../../../src/bridges/index.ts'
import { canonicalize, hex, sign, type Json } from '../../../src/verify/index.ts'

const here = dirname(fileURLToPath(import.meta.url))
const seed = hex.decode('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const tarball = readFileSync(join(here, '../npm/tarballs/left-pad-1.3.0.tgz'))

export const provenance = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'pkg:npm/left-pad@1.3.0', digest: { sha512: createHash('sha512').update(tarball).digest('hex') } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: { workflow: { ref: 'refs/tags/v1.3.0', repository: 'https://github.com/example/left-pad', path: '.github/workflows/release.yml' } },
      internalParameters: { github: { event_name: 'push', repository_id: '1', repository_owner_id: '1' } },
      resolvedDependencies: [
        { uri: 'git+https://github.com/example/left-pad@refs/tags/v1.3.0', digest: { gitCommit: 'a0b1c2d3e4f5061728394a5b6c7d8e9f00112233' } },
        { uri: 'https://example.org/left-pad-1.3.0-src.tar.gz', digest: { sha256: createHash('sha256').update('left-pad 1.3.0 source').digest('hex') } },
      ],
    },
    runDetails: {
      builder: { id: 'https://github.com/actions/runner/github-hosted' },
      metadata: { invocationId: 'https://github.com/example/left-pad/actions/runs/1/attempts/1' },
    },
  },
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const body = new TextEncoder().encode(canonicalize(provenance as unknown as Json))
  const env = await signEnvelope(INTOTO_PAYLOAD_TYPE, body, { keyid: 'rfc8032-test-1', sign: (m) => sign(m, seed) })
  writeFileSync(join(here, 'slsa-provenance-v1.dsse.json'), `${JSON.stringify(env, null, 2)}\n`)
  console.log('wrote slsa-provenance-v1.dsse.json')
}
