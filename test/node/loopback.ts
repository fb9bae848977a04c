import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/** Starts an HTTP server on 127.0.0.1 at a free port, adds it to `servers` (to close afterwards), and returns its origin. */
export async function listen(servers: Server[], handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler)
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`
}

/** A request's whole body as text. */
export async function bodyOf(req: IncomingMessage): Promise<string> {
  let b = ''
  for await (const c of req) b += c
  return b
}
