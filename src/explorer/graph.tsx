import type { Explanation, VerdictKind } from '../policy/index.ts'
import { cut, visible } from './text.ts'

/**
 * The explanation tree drawn as an inline SVG graph: the verdict on the left, each rule a box to
 * its right, green where it held and red where it did not, so the failing branch stands out at a
 * glance. Static markup: no script, no external resource; hovering a box shows its full sentence
 * (the SVG <title>). Text is escaped by JSX like everywhere else.
 */

const BOX_W = 236
const BOX_H = 40
const COL_GAP = 34
const ROW_GAP = 10
const PAD = 8
/** Boxes drawn at most; the text tree below the graph always has everything. */
export const MAX_NODES = 150

export interface PlacedNode {
  key: number
  parent?: number
  depth: number
  row: number
  rule: string
  ok: boolean
  text: string
  statements: number
  /** Set on the box that stands for children not drawn. */
  more?: number
}

export interface Layout {
  nodes: PlacedNode[]
  rows: number
  depth: number
}

/** A left-to-right tidy tree: leaves take consecutive rows, a parent sits midway between its first and last child. */
export function layoutTree(root: Explanation, max = MAX_NODES): Layout {
  const nodes: PlacedNode[] = []
  let rows = 0
  let depth = 0
  const place = (e: Explanation, d: number, parent?: number): number => {
    const key = nodes.length
    const node: PlacedNode = { key, parent, depth: d, row: 0, rule: e.rule, ok: e.ok, text: e.text, statements: e.statements?.length ?? 0 }
    nodes.push(node)
    depth = Math.max(depth, d)
    const kids = e.children ?? []
    const rowsOfKids: number[] = []
    for (let i = 0; i < kids.length; i++) {
      if (nodes.length >= max) {
        const rest = kids.length - i
        const k = nodes.length
        nodes.push({ key: k, parent: key, depth: d + 1, row: rows++, rule: '…', ok: true, text: `${rest} more not drawn: see the text tree below`, statements: 0, more: rest })
        rowsOfKids.push(nodes[k]!.row)
        break
      }
      rowsOfKids.push(nodes[place(kids[i]!, d + 1, key)]!.row)
    }
    node.row = rowsOfKids.length ? (rowsOfKids[0]! + rowsOfKids[rowsOfKids.length - 1]!) / 2 : rows++
    return key
  }
  place(root, 0)
  return { nodes, rows, depth }
}

const x = (depth: number) => PAD + depth * (BOX_W + COL_GAP)
const y = (row: number) => PAD + row * (BOX_H + ROW_GAP)

export function TrustGraph({ explanation, verdict }: { explanation: Explanation; verdict: VerdictKind }) {
  const { nodes, rows, depth } = layoutTree(explanation)
  const width = x(depth) + BOX_W + PAD
  const height = y(rows) - ROW_GAP + PAD
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
            const y1 = y(p.row) + BOX_H / 2
            const x2 = x(n.depth)
            const y2 = y(n.row) + BOX_H / 2
            const mid = (x1 + x2) / 2
            return <path class={n.ok ? 'edge' : 'edge edge-bad'} d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />
          })}
      </g>
      {nodes.map((n) => {
        const cls = n.key === 0 ? `node verdict-${verdict}` : n.more !== undefined ? 'node node-more' : n.ok ? 'node node-ok' : 'node node-bad'
        const mark = n.more !== undefined ? '' : n.ok ? '✓ ' : '✗ '
        const refs = n.statements ? ` · ${n.statements} statement${n.statements === 1 ? '' : 's'}` : ''
        return (
          <g class={cls} data-rule={n.rule} data-ok={String(n.ok)}>
            <title>{`${mark}${n.rule}: ${visible(n.text)}${refs}`}</title>
            <rect x={x(n.depth)} y={y(n.row)} width={BOX_W} height={BOX_H} rx="6" ry="6" />
            <text x={x(n.depth) + 8} y={y(n.row) + 15} class="node-rule">
              {`${mark}${n.rule}${refs}`}
            </text>
            <text x={x(n.depth) + 8} y={y(n.row) + 31} class="node-text">
              {cut(visible(n.text), 38)}
            </text>
          </g>
        )
      })}
    </svg>
  )
}
