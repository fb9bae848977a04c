import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The built `vouch` executable (bin/vouch.js → dist/cli.js) that the CLI tests run as a subprocess. */
export const ROOT = join(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'bin/vouch.js')

export interface Run {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed, when --json was given (or `json` asked for); undefined if it is not JSON. */
  json: any
}

/**
 * Runs `vouch ARGS` with exactly `env` (plus PATH; an undefined value leaves a variable out), so a
 * test's keys, config and relays never leak in from the machine running it.
 */
export function runVouch(args: string[], o: { env: Record<string, string | undefined>; cwd?: string; json?: boolean; source?: boolean }): Promise<Run> {
  // `source`: the TypeScript CLI through tsx, for tests that must not race the dist/ build.
  const entry = o.source ? ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/cli/run.ts')] : [BIN]
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: o.cwd,
      env: { PATH: process.env.PATH, ...o.env } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('close', (code) => {
      let json
      if (o.json || args.includes('--json')) {
        try {
          json = JSON.parse(stdout)
        } catch {
          json = undefined
        }
      }
      resolve({ code: code ?? -1, stdout, stderr, json })
    })
  })
}
