// `npm start` runs this first: a local relay gets its own Ed25519 key (RELAY_KEY, PROTOCOL §6.7)
// in `.dev.vars` (untracked; wrangler dev reads it), made once and kept across restarts.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, appendFileSync, chmodSync } from 'node:fs'

const file = '.dev.vars'
const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
if (!/^RELAY_KEY\s*=/m.test(text)) {
  appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}RELAY_KEY="${randomBytes(32).toString('base64url')}"\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  console.log('made a relay key for local use in .dev.vars (RELAY_KEY)')
}
