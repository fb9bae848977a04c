/**
 * Reading small files ahead on a second thread while the NAR hasher (src/nar/fs-hash.ts) frames
 * and hashes the ones before them: on a tree of many small files Node's open, fstat, read and
 * close cost more than the hash, and nix-hash uses one core where a machine mostly has two.
 * (Measured in docs/PERFORMANCE.md, "Reading ahead on a second thread": on a shared machine it
 * costs more than it saves.)
 *
 * Not the libuv thread pool: an asynchronous `fs` call costs the main thread more than the
 * synchronous one (the same argument checks, plus a request object and a callback), four per
 * file. A worker thread running the synchronous calls takes them off the main thread; the two
 * share only memory:
 *
 * - SLOTS batches of up to BATCH files in flight, each with SLOT_BYTES for contents: at most
 *   8 MiB read ahead. A file that does not fit is left to the hasher, which streams large ones.
 * - The hasher posts the files of the directories it is in, in NAR order, as batches free up.
 *   A batch the worker has not started when the hasher needs it is the hasher's (it reads those
 *   files itself, the worker skips it), so the two work on different batches; in one the worker
 *   is in, each file is decided by a compare-and-swap, and the hasher never waits more than a
 *   few microseconds for the worker.
 * - Anything but a regular file read whole at the size fstat gave (an error, a file that
 *   changed, one too large) is left to the hasher, which reads it as it would without
 *   read-ahead: errors and the refusal of a file that changes size are the same.
 *
 * The bytes hashed are each file's contents as read at one moment, as before, only earlier.
 */
import { Worker } from 'node:worker_threads'

/** Batches in flight, files per batch, and each batch's room for contents and for paths. */
const SLOTS = 32
const BATCH = 32
export const SLOT_BYTES = 256 * 1024
const PATH_BYTES = 16 * 1024
const QUEUE = SLOTS * 4
/** How long the hasher waits for a file the worker is reading before reading it itself. */
const SPIN_MS = 0.02

// Batch states.
const FREE = 0
const POSTED = 1
const CLAIMED = 2
const DONE = 3
const TAKEN = 4 // the hasher reads it itself
const YOURS = 5 // the worker could not read it whole: the hasher reads it, and meets what the worker met

// Per batch in `meta`: state, files. Per file in `files`: state, size, executable, offset.
const F = 4
// In `ctrl`: batches posted (the queue's tail), stop, the batch the worker is in (-1: none).
const TAIL = 0
const STOP = 1
const CURRENT = 2

/** A directory's regular files in NAR order, and the batch and place each went to (-1: not posted). */
export interface Plan {
  paths: string[]
  slots: Int32Array
  places: Int32Array
  posted: number
}

/** A small file read ahead; its bytes are valid until the next call to the ReadAhead. */
export interface Ahead {
  size: number
  executable: boolean
  bytes: Uint8Array
}

/** The worker: claims posted batches in order and reads their files, synchronously. Runs as `eval` code, so it uses nothing from outside itself. */
function worker(): void {
  const { workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const fs = require('node:fs') as typeof import('node:fs')
  const { ctrl, meta, files, queue, paths, data, k } = workerData as {
    ctrl: Int32Array
    meta: Int32Array
    files: Int32Array
    queue: Int32Array
    paths: Uint8Array
    data: Uint8Array
    k: { F: number; BATCH: number; TAIL: number; STOP: number; CURRENT: number; POSTED: number; CLAIMED: number; DONE: number; YOURS: number; QUEUE: number; PATH_BYTES: number; SLOT_BYTES: number; O_READ: number }
  }
  const pathBuf = Buffer.from(paths.buffer, paths.byteOffset, paths.length)
  const dataBuf = Buffer.from(data.buffer, data.byteOffset, data.length)
  const NON_ASCII = /[^\x00-\x7f]/
  let head = 0
  for (;;) {
    if (Atomics.load(ctrl, k.STOP) !== 0) return
    const tail = Atomics.load(ctrl, k.TAIL)
    if (head === tail) {
      Atomics.wait(ctrl, k.TAIL, tail)
      continue
    }
    // Entries written over while this thread was behind are lost; the hasher reads those files itself.
    if (tail - head > k.QUEUE) head = tail - k.QUEUE
    const slot = queue[head % k.QUEUE]!
    head++
    // Inside this batch until the end: the hasher does not post new files into it until then.
    Atomics.store(ctrl, k.CURRENT, slot)
    if (Atomics.compareExchange(meta, slot * 2, k.POSTED, k.CLAIMED) !== k.POSTED) {
      Atomics.store(ctrl, k.CURRENT, -1)
      continue
    }
    const count = meta[slot * 2 + 1]!
    let at = slot * k.PATH_BYTES
    let off = 0
    const base = slot * k.SLOT_BYTES
    for (let j = 0; j < count; j++) {
      const f = (slot * k.BATCH + j) * k.F
      const len = pathBuf.readUInt16LE(at)
      const from = at + 2
      at += 2 + len
      // The hasher may have taken it already, reading it itself.
      if (Atomics.compareExchange(files, f, k.POSTED, k.CLAIMED) !== k.POSTED) continue
      const latin1 = pathBuf.toString('latin1', from, from + len)
      let state = k.YOURS
      let fd = -1
      try {
        fd = fs.openSync(NON_ASCII.test(latin1) ? Buffer.from(latin1, 'latin1') : latin1, k.O_READ)
        const st = fs.fstatSync(fd)
        const size = st.size
        // One byte more than fstat said, as the hasher asks: a full read means the file grew.
        if (st.isFile() && size + 1 <= k.SLOT_BYTES - off) {
          let got = 0
          for (;;) {
            const n = fs.readSync(fd, dataBuf, base + off + got, size + 1 - got, got)
            got += n
            if (n === 0 || got >= size) break
          }
          if (got === size) {
            files[f + 1] = size
            files[f + 2] = (st.mode & 0o100) !== 0 ? 1 : 0
            files[f + 3] = off
            off += size
            state = k.DONE
          }
        }
      } catch {
        // The hasher reads it again and reports whatever it finds.
      } finally {
        if (fd >= 0) fs.closeSync(fd)
      }
      // Fails if the hasher stopped waiting and read it itself.
      Atomics.compareExchange(files, f, k.CLAIMED, state)
    }
    Atomics.store(ctrl, k.CURRENT, -1)
  }
}

export class ReadAhead {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(3 * 4)).fill(-1, CURRENT)
  private readonly meta = new Int32Array(new SharedArrayBuffer(SLOTS * 2 * 4))
  private readonly files = new Int32Array(new SharedArrayBuffer(SLOTS * BATCH * F * 4))
  private readonly queue = new Int32Array(new SharedArrayBuffer(QUEUE * 4))
  private readonly paths = Buffer.from(new SharedArrayBuffer(SLOTS * PATH_BYTES))
  private readonly data = Buffer.from(new SharedArrayBuffer(SLOTS * SLOT_BYTES))
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i)
  /** Files of each batch not yet taken: the batch is free when none is left. */
  private readonly left = new Int32Array(SLOTS)
  /** Each batch's place in the order posted. */
  private readonly order = new Int32Array(SLOTS)
  private readonly plans: Plan[] = []
  private tail = 0
  /** A batch emptied by the last call, whose bytes the caller may still be reading. */
  private held = -1
  private readonly retiring: number[] = []
  private readonly thread: Worker

  constructor(oRead: number) {
    const k = { F, BATCH, TAIL, STOP, CURRENT, POSTED, CLAIMED, DONE, YOURS, QUEUE, PATH_BYTES, SLOT_BYTES, O_READ: oRead }
    this.thread = new Worker(`(${worker.toString()})()`, {
      eval: true,
      workerData: { ctrl: this.ctrl, meta: this.meta, files: this.files, queue: this.queue, paths: this.paths, data: this.data, k },
      stdout: false,
      stderr: false,
    })
    // The hasher never waits for it to start, and a process that is done does not wait for it to end.
    this.thread.unref()
    this.thread.on('error', () => undefined)
  }

  /** The regular files of a directory just read, in the order they will be hashed. */
  enter(paths: string[]): Plan {
    const plan: Plan = { paths, slots: new Int32Array(paths.length).fill(-1), places: new Int32Array(paths.length), posted: 0 }
    this.plans.push(plan)
    this.pump()
    return plan
  }

  /** Done with a directory (also when its walk failed part-way: files posted and not taken are let go). */
  leave(plan: Plan): void {
    this.unhold()
    for (let i = 0; i < plan.posted; i++) {
      const slot = plan.slots[i]!
      if (slot < 0) continue
      this.claim(slot, (slot * BATCH + plan.places[i]!) * F)
      if (--this.left[slot]! === 0) this.retire(slot)
    }
    plan.slots.fill(-1)
    const i = this.plans.lastIndexOf(plan)
    if (i >= 0) this.plans.splice(i, 1)
  }

  /** File `i` of `plan`, read ahead; undefined when the caller must read it itself. The bytes are valid until the next call. */
  take(plan: Plan, i: number): Ahead | undefined {
    this.unhold()
    const slot = plan.slots[i]!
    if (slot < 0) return undefined
    plan.slots[i] = -1
    const f = (slot * BATCH + plan.places[i]!) * F
    let out: Ahead | undefined
    if (this.claim(slot, f) === DONE) {
      const size = this.files[f + 1]!
      const at = slot * SLOT_BYTES + this.files[f + 3]!
      out = { size, executable: this.files[f + 2] === 1, bytes: this.data.subarray(at, at + size) }
    }
    if (--this.left[slot]! === 0) {
      if (out) this.held = slot
      else this.retire(slot)
    }
    this.pump()
    return out
  }

  stop(): void {
    Atomics.store(this.ctrl, STOP, 1)
    Atomics.notify(this.ctrl, TAIL)
    void this.thread.terminate().catch(() => undefined)
  }

  /**
   * Decides who reads a file: DONE, the worker has; anything else, the caller does. A batch the
   * worker has not started becomes the caller's whole, so the two work on different batches; in
   * one it has, the caller waits a few microseconds for the file it is reading, then reads it
   * itself (the worker may have been put to sleep: the machine is shared).
   */
  private claim(slot: number, f: number): number {
    const b = Atomics.compareExchange(this.meta, slot * 2, POSTED, TAKEN)
    if (b === POSTED || b === TAKEN) return TAKEN
    let state = Atomics.compareExchange(this.files, f, POSTED, TAKEN)
    if (state === POSTED) return TAKEN
    if (state === CLAIMED) {
      // Right behind the worker: left so, the two would take turns on each file. The next batch
      // becomes the caller's, so while it reads that one the worker gets ahead again.
      const next = this.order[slot]! + 1
      if (next < this.tail) {
        const after = this.queue[next % QUEUE]!
        if (this.order[after] === next) Atomics.compareExchange(this.meta, after * 2, POSTED, TAKEN)
      }
      const until = performance.now() + SPIN_MS
      while ((state = Atomics.load(this.files, f)) === CLAIMED && performance.now() < until);
      if (state === CLAIMED) {
        state = Atomics.compareExchange(this.files, f, CLAIMED, TAKEN)
        if (state === CLAIMED) return TAKEN
      }
    }
    return state
  }

  /** A batch all taken: free once the worker is out of it (it may still be reading a file the caller took). */
  private retire(slot: number): void {
    if (Atomics.load(this.ctrl, CURRENT) === slot) this.retiring.push(slot)
    else this.release(slot)
  }

  private release(slot: number): void {
    this.meta[slot * 2] = FREE
    this.free.push(slot)
  }

  private unhold(): void {
    if (this.held < 0) return
    const slot = this.held
    this.held = -1
    this.retire(slot)
  }

  /** Posts batches as slots allow, innermost directory first: its files are hashed next. */
  private pump(): void {
    if (this.retiring.length > 0) {
      const current = Atomics.load(this.ctrl, CURRENT)
      for (let i = this.retiring.length - 1; i >= 0; i--) {
        const slot = this.retiring[i]!
        if (slot === current) continue
        this.retiring.splice(i, 1)
        this.release(slot)
      }
    }
    if (this.free.length === 0) return
    const before = this.tail
    for (let p = this.plans.length - 1; p >= 0 && this.free.length > 0; p--) {
      const plan = this.plans[p]!
      while (plan.posted < plan.paths.length && this.free.length > 0) {
        const slot = this.free.pop()!
        let at = slot * PATH_BYTES
        const end = at + PATH_BYTES
        let n = 0
        while (n < BATCH && plan.posted < plan.paths.length) {
          const path = plan.paths[plan.posted]!
          if (at + 2 + path.length > end) {
            // Too long for an empty batch: the caller reads it (the kernel refuses such a path anyway).
            if (n === 0) plan.posted++
            break
          }
          this.paths.writeUInt16LE(path.length, at)
          this.paths.write(path, at + 2, path.length, 'latin1')
          at += 2 + path.length
          plan.slots[plan.posted] = slot
          plan.places[plan.posted] = n
          this.files[(slot * BATCH + n) * F] = POSTED
          plan.posted++
          n++
        }
        if (n === 0) {
          this.free.push(slot)
          continue
        }
        this.left[slot] = n
        this.meta[slot * 2 + 1] = n
        Atomics.store(this.meta, slot * 2, POSTED)
        this.queue[this.tail % QUEUE] = slot
        this.order[slot] = this.tail
        this.tail++
      }
    }
    if (this.tail !== before) {
      Atomics.store(this.ctrl, TAIL, this.tail)
      Atomics.notify(this.ctrl, TAIL)
    }
  }
}
