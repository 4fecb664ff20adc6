// Where log lines go: a file descriptor or path, written in batches. pino's
// default destination (sonic-boom) measured 4–8 µs of CPU per line here, and
// appending to a string that Buffer.from turned into bytes at each flush
// still cost ≈ 1.5 µs (bench/RESULTS.md). Lines are now encoded straight into
// a preallocated 64 KiB buffer: no string rope, no per-flush allocation.
// A full buffer goes to a regular file with one writeSync on the event loop
// (≈ 17 µs of process CPU per 64 KiB here, against ≈ 60 µs through a libuv
// thread, whose wake-ups cost more than the copy into the page cache; Node
// writes process.stdout to files synchronously too). Anything else (a pipe, a
// terminal) may block, so there one buffer is filled while full ones are
// written on a libuv thread, in order. Lines are never split between writes,
// and every log line of the process (access and pino's) goes through this one
// writer, so their order holds.
import { closeSync, fstatSync, fsyncSync, openSync, write, writeSync } from 'node:fs';

export interface LineWriterOptions {
  /** Write every line at once (tests and one-shot commands). */
  sync?: boolean;
  /** Bytes per buffer: a buffer is written out when the next line does not fit. */
  bufferBytes?: number;
  /** ... or this long after the first waiting line (ms). */
  flushMs?: number;
  /**
   * Other processes write to the same pipe (`server.workers`): a pipe takes
   * a write of up to PIPE_BUF bytes whole, a larger one maybe in pieces
   * between another writer's, so each write is cut at a line end within
   * 4 KiB (a longer line goes alone). Regular files need no cutting: an
   * append lands whole.
   */
  atomicLines?: boolean;
}

/** POSIX PIPE_BUF on Linux: a pipe write up to this size is never interleaved with another. */
const PIPE_BUF = 4096;

/** 64 KiB: fewer, larger writes (one syscall per ≈ 250 access lines). */
const BUFFER_BYTES = 64 * 1024;
/** 100 ms: a line reaches the file quickly even when traffic is light. */
const FLUSH_MS = 100;
/** Spare buffers kept after a backlog drains; more are left to the GC. */
const SPARES = 2;

export class LineWriter {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #sync: boolean;
  /** A regular file: full buffers are written at once, on the event loop. */
  readonly #file: boolean;
  readonly #size: number;
  readonly #flushMs: number;
  /** Cut pipe writes at line ends within PIPE_BUF (see atomicLines). */
  readonly #atomic: boolean;
  /** The buffer being filled, and how many of its bytes hold lines. */
  #buf: Buffer;
  #len = 0;
  /** Full buffers waiting for their write, oldest first, with their lengths. */
  readonly #queue: Buffer[] = [];
  readonly #queueLen: number[] = [];
  readonly #spares: Buffer[] = [];
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(dest: number | string, options: LineWriterOptions = {}) {
    this.#ownsFd = typeof dest === 'string';
    this.#fd = typeof dest === 'string' ? openSync(dest, 'a') : dest;
    this.#sync = options.sync ?? false;
    this.#file = isRegularFile(this.#fd);
    this.#size = options.bufferBytes ?? BUFFER_BYTES;
    this.#flushMs = options.flushMs ?? FLUSH_MS;
    this.#atomic = (options.atomicLines ?? false) && !this.#file;
    this.#buf = Buffer.allocUnsafe(this.#size);
  }

  /** One line (pino's destination interface). */
  write(line: string): boolean {
    // A UTF-16 unit is at most 3 bytes of UTF-8: skip byteLength when it surely fits.
    let free = this.#buf.length - this.#len;
    if (line.length * 3 > free) {
      const bytes = Buffer.byteLength(line);
      if (bytes > free) this.reserve(bytes);
      free = this.#buf.length - this.#len;
    }
    this.commit(this.#len + this.#buf.write(line, this.#len, free, 'utf8'));
    return true;
  }

  /**
   * A buffer with at least `bytes` free from `offset`, to encode one line in
   * place; then `commit(end)`. A line longer than a whole buffer gets a buffer
   * of its own.
   */
  reserve(bytes: number): Buffer {
    if (this.#len + bytes > this.#buf.length) {
      this.#rotate();
      if (bytes > this.#buf.length) {
        if (this.#buf.length === this.#size) this.#spares.push(this.#buf);
        this.#buf = Buffer.allocUnsafe(bytes);
      }
    }
    return this.#buf;
  }

  /** Where the next line starts in the buffer `reserve` returned. */
  get offset(): number {
    return this.#len;
  }

  /** The line encoded from `offset` up to `end` is complete. */
  commit(end: number): void {
    this.#len = end;
    if (this.#sync) this.#writeHere();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#rotate();
      }, this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Write out the buffer being filled (a file) or queue it and take a free one. */
  #rotate(): void {
    if (this.#len === 0) return;
    if (this.#file) {
      this.#writeHere();
      return;
    }
    this.#queue.push(this.#buf);
    this.#queueLen.push(this.#len);
    this.#buf = this.#spare();
    this.#len = 0;
    if (this.#inFlight === undefined) this.#writeNext();
  }

  /** The buffer being filled, written now on the event loop. */
  #writeHere(): void {
    try {
      writeAll(this.#fd, this.#buf, this.#len, this.#atomic);
    } catch {
      // A log that cannot be written must not take the gateway down: these lines are lost.
    }
    this.#len = 0;
    if (this.#buf.length !== this.#size) this.#buf = this.#spare();
  }

  #spare(): Buffer {
    return this.#spares.pop() ?? Buffer.allocUnsafe(this.#size);
  }

  /** A written buffer back to the spares, unless it was a long line's own. */
  #release(buf: Buffer): void {
    if (buf.length === this.#size && this.#spares.length < SPARES) this.#spares.push(buf);
  }

  #writeNext(): void {
    const buf = this.#queue.shift();
    if (buf === undefined) return;
    const len = this.#queueLen.shift() as number;
    this.#inFlight = writeAsync(this.#fd, buf, len, this.#atomic)
      .catch(() => {
        // A log that cannot be written must not take the gateway down: these lines are lost.
      })
      .then(() => {
        this.#inFlight = undefined;
        this.#release(buf);
        this.#writeNext();
      });
  }

  /** Resolves when every line written so far is out. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#rotate();
    while (this.#inFlight) await this.#inFlight;
  }

  /**
   * Write what is waiting now, synchronously (exit paths). A write already
   * handed to a libuv thread finishes on its own.
   */
  flushSync(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const buf = this.#queue.shift() as Buffer;
      try {
        writeAll(this.#fd, buf, this.#queueLen.shift() as number, this.#atomic);
      } catch {
        // lost, as in #writeHere
      }
      this.#release(buf);
    }
    if (this.#len > 0) this.#writeHere();
  }

  end(): void {
    this.flushSync();
    if (this.#ownsFd) {
      try {
        fsyncSync(this.#fd);
      } catch {
        // /dev/null and pipes cannot be synced
      }
      closeSync(this.#fd);
    }
  }
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false; // a bad descriptor fails at its first write, which loses the lines only
  }
}

/**
 * Where the write that starts at `off` ends: `length` when not cutting,
 * else just after the last line end within PIPE_BUF bytes, or after the
 * first line end when that line alone is longer.
 */
function chunkEnd(data: Buffer, off: number, length: number, atomic: boolean): number {
  if (!atomic || length - off <= PIPE_BUF) return length;
  const within = data.lastIndexOf(0x0a, off + PIPE_BUF - 1);
  if (within >= off) return within + 1;
  const next = data.indexOf(0x0a, off);
  return next === -1 || next >= length ? length : next + 1;
}

function writeAll(fd: number, data: Buffer, length: number, atomic: boolean): void {
  let off = 0;
  while (off < length) {
    const end = chunkEnd(data, off, length, atomic);
    try {
      off += writeSync(fd, data, off, end - off);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
    }
  }
}

function writeAsync(fd: number, data: Buffer, length: number, atomic: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      const end = chunkEnd(data, off, length, atomic);
      write(fd, data, off, end - off, null, (err, n) => {
        if (err && err.code !== 'EAGAIN') reject(err);
        else if (off + (n ?? 0) < length) setImmediate(step, off + (n ?? 0));
        else resolve();
      });
    };
    step(0);
  });
}
