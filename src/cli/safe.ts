/**
 * Text from a relay or a statement is the attacker's until shown otherwise, and a terminal obeys
 * what it is sent: ESC and C1 sequences clear the screen, set the title, move the cursor and
 * overwrite a line with a fake "published"; bidi overrides and invisible characters make one
 * name pose as another. Everything the CLI prints goes through `terminalSafe` (output.ts and the
 * error report do it), so no caller has to remember: such characters are shown escaped, as the
 * explorer shows them.
 */

/** C0 controls but tab and newline, DEL, C1 controls; then the explorer's invisible and bidi set, plus the Unicode line and paragraph separators. */
const UNSAFE = /[\x00-\x08\x0B-\x1F\x7F-\x9F\u061C\u115F\u1160\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/g
const UNSAFE_LINE = /[\x00-\x1F\x7F-\x9F\u061C\u115F\u1160\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/g

const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x1b': '\\e' }

function escape(ch: string): string {
  const named = NAMED[ch]
  if (named) return named
  const c = ch.charCodeAt(0)
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`
}

/**
 * `s` with every control, bidi and invisible character written as an escape (`\e`, `\x9b`,
 * `\u202e`). `multiline` keeps newlines and tabs (our own multi-line messages); otherwise they are
 * escaped too, so a relay's text cannot start a line that looks like ours.
 */
export function terminalSafe(s: string, multiline = false): string {
  return s.replace(multiline ? UNSAFE : UNSAFE_LINE, escape)
}

/**
 * JSON text made terminal-safe without changing its value: JSON.stringify already escapes C0,
 * and what is left (C1, bidi, invisible) can only sit inside strings, where `\uXXXX` means the same.
 */
export function jsonSafe(json: string): string {
  return json.replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
