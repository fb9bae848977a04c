/**
 * A benchmark's command-line options: `--name N` positive integers and flags, nothing else
 * (a mistyped option is an error that lists the real ones, not a silent default).
 */
export function benchOptions(args: readonly string[], numbers: readonly string[], flags: readonly string[]) {
  const valued = new Set(numbers.map((n) => `--${n}`))
  const known = new Set([...valued, ...flags.map((f) => `--${f}`)])
  for (let i = 0; i < args.length; i++) {
    if (!known.has(args[i]!)) throw new Error(`unknown option ${args[i]}; options: ${[...numbers.map((n) => `--${n} N`), ...flags.map((f) => `--${f}`)].join(', ')}`)
    if (valued.has(args[i]!)) i++
  }
  return {
    number(name: string, fallback: number): number {
      const i = args.indexOf(`--${name}`)
      if (i < 0) return fallback
      const n = Number(args[i + 1])
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer`)
      return n
    },
    flag: (name: string) => args.includes(`--${name}`),
  }
}
