import { parseCosignerKey, splitNote, verifyCosignature, type CosignerKey, type NoteSignature } from '../verify/index.ts'
import type { BeliefRefusal, CheckpointBelief, SignedCheckpoint } from './log.ts'
import { witnessedPrefix, type PrefixBelief } from './witnessed-prefix.ts'

/**
 * The client policy "believe a relay's checkpoint only with k cosignatures from witnesses I name"
 * (issue 16.4, PROTOCOL §6.11): a relay alone can sign a history shown to this client only, but a
 * witness cosigns one consistent history per log, so a split view needs the witnesses to collude.
 */
export interface WitnessRequirement {
  /** Witness verifier keys, `<name>+<8 hex key id>+<base64(0x04 ‖ key)>`, as relays publish them. */
  witnesses: readonly string[]
  /** Distinct named witnesses whose valid cosignature a checkpoint needs. */
  k: number
  /** A cosignature older than this does not count; no limit when absent. */
  maxAgeSeconds?: number
  /** How far in the future a cosignature's time may be (clocks differ); default 5 minutes. */
  clockSkewMs?: number
}

export interface WitnessCount {
  ok: boolean
  /** The witnesses that count, each once, with the time it cosigned (POSIX seconds). */
  cosigners: { name: string; time: number }[]
  /** Valid cosignatures that do not count because of their time, and why. */
  refused: { name: string; time: number; why: 'future' | 'too_old' }[]
}

/**
 * Counts the named witnesses with a valid cosignature over the note's body whose time is sane: not
 * later than now + skew (a witness's clock that runs ahead must not make a view look fresher than
 * it is) and, with `maxAgeSeconds`, not older than that (a view frozen in the past). A witness with
 * several lines counts once. Lines of keys not named are ignored, as signed-note asks. The log's
 * own signature is not checked here (the LogChecker has opened the note with the log's key).
 * RangeError on a malformed note or key, on k outside 1…keys.length.
 */
export async function countWitnesses(
  note: string,
  keys: readonly CosignerKey[],
  k: number,
  o: { nowMs: number; clockSkewMs?: number; maxAgeSeconds?: number },
): Promise<WitnessCount> {
  if (!Number.isSafeInteger(k) || k < 1 || k > keys.length) throw new RangeError(`k must be a whole number from 1 to the ${keys.length} witnesses named, got ${k}`)
  if (!Number.isFinite(o.nowMs)) throw new RangeError(`nowMs must be a time in milliseconds, got ${o.nowMs}`)
  const { body, signatures } = splitNote(note)
  const latest = (o.nowMs + (o.clockSkewMs ?? 300_000)) / 1000
  const earliest = o.maxAgeSeconds === undefined ? -Infinity : o.nowMs / 1000 - o.maxAgeSeconds
  const cosigners: WitnessCount['cosigners'] = []
  const refused: WitnessCount['refused'] = []
  const seen = new Set<string>()
  for (const key of keys) {
    // Two entries for one witness name would let one witness count twice: the schema refuses them, and so does this.
    if (seen.has(key.name)) throw new RangeError(`the witness ${key.name} is named twice`)
    seen.add(key.name)
    let refusal: WitnessCount['refused'][number] | undefined
    for (const sig of signatures.filter((s: NoteSignature) => s.name === key.name)) {
      const time = await verifyCosignature(body, sig, key)
      if (time === undefined) continue
      if (time > latest) refusal ??= { name: key.name, time, why: 'future' }
      else if (time < earliest) refusal ??= { name: key.name, time, why: 'too_old' }
      else {
        cosigners.push({ name: key.name, time })
        refusal = undefined
        break
      }
    }
    if (refusal) refused.push(refusal)
  }
  return { ok: cosigners.length >= k, cosigners, refused }
}

/** Parses the requirement once, so a bad key is found before any relay is asked. */
function keysOf(req: WitnessRequirement): CosignerKey[] {
  return req.witnesses.map((w) => {
    const key = parseCosignerKey(w)
    if (!key) throw new RangeError(`witness key ${JSON.stringify(w.slice(0, 100))} is not a cosignature/v1 (type 0x04) verifier key`)
    return key
  })
}

const ago = (seconds: number) => (seconds >= 7200 ? `${Math.round(seconds / 3600)} h` : seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`)

/**
 * The LogChecker's belief for a requirement: `true` when the checkpoint has k cosignatures; else,
 * from the relay's latest witnessed checkpoint, belief in the prefix it holds (./witnessed-prefix.ts);
 * else a `not_witnessed` refusal that says how many cosignatures the checkpoint has, from whom,
 * and which did not count and why.
 */
export function witnessBelief(req: WitnessRequirement, now: () => number = Date.now): CheckpointBelief {
  const keys = keysOf(req)
  if (!Number.isSafeInteger(req.k) || req.k < 1 || req.k > keys.length) throw new RangeError(`k must be a whole number from 1 to the ${keys.length} witnesses named, got ${req.k}`)
  const names = keys.map((x) => x.name)
  return async (c: SignedCheckpoint): Promise<true | BeliefRefusal | PrefixBelief> => {
    const nowMs = now()
    let count: WitnessCount
    try {
      count = await countWitnesses(c.note, keys, req.k, { nowMs, clockSkewMs: req.clockSkewMs, maxAgeSeconds: req.maxAgeSeconds })
    } catch (e) {
      if (!(e instanceof RangeError)) throw e
      return { code: 'not_witnessed', message: `${c.relay}'s checkpoint cannot be read for cosignatures (${e.message})` }
    }
    if (count.ok) return true
    const why = count.refused.map((r) => (r.why === 'future' ? `${r.name}'s is dated ${ago(r.time - nowMs / 1000)} in the future` : `${r.name}'s is ${ago(nowMs / 1000 - r.time)} old`))
    const have = count.cosigners.length ? ` (from ${count.cosigners.map((x) => x.name).join(', ')})` : ''
    const short =
      `${c.relay}'s checkpoint of ${c.checkpoint.origin} (${c.checkpoint.size} leaves) is not witnessed: it has ${count.cosigners.length}${have} of the ${req.k} cosignature${req.k === 1 ? '' : 's'} ` +
      `the policy requires from ${names.join(', ')}${why.length ? `; not counted: ${why.join('; ')}` : ''}`
    // Witnesses cosign once a cron round: the latest witnessed checkpoint vouches for the prefix it holds (./witnessed-prefix.ts).
    if (c.log) return witnessedPrefix(c, keys, req, nowMs, short)
    return { code: 'not_witnessed', message: `${short}. Its answers were dropped` }
  }
}

/** Under a witness requirement, a relay that publishes no log has nothing a witness could have cosigned. */
export const unwitnessedRelay = (relay: string): BeliefRefusal => ({
  code: 'not_witnessed',
  message: `${relay} publishes no log, so no witness can have cosigned what it serves; its answers were dropped`,
})
