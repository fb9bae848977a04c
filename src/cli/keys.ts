import { constants } from 'node:fs'
import { mkdir, open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { base64url, decodeBase64url, decodeDidKey, encodeDidKey, equalBytes, keyPairFromSeed } from '../verify/index.ts'
import { keySigner, type Signer } from '../client/index.ts'
import type { Paths } from './config.ts'
import { localError, usageError } from './errors.ts'
import { agentKeys, agentSign, parsePublicKeyLine, publicKeyLine } from './ssh.ts'

/**
 * Keys live in `<config dir>/keys/<name>.key`, one JSON file each, mode 0600 in a 0700
 * directory. A key file readable or writable by anyone but its owner is refused, as ssh does:
 * a key others could read may already be someone else's.
 *
 * `{"type": "vouch-key", "v": 1, "did": "did:key:…", "seed": "<32 bytes, base64url>"}`, or for a
 * key held by ssh-agent (no secret on disk) `{"type": "vouch-agent-key", "v": 1, "did": …,
 * "ssh": "ssh-ed25519 AAAA…"}`.
 */
export type KeyFile =
  | { type: 'vouch-key'; v: 1; did: string; seed: string }
  | { type: 'vouch-agent-key'; v: 1; did: string; ssh: string }

export interface KeyInfo {
  name: string
  did: string
  publicKey: Uint8Array
  kind: 'file' | 'ssh-agent'
  path: string
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export function checkKeyName(name: string): string {
  if (!NAME.test(name)) throw usageError(`bad key name ${JSON.stringify(name)}: letters, digits, ".", "_" and "-", at most 64`)
  return name
}

export const keyPath = (p: Paths, name: string) => join(p.keys, `${checkKeyName(name)}.key`)

/**
 * Reads a secret file, refusing it if anyone but the owner may read or write it. The mode is
 * checked on the open descriptor, so the file checked is the file read.
 */
export async function readPrivateFile(path: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw localError('no_key', `${path} does not exist`)
    if (e.code === 'ELOOP') throw localError('key_permissions', `${path} is a symlink; key files must be regular files`)
    throw e
  })
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw localError('key_permissions', `${path} is not a regular file`)
    if ((st.mode & 0o077) !== 0) {
      throw localError('key_permissions', `${path} is accessible by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it`, `run \`chmod 600 ${path}\` if only you have seen it, or make a new key`)
    }
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
      throw localError('key_permissions', `${path} belongs to another user; refusing to use it`)
    }
    if (st.size > 64 * 1024) throw localError('bad_key', `${path} is too large to be a key`)
    return await fh.readFile('utf8')
  } finally {
    await fh.close()
  }
}

export async function readKey(p: Paths, name: string): Promise<KeyInfo & { file: KeyFile }> {
  const path = keyPath(p, name)
  const text = await readPrivateFile(path).catch((e) => {
    if ((e as { code?: string }).code === 'no_key') throw localError('no_key', `no key named ${JSON.stringify(name)} (${path})`, '`vouch key list` shows your keys; `vouch init` or `vouch key new` makes one')
    throw e
  })
  const bad = (why: string) => localError('bad_key', `${path}: ${why}`)
  let f: KeyFile
  try {
    f = JSON.parse(text) as KeyFile
  } catch {
    throw bad('not valid JSON')
  }
  const publicKey = f?.did ? decodeDidKey(f.did) : undefined
  if (!publicKey || f.v !== 1) throw bad('not a vouch key file')
  if (f.type === 'vouch-key') {
    const seed = decodeBase64url(f.seed ?? '')
    if (!seed || seed.length !== 32) throw bad('malformed seed')
    if (!equalBytes((await keyPairFromSeed(seed)).publicKey, publicKey)) throw bad('the seed does not belong to the did')
    return { name, did: f.did, publicKey, kind: 'file', path, file: f }
  }
  if (f.type === 'vouch-agent-key') {
    const ssh = parsePublicKeyLine(f.ssh ?? '')
    if (!ssh || !equalBytes(ssh.publicKey, publicKey)) throw bad('the ssh key does not belong to the did')
    return { name, did: f.did, publicKey, kind: 'ssh-agent', path, file: f }
  }
  throw bad('unknown key type')
}

export async function listKeys(p: Paths): Promise<string[]> {
  const names = await readdir(p.keys).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)))
  return names.filter((n) => n.endsWith('.key') && NAME.test(n.slice(0, -4))).map((n) => n.slice(0, -4)).sort()
}

/** Creates a key file (never overwrites one): O_EXCL, mode 0600, in a 0700 directory. */
export async function writeKey(p: Paths, name: string, file: KeyFile): Promise<string> {
  const path = keyPath(p, name)
  await mkdir(p.keys, { recursive: true, mode: 0o700 })
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') throw localError('key_exists', `a key named ${JSON.stringify(name)} already exists (${path})`, 'choose another name with --name, or `vouch key list`')
    throw e
  })
  try {
    await fh.chmod(0o600)
    await fh.writeFile(`${JSON.stringify(file)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return path
}

export const fileKey = (seed: Uint8Array, publicKey: Uint8Array): KeyFile => ({ type: 'vouch-key', v: 1, did: encodeDidKey(publicKey), seed: base64url.encode(seed) })
export const agentKey = (publicKey: Uint8Array, comment: string): KeyFile => ({ type: 'vouch-agent-key', v: 1, did: encodeDidKey(publicKey), ssh: publicKeyLine(publicKey, comment) })

function agentSigner(env: NodeJS.ProcessEnv, publicKey: Uint8Array): Signer {
  return { did: encodeDidKey(publicKey), sign: (m) => agentSign(env, publicKey, m) }
}

/** The agent's only Ed25519 key, or a usage error naming the choices. */
export async function soleAgentKey(env: NodeJS.ProcessEnv): Promise<{ publicKey: Uint8Array; comment: string }> {
  const keys = await agentKeys(env)
  if (keys.length === 0) throw localError('no_key', 'ssh-agent holds no Ed25519 key', 'add one with `ssh-add ~/.ssh/id_ed25519`')
  if (keys.length > 1) {
    throw usageError(
      `ssh-agent holds ${keys.length} Ed25519 keys (${keys.map((k) => k.comment || encodeDidKey(k.publicKey)).join(', ')})`,
      'import the one to use: `vouch key import ~/.ssh/KEY.pub --agent --name NAME`, then sign with --key NAME',
    )
  }
  return keys[0]!
}

/** The signer for a command: --key NAME or the default key; through ssh-agent when it asks. */
export async function loadSigner(p: Paths, env: NodeJS.ProcessEnv, name: string, o: { agent: boolean; explicit: boolean }): Promise<Signer> {
  if (o.agent && !o.explicit && (await listKeys(p)).length === 0) return agentSigner(env, (await soleAgentKey(env)).publicKey)
  const key = await readKey(p, name)
  if (key.kind === 'ssh-agent' || o.agent) return agentSigner(env, key.publicKey)
  const f = key.file as Extract<KeyFile, { type: 'vouch-key' }>
  return keySigner(await keyPairFromSeed(decodeBase64url(f.seed)!))
}
