import { jsonSafe, terminalSafe } from './safe.ts'

/**
 * What the CLI prints. Results go to stdout: text for people, or with --json exactly one JSON
 * document. Warnings and progress go to stderr, so a pipe receives only the result.
 */
export class Output {
  readonly warnings: string[] = []

  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** A problem that did not stop the command (a relay down, a relay that lied). */
  warn(message: string): void {
    this.warnings.push(message)
    this.stderr.write(`warning: ${terminalSafe(message)}\n`)
  }

  /** A note for a person; silent with --json. */
  note(message: string): void {
    if (!this.json) this.stderr.write(`${terminalSafe(message, true)}\n`)
  }

  /** The command's result: `text` for people, `data` (plus any warnings) for --json. */
  result(text: string | string[], data: Record<string, unknown>): void {
    if (this.json) this.stdout.write(`${jsonSafe(JSON.stringify({ ...data, warnings: this.warnings }, null, 2))}\n`)
    else {
      const t = Array.isArray(text) ? text.join('\n') : text
      if (t) this.stdout.write(`${terminalSafe(t, true)}\n`)
    }
  }

  /** A progress line on stderr, only when stderr is a terminal and the output is for people. */
  progress(label: string, total?: number): Progress {
    return new Progress(this.json || !this.stderr.isTTY ? undefined : this.stderr, label, total)
  }
}

/** `key  value` lines with the values aligned; a value is one line whatever it holds. */
export function fields(rows: [string, string | undefined][]): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined)
  const w = Math.max(...shown.map(([k]) => k.length))
  return shown.map(([k, v]) => `${k.padEnd(w)}  ${terminalSafe(v)}`).join('\n')
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`
}

export class Progress {
  private last = 0
  private readonly start = Date.now()
  private shown = false

  constructor(
    private readonly out: NodeJS.WriteStream | undefined,
    private readonly label: string,
    private total?: number,
  ) {}

  /** `total`, when known only once the work started (a download's Content-Length), sets it. */
  update(done: number, extra = '', total?: number): void {
    if (total !== undefined && total > 0) this.total = total
    if (!this.out) return
    const now = Date.now()
    if (now - this.last < 100 && done !== this.total) return
    this.last = now
    const rate = done / Math.max(0.001, (now - this.start) / 1000)
    let bar = ''
    if (this.total) {
      const width = 24
      const frac = Math.min(1, done / this.total)
      const full = Math.floor(frac * width)
      bar = ` [${'#'.repeat(full)}${' '.repeat(width - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%`
    }
    const line = `${this.label}${bar} ${bytes(done)}${this.total ? ` of ${bytes(this.total)}` : ''}  ${bytes(rate)}/s${extra ? `  ${extra}` : ''}`
    this.out.write(`\r\x1b[2K${terminalSafe(line).slice(0, (this.out.columns || 80) - 1)}`)
    this.shown = true
  }

  done(): void {
    if (this.out && this.shown) this.out.write('\r\x1b[2K')
    this.shown = false
  }
}
