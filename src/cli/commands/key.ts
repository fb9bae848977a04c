import { open, readFile } from 'node:fs/promises'
import { constants } from 'node:fs'
import { decodeBase64url, encodeDidKey, equalBytes, generateKeyPair, keyPairFromSeed } from '../../verify/index.ts'
import { defineCommand } from '../args.ts'
import { readConfig, writeConfig } from '../config.ts'
import { localError, usageError } from '../errors.ts'
import { agentKey, checkKeyName, fileKey, listKeys, readKey, readPrivateFile, soleAgentKey, writeKey, type KeyFile } from '../keys.ts'
import { fields } from '../output.ts'
import { agentKeys, formatPrivateKey, parsePrivateKey, parsePublicKeyLine, publicKeyLine } from '../ssh.ts'
import type { Context } from '../context.ts'

const SUBCOMMANDS = ['new', 'list', 'show', 'export', 'import'] as const

export default defineCommand({
  usage: [
    'key new [NAME] [--default]',
    'key list',
    'key show [NAME]',
    'key export [NAME] [--private -o FILE]',
    'key import PATH [--name NAME] [--agent] [--default]',
    'key import --agent [--name NAME]',
  ],
  summary: 'Manage signing keys',
  description: `Keys are Ed25519; an actor on the network is its key, written did:key:z6Mk…. Key files live in
<config dir>/keys with mode 0600; vouch refuses a key file other users can read.

  new      create a key
  list     list keys (* marks the default)
  show     print a key's did:key, its OpenSSH public key and where it is kept
  export   print the OpenSSH public key; with --private, write an unencrypted OpenSSH private key
  import   import an OpenSSH Ed25519 private key (unencrypted), or with --agent use a key held by
           ssh-agent: only the public key is stored, and signing asks the agent`,
  options: {
    name: { type: 'string', value: 'NAME', description: 'name for an imported key (default: from the file name)' },
    default: { type: 'boolean', description: 'make this key the default for signing' },
    private: { type: 'boolean', description: 'export: the private key (needs -o FILE)' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'export: write to FILE (mode 0600), never overwriting' },
    agent: { type: 'boolean', description: 'import: sign through ssh-agent (SSH_AUTH_SOCK); no secret is stored' },
  },
  args: [1, 2],
  offline: true,
  examples: [
    'vouch key new work --default                      # a second key, used from now on',
    'vouch key list',
    'vouch key import ~/.ssh/id_ed25519                # use your ssh key (copied, mode 0600)',
    'vouch key import ~/.ssh/id_ed25519.pub --agent    # sign through ssh-agent instead',
    'vouch key export --private -o backup.key          # an OpenSSH key file, for a backup',
  ],
  async run(ctx, values, [sub, arg]) {
    if (!(SUBCOMMANDS as readonly string[]).includes(sub!)) throw usageError(`unknown subcommand ${JSON.stringify(sub)}`, `use one of: ${SUBCOMMANDS.join(', ')}`)
    if (sub === 'list') {
      if (arg !== undefined) throw usageError('`vouch key list` takes no argument')
      return list(ctx)
    }
    if (sub === 'new') return create(ctx, arg ?? values.name, values.default === true)
    if (sub === 'show') return show(ctx, arg ?? (await ctx.keyName()))
    if (sub === 'export') return exportKey(ctx, arg ?? (await ctx.keyName()), values.private === true, values.output)
    return importKey(ctx, arg, values)
  },
})

async function setDefault(ctx: Context, name: string, force: boolean): Promise<boolean> {
  const config = await readConfig(ctx.paths)
  if (!force && config.key !== undefined) return false
  await writeConfig(ctx.paths, { ...config, key: name })
  return true
}

async function create(ctx: Context, name: string | undefined, makeDefault: boolean) {
  const existing = await listKeys(ctx.paths)
  if (name === undefined && existing.length > 0) throw usageError('give the new key a name: `vouch key new NAME`')
  const n = checkKeyName(name ?? 'default')
  const kp = await generateKeyPair()
  const path = await writeKey(ctx.paths, n, fileKey(kp.secretKey, kp.publicKey))
  const isDefault = await setDefault(ctx, n, makeDefault)
  const did = encodeDidKey(kp.publicKey)
  ctx.out.result(fields([['did', did], ['key', `${n}${isDefault ? ' (default)' : ''}`], ['file', path]]), { name: n, did, path, default: isDefault })
}

async function list(ctx: Context) {
  const def = await ctx.keyName()
  const keys = []
  for (const name of await listKeys(ctx.paths)) {
    try {
      const k = await readKey(ctx.paths, name)
      keys.push({ name, did: k.did, kind: k.kind, path: k.path, default: name === def })
    } catch (e) {
      ctx.out.warn(`key ${name}: ${(e as Error).message}`)
    }
  }
  if (keys.length === 0) ctx.out.note('no keys yet: `vouch init` creates one')
  const w = Math.max(0, ...keys.map((k) => k.name.length))
  ctx.out.result(
    keys.map((k) => `${k.default ? '*' : ' '} ${k.name.padEnd(w)}  ${k.did}${k.kind === 'ssh-agent' ? '  (ssh-agent)' : ''}`),
    { keys },
  )
}

async function show(ctx: Context, name: string) {
  const k = await readKey(ctx.paths, name)
  const ssh = publicKeyLine(k.publicKey, `vouch:${name}`)
  ctx.out.result(fields([['did', k.did], ['name', name], ['kind', k.kind], ['ssh', ssh], ['file', k.path]]), { name, did: k.did, kind: k.kind, ssh, path: k.path })
}

async function exportKey(ctx: Context, name: string, priv: boolean, output: string | undefined) {
  const k = await readKey(ctx.paths, name)
  if (!priv) {
    const line = publicKeyLine(k.publicKey, `vouch:${name}`)
    if (output) throw usageError('-o is for --private; the public key is printed')
    ctx.out.result(line, { name, did: k.did, ssh: line })
    return
  }
  if (k.file.type !== 'vouch-key') throw localError('agent_key', `key ${name} is held by ssh-agent; vouch has no private key to export`)
  if (!output) throw usageError('--private needs -o FILE: a private key is not printed to a terminal')
  const seed = decodeBase64url(k.file.seed)!
  const fh = await open(output, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') throw localError('exists', `${output} already exists; choose another file`)
    throw e
  })
  try {
    await fh.writeFile(formatPrivateKey(seed, k.publicKey, `vouch:${name}`))
  } finally {
    await fh.close()
  }
  ctx.out.result(`wrote ${output} (OpenSSH private key, unencrypted, mode 0600)`, { name, did: k.did, path: output })
}

async function importKey(ctx: Context, path: string | undefined, values: { name?: string; agent?: boolean; default?: boolean }) {
  const agent = values.agent === true
  let file: KeyFile
  let comment = ''
  if (!path) {
    if (!agent) throw usageError('`vouch key import` needs the path of an OpenSSH key, or --agent')
    const k = await soleAgentKey(ctx.env)
    file = agentKey(k.publicKey, k.comment)
    comment = k.comment
  } else if (agent) {
    // A .pub file or a private key file: either names the key; the agent must hold it.
    const text = await readFile(path, 'utf8')
    const pub = parsePublicKeyLine(text) ?? (text.includes('PRIVATE KEY') ? parsePrivateKey(await readPrivateFile(path), path) : undefined)
    if (!pub) throw localError('bad_ssh_key', `${path}: not an OpenSSH Ed25519 public key (ssh-ed25519 AAAA…)`)
    if (!(await agentKeys(ctx.env)).some((k) => equalBytes(k.publicKey, pub.publicKey))) {
      throw localError('not_in_agent', `ssh-agent does not hold the key in ${path}`, `add it with \`ssh-add ${path.replace(/\.pub$/, '')}\``)
    }
    file = agentKey(pub.publicKey, pub.comment)
    comment = pub.comment
  } else {
    const key = parsePrivateKey(await readPrivateFile(path), path)
    const derived = await keyPairFromSeed(key.seed)
    if (!equalBytes(derived.publicKey, key.publicKey)) throw localError('bad_ssh_key', `${path}: the private key does not match its public key`)
    file = fileKey(key.seed, key.publicKey)
    comment = key.comment
  }
  const base = path ? path.replace(/^.*\//, '').replace(/\.pub$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') : 'agent'
  const name = checkKeyName(values.name ?? (base || 'imported'))
  const stored = await writeKey(ctx.paths, name, file)
  const isDefault = await setDefault(ctx, name, values.default === true)
  ctx.out.result(
    fields([['did', file.did], ['key', `${name}${isDefault ? ' (default)' : ''}`], ['kind', agent ? 'ssh-agent' : 'file'], ['comment', comment || undefined], ['file', stored]]),
    { name, did: file.did, kind: agent ? 'ssh-agent' : 'file', comment, path: stored, default: isDefault },
  )
}
