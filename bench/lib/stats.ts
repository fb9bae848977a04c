/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export const median = (samples: number[]) => percentile(samples, 50)

/** A number with `digits` significant figures and thousands separators, e.g. 12,300 or 0.0512. */
export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return '—'
  if (n === 0) return '0'
  const mag = Math.floor(Math.log10(Math.abs(n)))
  const decimals = Math.max(0, digits - 1 - mag)
  return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
}

export const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '—')
export const money = (n: number) => `$${n < 0.1 ? n.toFixed(3) : n.toFixed(2)}`

/** A plain-text table: first row is the header, numbers right-aligned. */
export function table(rows: string[][], rightAlignFrom = 1): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  const line = (r: string[]) =>
    r.map((cell, c) => (c >= rightAlignFrom ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

/** The same table as GitHub Markdown. */
export function markdownTable(rows: string[][], rightAlignFrom = 1): string {
  const head = `| ${rows[0]!.join(' | ')} |`
  const sep = `|${rows[0]!.map((_, c) => (c >= rightAlignFrom ? '---:' : ':---')).join('|')}|`
  return [head, sep, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n')
}
