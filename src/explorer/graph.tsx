import type { Explanation, VerdictKind } from '../policy/index.ts'
import { visible } from './text.ts'

/**
 * The explanation tree drawn as an inline SVG graph: the verdict on the left, each rule a box to
 * its right, green where it held and red where it did not, so the failing branch stands out at a
 * glance. Static markup: no script, no external resource; every label is wrapped in full inside
 * its box (the box grows), and the SVG <title> repeats it for screen readers. Text is escaped by JSX like everywhere else.
 */

const BOX_W = 236
const COL_GAP = 34
const ROW_GAP = 10
const PAD = 8
/** Line heights and the characters one line of the box holds (12 px bold rule line, 11 px text), with margin for wide letters. */
const RULE_LINE = 15
const TEXT_LINE = 14
const RULE_CHARS = 26
const TEXT_CHARS = 30
/** A box's text is wrapped in full up to this many lines (a subject is at most 1024 bytes: ~30 lines); the text tree has the rest. */
const MAX_LINES = 40
/** Boxes drawn at most; the text tree below the graph always has everything. */
export const MAX_NODES = 150

export interface PlacedNode {
  key: number
  parent?: number
  depth: number
  /** The box's top edge and height, in px. */
  top: number
  height: number
  rule: string
  ok: boolean
  /** The rule line and the text, wrapped to the box's width. */
  ruleLines: string[]
  textLines: string[]
  statements: number
  /** Set on the box that stands for children not drawn. */
  more?: number
}

export interface Layout {
  nodes: PlacedNode[]
  /** The drawing's height in px (without padding) and its deepest column. */
  height: number
  depth: number
}

/**
 * Wraps `text` to lines of at most `width` characters, at spaces where it can and inside a long
 * word (a hash, a did:key) where it must, so nothing is cut off.
 */
export function wrapText(text: string, width: number, maxLines = MAX_LINES): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let w = [...word]
    if (line && [...line].length + 1 + w.length <= width) {
      line += ` ${word}`
      continue
    }
    if (line) lines.push(line)
    while (w.length > width) lines.push(w.slice(0, width).join('')), (w = w.slice(width))
    line = w.join('')
  }
  if (line) lines.push(line)
  return lines.length > maxLines ? [...lines.slice(0, maxLines - 1), '… (in full in the text tree below)'] : lines
}

const boxHeight = (ruleLines: number, textLines: number) => 8 + ruleLines * RULE_LINE + textLines * TEXT_LINE

/**
 * A left-to-right tidy tree in px: leaves stack downwards, each as tall as its wrapped text; a
 * parent is centred on its first and last child but kept inside its own subtree's band, so boxes
 * in one column never overlap however tall their text.
 */
export function layoutTree(root: Explanation, max = MAX_NODES): Layout {
  const nodes: PlacedNode[] = []
  let cursor = 0
  let depth = 0
  const add = (n: Omit<PlacedNode, 'key' | 'top' | 'height'>): PlacedNode => {
    const node = { ...n, key: nodes.length, top: 0, height: boxHeight(n.ruleLines.length, n.textLines.length) }
    nodes.push(node)
    depth = Math.max(depth, n.depth)
    return node
  }
  const leaf = (node: PlacedNode) => {
    node.top = cursor
    cursor += node.height + ROW_GAP
  }
  const place = (e: Explanation, d: number, parent?: number): PlacedNode => {
    const refs = e.statements?.length ? ` · ${e.statements.length} statement${e.statements.length === 1 ? '' : 's'}` : ''
    const node = add({ parent, depth: d, rule: e.rule, ok: e.ok, ruleLines: wrapText(`${e.ok ? '✓' : '✗'} ${visible(e.rule)}${refs}`, RULE_CHARS), textLines: wrapText(visible(e.text), TEXT_CHARS), statements: e.statements?.length ?? 0 })
    const start = cursor
    const kids = e.children ?? []
    const placed: PlacedNode[] = []
    for (let i = 0; i < kids.length; i++) {
      if (nodes.length >= max) {
        const rest = kids.length - i
        const more = add({ parent: node.key, depth: d + 1, rule: '…', ok: true, ruleLines: ['…'], textLines: wrapText(`${rest} more not drawn: see the text tree below`, TEXT_CHARS), statements: 0, more: rest })
        leaf(more)
        placed.push(more)
        break
      }
      placed.push(place(kids[i]!, d + 1, node.key))
    }
    if (placed.length === 0) {
      leaf(node)
      return node
    }
    const first = placed[0]!
    const last = placed[placed.length - 1]!
    const centre = (first.top + first.height / 2 + last.top + last.height / 2) / 2
    node.top = Math.max(start, centre - node.height / 2)
    cursor = Math.max(cursor, node.top + node.height + ROW_GAP)
    return node
  }
  place(root, 0)
  return { nodes, height: Math.max(0, cursor - ROW_GAP), depth }
}

const x = (depth: number) => PAD + depth * (BOX_W + COL_GAP)
const y = (top: number) => PAD + top

export function TrustGraph({ explanation, verdict }: { explanation: Explanation; verdict: VerdictKind }) {
  const { nodes, height: h, depth } = layoutTree(explanation)
  const width = x(depth) + BOX_W + PAD
  const height = h + 2 * PAD
  return (
    <svg
      class="graph"
      xmlns="http://www.w3.org/2000/svg"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`explanation graph: ${verdict}`}
    >
      <g class="edges">
        {nodes
          .filter((n) => n.parent !== undefined)
          .map((n) => {
            const p = nodes[n.parent!]!
            const x1 = x(p.depth) + BOX_W
            const y1 = y(p.top) + p.height / 2
            const x2 = x(n.depth)
            const y2 = y(n.top) + n.height / 2
            const mid = (x1 + x2) / 2
            return <path class={n.ok ? 'edge' : 'edge edge-bad'} d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />
          })}
      </g>
      {nodes.map((n) => {
        const cls = n.key === 0 ? `node verdict-${verdict}` : n.more !== undefined ? 'node node-more' : n.ok ? 'node node-ok' : 'node node-bad'
        const left = x(n.depth) + 8
        const textTop = y(n.top) + 4 + n.ruleLines.length * RULE_LINE
        return (
          <g class={cls} data-rule={n.rule} data-ok={String(n.ok)}>
            <title>{[...n.ruleLines, ...n.textLines].join(' ')}</title>
            <rect x={x(n.depth)} y={y(n.top)} width={BOX_W} height={n.height} rx="6" ry="6" />
            <text class="node-rule">
              {n.ruleLines.map((l, i) => (
                <tspan x={left} y={y(n.top) + 15 + i * RULE_LINE}>
                  {l}
                </tspan>
              ))}
            </text>
            <text class="node-text">
              {n.textLines.map((l, i) => (
                <tspan x={left} y={textTop + 11 + i * TEXT_LINE}>
                  {l}
                </tspan>
              ))}
            </text>
          </g>
        )
      })}
    </svg>
  )
}
