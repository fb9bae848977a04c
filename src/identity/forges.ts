import { getText } from './http.ts'
import { type Key, type Outcome, type ProofMethod, ProofFailure, shortDid } from './method.ts'
import { forgejoUser, githubUser, hostname, sourcehutUser } from './names.ts'
import type { ResolvedOptions } from './options.ts'
import { findSshKey } from './ssh.ts'

/**
 * Forge accounts are proved by the SSH keys the forge publishes for them (`NAME.keys`, one OpenSSH
 * public key a line): an `ssh-ed25519` line whose key is the did:key's key. A developer who signs
 * with their SSH key (`vouch key import ~/.ssh/id_ed25519`) proves the account with the key it
 * already has. The forge gives no lifetime, so the proof holds for the default hour.
 */
async function keysPage(url: string, key: Key, o: ResolvedOptions): Promise<Outcome> {
  const { text } = await getText(url, o, 'text/plain')
  const { found, lines } = findSshKey(text, key.publicKey)
  if (found) return { ok: true, detail: `${url} has the ssh-ed25519 key of ${shortDid(key.did)}` }
  return { ok: false, detail: `${url} has ${lines} key(s), none is the ssh-ed25519 key of ${shortDid(key.did)}` }
}

/** `github:NAME` → `<githubBase>/NAME.keys`. */
export const githubProof: ProofMethod = {
  name: 'github',
  check: async (_alias, value, key, o) => keysPage(`${o.githubBase}/${githubUser(value)}.keys`, key, o),
}

/** `forgejo:HOST/NAME` → `https://HOST/NAME.keys` (or the base configured for HOST). */
export const forgejoProof: ProofMethod = {
  name: 'forgejo',
  check: async (_alias, value, key, o) => {
    const slash = value.indexOf('/')
    if (slash < 0) throw new ProofFailure(`${JSON.stringify(value)} is not HOST/NAME, e.g. forgejo:codeberg.org/alice`)
    const host = hostname(value.slice(0, slash), 'forgejo host')
    const user = forgejoUser(value.slice(slash + 1))
    return keysPage(`${o.forgejoBases.get(host) ?? `https://${host}`}/${user}.keys`, key, o)
  },
}

/** `sourcehut:~NAME` → `<sourcehutBase>/~NAME.keys`. */
export const sourcehutProof: ProofMethod = {
  name: 'sourcehut',
  check: async (_alias, value, key, o) => keysPage(`${o.sourcehutBase}/${sourcehutUser(value)}.keys`, key, o),
}
