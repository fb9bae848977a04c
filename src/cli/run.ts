/** The `vouch` executable (bin/vouch.js loads the bundle of this file, dist/cli.js). */
import { main } from './index.ts'

const code = await main(process.argv.slice(2))
// Node's fetch leaves a keep-alive timer that would hold the process for a few hundred ms after
// the work is done. Exit as soon as stdout and stderr have drained (a large --json answer in a
// pipe must arrive whole).
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))))
process.exit(code)
