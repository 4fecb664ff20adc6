// Where log lines go: a file descriptor or path, written in batches. pino's
// default destination (sonic-boom) measured 4–8 µs of CPU per line here
// (bench/RESULTS.md); appending to a string and writing it out when it
// passes a size, or after a short delay, costs a fraction of that. Lines are
// never split between writes, and all of a process's log lines (access and
// others) share this one buffer, so their order holds.
import { closeSync, fsyncSync, openSync, write, writeSync } from 'node:fs';

export interface LineWriterOptions {
  /** Write every line at once (tests and one-shot commands). */
  sync?: boolean;
  /** Flush when this many characters are waiting. */
  bufferChars?: number;
  /** ... or this long after the first waiting line (ms). */
  flushMs?: number;
}

export class LineWriter {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #sync: boolean;
  readonly #limit: number;
  readonly #flushMs: number;
  #buf = '';
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(dest: number | string, options: LineWriterOptions = {}) {
    this.#ownsFd = typeof dest === 'string';
    this.#fd = typeof dest === 'string' ? openSync(dest, 'a') : dest;
    this.#sync = options.sync ?? false;
    this.#limit = options.bufferChars ?? 32 * 1024;
    this.#flushMs = options.flushMs ?? 200;
  }

  write(line: string): boolean {
    if (this.#sync) {
      writeAll(this.#fd, Buffer.from(line));
      return true;
    }
    this.#buf += line;
    if (this.#buf.length >= this.#limit) this.#flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, this.#flushMs);
      this.#timer.unref();
    }
    return true;
  }

  #flush(): void {
    if (this.#inFlight || this.#buf.length === 0) return;
    const data = Buffer.from(this.#buf);
    this.#buf = '';
    this.#inFlight = writeAsync(this.#fd, data).then(
      () => {
        this.#inFlight = undefined;
        if (this.#buf.length >= this.#limit) this.#flush();
      },
      () => {
        // A log that cannot be written must not take the gateway down.
        this.#inFlight = undefined;
      },
    );
  }

  /** Resolves when every line written so far is out. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight || this.#buf.length > 0) {
      if (this.#inFlight) await this.#inFlight;
      else this.#flush();
    }
  }

  /** Write what is buffered now, synchronously (exit paths). */
  flushSync(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buf.length === 0) return;
    const data = Buffer.from(this.#buf);
    this.#buf = '';
    writeAll(this.#fd, data);
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

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
    }
  }
}

function writeAsync(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      write(fd, data, off, data.length - off, null, (err, n) => {
        if (err && err.code !== 'EAGAIN') reject(err);
        else if (off + (n ?? 0) < data.length) setImmediate(step, off + (n ?? 0));
        else resolve();
      });
    };
    step(0);
  });
}
