/**
 * Where a search's time goes, without HTTP: the D1 reads of `findNames` on the scale benchmark's
 * 1M-statement file (better-sqlite3, the same SQL) and the rendering of the results page.
 * `npm run bench -- search-parts --dir DIR` with DIR kept by `npm run bench -- scale --quick --keep`.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { findNames } from '../src/explorer/find.ts'
import { FindResults } from '../src/explorer/results.tsx'
import { sqliteAsD1 } from './lib/sqlite-d1.ts'
import { fmt, percentile, table } from './lib/stats.ts'

export async function main(args: string[]): Promise<void> {
  const dir = args[args.indexOf('--dir') + 1]
  if (!args.includes('--dir') || !dir) throw new Error('usage: search-parts --dir DIR (a state dir kept by `scale --keep`)')
  const base = join(dir, 'v3', 'd1', 'miniflare-D1DatabaseObject')
  const file = join(base, readdirSync(base).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')!)
  const Database = (await import('better-sqlite3')).default
  const sqlite = new Database(file, { readonly: true })
  const db = sqliteAsD1(sqlite)
  const names = (sqlite.prepare('SELECT name FROM names ORDER BY random() LIMIT 200').all() as { name: string }[]).map((r) => r.name)
  const terms: [string, (n: string) => string][] = [
    ['prefix (4 letters)', (n) => n.slice(0, 4)],
    ['substring (letters 3-6)', (n) => n.slice(2, 6)],
    ['whole name', (n) => n],
  ]
  const rows: string[][] = [['search', 'n', 'reads p50 ms', 'reads p99 ms', 'render p50 ms', 'render p99 ms', 'mean packages']]
  for (const [label, term] of terms) {
    const reads: number[] = []
    const renders: number[] = []
    let found = 0
    for (const n of names) {
      const t0 = performance.now()
      const r = await findNames(db, { name: term(n).toLowerCase() })
      const t1 = performance.now()
      const html = String(await FindResults({ r, now: Date.now() }).toString())
      const t2 = performance.now()
      if (!html) throw new Error('empty page')
      reads.push(t1 - t0)
      renders.push(t2 - t1)
      found += r.packages.items.length + r.containing.items.length
    }
    rows.push([label, String(names.length), fmt(percentile(reads, 50)), fmt(percentile(reads, 99)), fmt(percentile(renders, 50)), fmt(percentile(renders, 99)), fmt(found / names.length)])
  }
  sqlite.close()
  console.log(table(rows))
}
