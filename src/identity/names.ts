import { ProofFailure } from './method.ts'

/**
 * Alias values are checked before they go into a URL or a DNS name, strictly: anything that could
 * change the request's meaning (`/`, `..`, `?`, `%`, `@`, spaces, non-ASCII) is refused rather than
 * escaped, so the name proved is exactly the name written.
 */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * A DNS name in ASCII (internationalised names in their `xn--` form), at least two labels, no
 * trailing dot, at most 253 characters; lower-cased.
 */
export function hostname(value: string, what: string): string {
  const h = value.toLowerCase()
  const labels = h.split('.')
  if (h.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels.at(-1)!)) {
    throw new ProofFailure(`${what} ${JSON.stringify(value)} is not a DNS name (ASCII labels of letters, digits and inner hyphens, at least two)`)
  }
  return h
}

/** GitHub: 1–39 letters, digits and single inner hyphens. */
export function githubUser(value: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(value)) {
    throw new ProofFailure(`${JSON.stringify(value)} is not a GitHub user name (1–39 letters, digits and single inner hyphens)`)
  }
  return value
}

/** Forgejo and Gitea: 1–40 letters, digits, `-`, `_`, `.`, starting and ending alphanumeric, no two marks in a row. */
export function forgejoUser(value: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9]|[-_.](?=[A-Za-z0-9])){0,39}$/.test(value)) {
    throw new ProofFailure(`${JSON.stringify(value)} is not a Forgejo user name (1–40 letters, digits and single inner - _ .)`)
  }
  return value
}

/** SourceHut: `~` then a lower-case letter or `_`, then up to 29 of `a-z 0-9 _ -`. */
export function sourcehutUser(value: string): string {
  if (!/^~[a-z_][a-z0-9_-]{0,29}$/.test(value)) {
    throw new ProofFailure(`${JSON.stringify(value)} is not a SourceHut user (~name: lower-case letters, digits, _ and -)`)
  }
  return value
}
