import type { RelayEnv } from '../config.ts'
import { peerInfo } from '../gossip/caps.ts'
import { listPeers } from '../gossip/index.ts'
import { peerHeaders } from '../gossip/identity.ts'
import { allowPrivate, peerTimeoutMs } from '../gossip/peers.ts'
import { checkpoint, keepWitnessed, logIdentity, readTile } from '../log/index.ts'
import { fetchCapped } from '../net/index.ts'
import {
  base64,
  consistencyProof,
  decodeStrictUtf8,
  formatAddCheckpoint,
  parseCheckpoint,
  parseCosignerKey,
  NOTE_MAX_SIGNATURES,
  parseSignatureLines,
  splitNote,
  tileHashReader,
  verifyCosignature,
  type CosignerKey,
} from '../verify/index.ts'

/**
 * Collection: the relay submits its checkpoint to every push peer that runs a witness (its
 * /.well-known/vouch `witness`), with a consistency proof from the size that witness last
 * cosigned, and keeps the cosignatures it gets for the checkpoint they sign. Only push peers: a
 * relay that only pulls from a peer sends it nothing. Runs on the cron, after integration.
 */

const COSIGNED_KEY = 'log:cosigned'
const witnessKey = (vkey: string) => `log:witness:${vkey}`
/** An answer is a few signature lines; a 409 one number. */
const ANSWER_MAX_BYTES = 16 * 1024

interface Cosigned {
  /** The checkpoint body the lines sign. */
  body: string
  /** Cosignature lines by witness name. */
  lines: Record<string, string>
}

export async function collectCosignatures(env: RelayEnv, waitUntil: (p: Promise<unknown>) => void): Promise<number> {
  const id = await logIdentity(env, '')
  if (!id) return 0
  const peers = await listPeers(env, 'push')
  const infos = await Promise.all(peers.map((p) => peerInfo(env, p)))
  const witnesses = peers.flatMap((peer, i) => {
    const key = infos[i]!.witness && parseCosignerKey(infos[i]!.witness!.verifierKey)
    return key ? [{ peer, key, vkey: infos[i]!.witness!.verifierKey }] : []
  })
  if (!witnesses.length) return 0
  const note = await checkpoint(env, id, waitUntil)
  const { body } = splitNote(note)
  const cp = parseCheckpoint(body)!
  const hashes = tileHashReader(cp.size, async (level, index, width) => {
    const bytes = await readTile(env, { level, index, width })
    if (!bytes) throw new Error(`log tile ${level}/${index} (width ${width}) is missing`)
    return bytes
  })
  const stored = await env.CACHE.get<Cosigned>(COSIGNED_KEY, 'json')
  const lines = stored?.body === body ? { ...stored.lines } : {}
  let added = 0
  await Promise.all(
    witnesses
      .filter((w) => !lines[w.key.name])
      .map(async (w) => {
        try {
          const line = await submit(env, w.peer, w.key, note, body, cp.size, ((await env.CACHE.get<{ size: number }>(witnessKey(w.vkey), 'json'))?.size ?? 0), (m, n) => consistencyProof(m, n, hashes))
          if (line) {
            lines[w.key.name] = line
            added++
            await env.CACHE.put(witnessKey(w.vkey), JSON.stringify({ size: cp.size }))
          }
        } catch (e) {
          console.warn(`witness ${w.peer}: ${(e as Error).message}`)
        }
      }),
  )
  await env.CACHE.put(COSIGNED_KEY, JSON.stringify({ body, lines } satisfies Cosigned))
  // The witnessed history (PROTOCOL §6.13): a D1 row only when this run got a new cosignature.
  if (added) await keepWitnessed(env.DB, cp.size, note + joinLines(lines))
  return Object.keys(lines).length
}

/** One add-checkpoint exchange, retried once from the size a 409 names. The verified line, or undefined. */
async function submit(
  env: RelayEnv,
  peer: string,
  key: CosignerKey,
  note: string,
  body: string,
  size: number,
  old: number,
  proofOf: (m: number, n: number) => Promise<Uint8Array[]>,
): Promise<string | undefined> {
  const url = `${peer}/v1/witness/add-checkpoint`
  for (let attempt = 0; attempt < 2; attempt++) {
    if (old > size) {
      // The witness cosigned a larger tree of this log than it has now: the log lost leaves.
      console.error(`witness ${peer} has cosigned ${old} leaves of this log, which now has ${size}`)
      return undefined
    }
    const proof = old === 0 || old === size ? [] : await proofOf(old, size)
    const text = formatAddCheckpoint({ oldSize: old, proof, note }, (h) => base64.encode(h))
    const res = await fetchCapped(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', ...(await peerHeaders(env, 'POST', url, text)) },
      body: text,
      timeoutMs: peerTimeoutMs(env),
      maxBytes: ANSWER_MAX_BYTES,
      allowPrivate: allowPrivate(env),
    })
    const answer = decodeStrictUtf8(res.bytes) ?? ''
    if (res.status === 409 && /^(0|[1-9][0-9]{0,15})\n$/.test(answer)) {
      old = Number(answer.trim())
      continue
    }
    if (res.status !== 200) throw new Error(`add-checkpoint answered HTTP ${res.status}: ${answer.slice(0, 200)}`)
    for (const sig of parseSignatureLines(answer)) {
      if ((await verifyCosignature(body, sig, key)) !== undefined) return `— ${sig.name} ${base64.encode(new Uint8Array([...sig.keyHash, ...sig.signature]))}\n`
    }
    throw new Error('add-checkpoint answered no valid cosignature by the key the witness publishes')
  }
  return undefined
}

/** The checkpoint note with the cosignature lines collected for this very body appended (signed-note allows extra signature lines). */
export async function withCosignatures(env: RelayEnv, note: string): Promise<string> {
  const stored = await env.CACHE.get<Cosigned>(COSIGNED_KEY, 'json')
  if (!stored || !note.startsWith(stored.body + '\n') || splitNote(note).body !== stored.body) return note
  return note + joinLines(stored.lines)
}

/** A reader refuses a note of more than NOTE_MAX_SIGNATURES lines: the log's own line and at most that many less one. */
const joinLines = (lines: Record<string, string>) =>
  Object.keys(lines)
    .sort()
    .slice(0, NOTE_MAX_SIGNATURES - 1)
    .map((k) => lines[k])
    .join('')
