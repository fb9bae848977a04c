import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { bridgeOci, BridgeError, type LayoutReader } from '../../bridges/index.ts'
import type { Context } from '../context.ts'
import { usageError } from '../errors.ts'
import { fields } from '../output.ts'
import { bridgeOptions, bridging, relaysLine } from '../bridging.ts'

interface Values {
  name?: string
  tag?: string
  'dry-run'?: boolean
}

/**
 * Reads a layout file with its size checked before reading (a blob larger than the cap is never
 * read into memory), and the read bounded by the same cap should it grow meanwhile.
 */
const reader =
  (root: string): LayoutReader =>
  async (path, maxBytes) => {
    const f = await open(join(root, path), 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined
      throw e
    })
    if (!f) return undefined
    try {
      const st = await f.stat()
      if (!st.isFile()) throw new BridgeError('malformed', 'bad_layout', `${path} in the layout is not a file`)
      if (st.size > maxBytes) throw new BridgeError('malformed', 'too_large', `${path} is ${st.size} bytes, more than the ${maxBytes} read`)
      const buf = Buffer.alloc(st.size + 1)
      const { bytesRead } = await f.read(buf, 0, buf.length, 0)
      if (bytesRead > st.size) throw new BridgeError('malformed', 'too_large', `${path} grew while it was read`)
      return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead)
    } finally {
      await f.close()
    }
  }

export async function bridgeOciCommand(ctx: Context, values: Values, targets: string[]): Promise<void> {
  if (targets.length !== 1) throw usageError('name one OCI image layout directory')
  if (values.name === undefined) throw usageError('--name NAME is required: the image name the purl carries (pkg:oci/NAME@TAG)', 'for example --name alpine')
  const dryRun = values['dry-run'] === true
  const base = await bridgeOptions(ctx, dryRun)
  const r = await bridging(() => bridgeOci(reader(targets[0]!), { ...base, name: values.name!, ...(values.tag !== undefined && { tag: values.tag }) }))
  ctx.warnRelays(r.relays)
  const rows = r.images.flatMap((i) => [`${i.status.padEnd(9)}  ${i.subject}  ${i.digest} (${i.kind})`, ...i.platforms.map((p) => `             ${p.platform.padEnd(16)} ${p.digest}`)])
  ctx.out.result([fields([['layout', targets[0]!], ['relays', relaysLine(r.relays, dryRun, r.statements.length)]]), ...rows], {
    dryRun,
    layout: targets[0],
    images: r.images,
    ...(dryRun && { statements: r.statements.map((s) => s.statement) }),
    relays: r.relays.map((x) => ({ relay: x.relay, ok: x.ok, ...(x.problem && { problem: x.problem }) })),
  })
}
