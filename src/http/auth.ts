async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))
}

/** Compares digests of the tokens, so the time taken says nothing about the token. */
async function sameToken(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)])
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!
  return diff === 0
}

/** True when the request carries `Authorization: Bearer <token>` and a token is configured. */
export async function isOperator(token: string | undefined, authorization: string | undefined): Promise<boolean> {
  const m = /^Bearer (.+)$/.exec(authorization ?? '')
  return Boolean(token && m && (await sameToken(m[1]!, token)))
}
