import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/**
 * CPU accounting from /proc (Linux only). The benchmark's workers run in `workerd` processes
 * that Miniflare spawns as children of this Node process; /proc/<pid>/stat gives their user and
 * system time summed over all their threads, in clock ticks.
 */

let ticks: number | undefined
/** Clock ticks per second (`getconf CLK_TCK`, almost always 100, so 10 ms resolution). */
export function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

interface Stat {
  pid: number
  ppid: number
  comm: string
  /** R running, S sleeping, Z zombie, ... */
  state: string
  /** utime + stime in ms */
  cpuMs: number
}

function readStat(pid: number): Stat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // comm is in parentheses and may itself contain spaces or parentheses.
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  const rest = text.slice(close + 2).split(' ')
  // Fields after comm, 0-based: 0 state, 1 ppid, ..., 11 utime, 12 stime.
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return { pid, ppid: Number(rest[1]), comm: text.slice(open + 1, close), state: rest[0]!, cpuMs: ((utime + stime) * 1000) / clockTicks() }
}

/** utime + stime of one process in ms, or undefined if it has exited. */
export const cpuMs = (pid: number): number | undefined => readStat(pid)?.cpuMs

/** Whether a process exists and has not exited (a zombie has exited but is not yet reaped). */
export function running(pid: number): boolean {
  const state = readStat(pid)?.state
  return state !== undefined && state !== 'Z' && state !== 'X'
}

/** Live (not zombie) direct children of `ppid` (default: this process) named `comm`. */
export function childProcesses(comm = 'workerd', ppid = process.pid): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const st = readStat(Number(entry))
    if (st && st.ppid === ppid && st.comm === comm && st.state !== 'Z' && st.state !== 'X') out.push(st.pid)
  }
  return out.sort((a, b) => a - b)
}

/** Socket inodes listening on `port` (TCP, IPv4 or IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>()
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      const local = f[1]!
      const state = f[3]
      if (state !== '0A') continue // LISTEN
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(f[9]!)
    }
  }
  return inodes
}

/** Which of `pids` holds a socket listening on `port`. */
export function pidListeningOn(port: number, pids: number[]): number | undefined {
  const inodes = listeningInodes(port)
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m && inodes.has(m[1]!)) return pid
      } catch {
        // fd closed while we looked
      }
    }
  }
  return undefined
}

/** Files under `dir` that `pid` holds open. */
export function openFilesUnder(pid: number, dir: string): string[] {
  const out: string[] = []
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
        if (target.startsWith(dir)) out.push(target)
      } catch {
        // fd closed while we looked
      }
    }
  } catch {
    // process gone
  }
  return out
}

/** CPU time consumed by a set of processes between `start()` and `stop()`. */
export class CpuMeter {
  private before = new Map<number, number>()
  constructor(readonly pids: Record<string, number>) {}

  start(): this {
    for (const pid of Object.values(this.pids)) this.before.set(pid, cpuMs(pid) ?? 0)
    return this
  }

  /** ms of CPU per named process since `start()`. */
  stop(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [name, pid] of Object.entries(this.pids)) {
      const now = running(pid) ? cpuMs(pid) : undefined
      if (now === undefined) throw new Error(`process ${name} (${pid}) exited during the measurement`)
      out[name] = now - (this.before.get(pid) ?? 0)
    }
    return out
  }
}

/** CPU ms of this Node process (the load generator), for the record. */
export function selfCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** 1-minute load average, to show how busy the machine was. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
  } catch {
    return NaN
  }
}
