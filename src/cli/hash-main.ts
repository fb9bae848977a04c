/**
 * `vouch hash ...` on its own: bin/vouch.js loads this (bundled alone as CommonJS, dist/hash.cjs)
 * when the first argument is `hash`, instead of the whole CLI (dist/cli.js, ES modules split per
 * command). The command, its parsing, output and errors are the same code as `vouch hash` through
 * index.ts; only the loading differs: one file read and compiled, no ES module loader, which is
 * most of what a `vouch hash` of a small tree costs (docs/PERFORMANCE.md, "Start-up").
 */
import hash from './commands/hash.ts'
import { explain, report, runCommand } from './dispatch.ts'
import type { Command, Options } from './args.ts'

/** Runs `vouch hash <rest>` and exits, as src/cli/run.ts does for every command. */
export async function hashMain(rest: string[]): Promise<never> {
  let code: number
  try {
    code = await runCommand('hash', hash as unknown as Command<Options>, rest, process.env)
  } catch (e) {
    code = await report(await explain(e), rest.includes('--json'))
  }
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))))
  process.exit(code)
}
