import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { ed25519Blob, parseEd25519Blob, SSH_ED25519, sshString, sshU32, SshReader } from '../identity/ssh.ts'
import { equalBytes } from '../verify/index.ts'
import { CliError, EXIT, localError } from './errors.ts'

/**
 * OpenSSH Ed25519 keys, so a developer can sign with the key they already have: the private key
 * file format (PROTOCOL.key in OpenSSH; unencrypted only) and the ssh-agent protocol
 * (draft-miller-ssh-agent), whose Ed25519 signatures are plain RFC 8032 signatures over the bytes
 * sent, exactly what a vouch statement needs.
 */

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')

/** `ssh-ed25519 AAAA… comment`, the line of id_ed25519.pub and authorized_keys. */
export const publicKeyLine = (publicKey: Uint8Array, comment = ''): string =>
  `${SSH_ED25519} ${Buffer.from(ed25519Blob(publicKey)).toString('base64')}${comment ? ` ${comment}` : ''}`

export function parsePublicKeyLine(line: string): { publicKey: Uint8Array; comment: string } | undefined {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?: (.*))?$/.exec(line.trim())
  if (!m) return undefined
  const publicKey = parseEd25519Blob(Buffer.from(m[1]!, 'base64'))
  return publicKey && { publicKey, comment: m[2] ?? '' }
}

export interface OpenSshKey {
  seed: Uint8Array
  publicKey: Uint8Array
  comment: string
}

/** Parses an unencrypted OpenSSH Ed25519 private key file. Throws CliError (local) otherwise. */
export function parsePrivateKey(text: string, file: string): OpenSshKey {
  const bad = (why: string, hint?: string) => localError('bad_ssh_key', `${file}: ${why}`, hint)
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)
  if (!m) {
    if (/BEGIN (RSA|EC|DSA|ENCRYPTED|PRIVATE) /.test(text)) throw bad('not an OpenSSH Ed25519 key (vouch keys are Ed25519)', 'create one with `ssh-keygen -t ed25519`')
    throw bad('not an OpenSSH private key file')
  }
  const raw = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')
  try {
    if (!raw.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('not an openssh-key-v1 file')
    const r = new SshReader(raw.subarray(MAGIC.length))
    const cipher = r.str()
    const kdf = r.str()
    r.bytes() // kdf options
    if (cipher !== 'none' || kdf !== 'none') {
      throw bad('the key is encrypted with a passphrase', 'sign through ssh-agent instead (`ssh-add KEY`, then `vouch key import KEY.pub --agent`), or import a decrypted copy')
    }
    if (r.u32() !== 1) throw bad('holds more than one key')
    const pubBlob = r.bytes()
    const priv = new SshReader(r.bytes())
    if (priv.u32() !== priv.u32()) throw bad('check integers differ (corrupt or encrypted)')
    const type = priv.str()
    if (type !== SSH_ED25519) throw bad(`is a ${type} key; vouch keys are Ed25519`, 'create one with `ssh-keygen -t ed25519`')
    const publicKey = priv.bytes()
    const secret = priv.bytes()
    const comment = priv.str()
    const padding = priv.rest()
    if (publicKey.length !== 32 || secret.length !== 64) throw bad('malformed Ed25519 key')
    if (!equalBytes(secret.subarray(32), publicKey) || !equalBytes(parseEd25519Blob(pubBlob) ?? new Uint8Array(), publicKey)) throw bad('public and private parts do not match')
    if (!padding.every((b, i) => b === i + 1)) throw bad('malformed padding')
    return { seed: new Uint8Array(secret.subarray(0, 32)), publicKey: new Uint8Array(publicKey), comment }
  } catch (e) {
    if (e instanceof CliError) throw e
    throw bad(`malformed (${(e as Error).message})`)
  }
}

/** Serialises an unencrypted OpenSSH private key file, as `ssh-keygen -N ''` writes it. */
export function formatPrivateKey(seed: Uint8Array, publicKey: Uint8Array, comment: string): string {
  const check = randomBytes(4)
  let priv = Buffer.concat([check, check, sshString(SSH_ED25519), sshString(publicKey), sshString(Buffer.concat([seed, publicKey])), sshString(comment)])
  const pad = (8 - (priv.length % 8)) % 8
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))])
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), sshU32(1), sshString(ed25519Blob(publicKey)), sshString(priv)])
  const b64 = body.toString('base64').replace(/.{70}/g, '$&\n')
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END OPENSSH PRIVATE KEY-----\n`
}

// ---------------------------------------------------------------------------------------------
// ssh-agent

const AGENT_FAILURE = 5
const REQUEST_IDENTITIES = 11
const IDENTITIES_ANSWER = 12
const SIGN_REQUEST = 13
const SIGN_RESPONSE = 14
const AGENT_TIMEOUT_MS = 30_000 // an agent may ask the user to confirm (ssh-add -c)

function agentSocket(env: NodeJS.ProcessEnv): string {
  const sock = env.SSH_AUTH_SOCK
  if (!sock) throw localError('no_agent', 'no ssh-agent: SSH_AUTH_SOCK is not set', 'start one (`eval "$(ssh-agent)"`) and add your key (`ssh-add ~/.ssh/id_ed25519`)')
  return sock
}

/** One request, one answer, over a fresh connection. */
function agentRequest(env: NodeJS.ProcessEnv, type: number, payload: Buffer): Promise<{ type: number; body: SshReader }> {
  const sock = agentSocket(env)
  return new Promise((resolve, reject) => {
    const s = connect(sock)
    const chunks: Buffer[] = []
    const fail = (why: string) => {
      s.destroy()
      reject(localError('agent_failed', `ssh-agent at ${sock}: ${why}`, 'check that the agent runs (`ssh-add -l`)'))
    }
    s.setTimeout(AGENT_TIMEOUT_MS, () => fail('no answer'))
    s.on('error', (e) => fail((e as NodeJS.ErrnoException).code ?? e.message))
    s.on('data', (d: Buffer) => {
      chunks.push(d)
      const all = Buffer.concat(chunks)
      if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) {
        const len = all.readUInt32BE(0)
        s.end()
        if (len < 1 || len > 256 * 1024) return fail('malformed answer')
        resolve({ type: all[4]!, body: new SshReader(all.subarray(5, 4 + len)) })
      }
    })
    s.on('end', () => fail('closed the connection'))
    const msg = Buffer.concat([Buffer.from([type]), payload])
    s.write(Buffer.concat([sshU32(msg.length), msg]))
  })
}

/** The agent's Ed25519 keys. */
export async function agentKeys(env: NodeJS.ProcessEnv): Promise<{ publicKey: Uint8Array; comment: string }[]> {
  const { type, body } = await agentRequest(env, REQUEST_IDENTITIES, Buffer.alloc(0))
  if (type !== IDENTITIES_ANSWER) throw localError('agent_failed', 'ssh-agent refused to list its keys')
  const out: { publicKey: Uint8Array; comment: string }[] = []
  for (let n = body.u32(); n > 0; n--) {
    const blob = body.bytes()
    const comment = body.str()
    const publicKey = parseEd25519Blob(blob)
    if (publicKey) out.push({ publicKey, comment })
  }
  return out
}

/** Asks the agent to sign `message` with the Ed25519 key `publicKey`. */
export async function agentSign(env: NodeJS.ProcessEnv, publicKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const { type, body } = await agentRequest(env, SIGN_REQUEST, Buffer.concat([sshString(ed25519Blob(publicKey)), sshString(message), sshU32(0)]))
  if (type === AGENT_FAILURE) {
    throw new CliError(EXIT.local, 'agent_refused', 'ssh-agent refused to sign', 'is the key loaded? `ssh-add -l` lists them; `ssh-add KEY` adds it')
  }
  if (type !== SIGN_RESPONSE) throw localError('agent_failed', `ssh-agent answered with message type ${type}`)
  const sig = new SshReader(body.bytes())
  if (sig.str() !== SSH_ED25519) throw localError('agent_failed', 'ssh-agent returned a signature that is not Ed25519')
  const bytes = sig.bytes()
  if (bytes.length !== 64) throw localError('agent_failed', 'ssh-agent returned a malformed Ed25519 signature')
  return new Uint8Array(bytes)
}
