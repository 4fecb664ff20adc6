// The access log in isolation: N access lines built and written to a file in
// /tmp through the real AccessLog and LineWriter, against a copy of the code
// before issue 10 § 5 (a template-literal line appended to a string, turned
// into a Buffer at each 32 KiB flush; kept only here). Prints µs of process
// CPU per line (process.cpuUsage covers every thread, the libuv writers too),
// median over ROUNDS rounds, the two run alternately in one process.
// Then what one 64 KiB write costs issued three ways: fs.write (a libuv
// thread), fs.writeSync (the event loop) and a Worker that is sent the bytes.
// LINES=200000 ROUNDS=7 node bench/access-log-micro.ts
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  write,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { AccessLog, createLogger, type Logger } from '../src/telemetry/index.ts';

const LINES = Number(process.env.LINES ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
/** Lines between two turns of the event loop: about what a busy gateway serves per turn. */
const BATCH = 64;

// ---- the code before (3d2cdd2), reduced to what the access line uses ----
class OldLineWriter {
  readonly #fd: number;
  #buf = '';
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  constructor(fd: number) {
    this.#fd = fd;
  }
  write(line: string): boolean {
    this.#buf += line;
    if (this.#buf.length >= 32 * 1024) this.#flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, 200);
      this.#timer.unref();
    }
    return true;
  }
  #flush(): void {
    if (this.#inFlight || this.#buf.length === 0) return;
    const data = Buffer.from(this.#buf);
    this.#buf = '';
    this.#inFlight = writeOld(this.#fd, data).then(() => {
      this.#inFlight = undefined;
      if (this.#buf.length >= 32 * 1024) this.#flush();
    });
  }
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight || this.#buf.length > 0) {
      if (this.#inFlight) await this.#inFlight;
      else this.#flush();
    }
  }
}

function writeOld(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      write(fd, data, off, data.length - off, null, (err, n) => {
        if (err) reject(err);
        else if (off + n < data.length) step(off + n);
        else resolve();
      });
    };
    step(0);
  });
}

class OldAccessLog {
  readonly #dest: OldLineWriter;
  readonly #prefix = `{"level":"info","time":"`;
  readonly #pid = `","pid":${process.pid},"msg":"access","reqId":`;
  #lastMs = 0;
  #lastTime = '';
  constructor(dest: OldLineWriter) {
    this.#dest = dest;
  }
  #time(): string {
    const now = Date.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastTime = new Date(now).toISOString();
    }
    return this.#lastTime;
  }
  write(
    ...[reqId, fragment, method, path, status, ms, bytes, attempts, fallback, err]: Parameters<
      AccessLog['write']
    >
  ): void {
    let line = `${this.#prefix}${this.#time()}${this.#pid}${JSON.stringify(reqId)}${fragment},"method":"${method}","path":${JSON.stringify(path)},"status":${status},"ms":${ms},"bytes":${bytes}`;
    if (attempts > 1) line += `,"attempts":${attempts}`;
    if (fallback !== undefined) line += `,"fallback":${JSON.stringify(fallback)}`;
    if (err !== undefined) line += `,"err":${JSON.stringify(err)}`;
    this.#dest.write(`${line}}\n`);
  }
}

// ---- the lines ----
const ids = Array.from({ length: 1024 }, () => randomUUID());
const paths = Array.from({ length: 64 }, (_, i) => `/api/v1/items/${1000 + i}?page=${i % 7}`);
const durations = Array.from({ length: 256 }, (_, i) => Math.round(((i * 37) % 400) + 3) / 10);
const fragment = AccessLog.fragment('bench', 'legacy', 'legacy');

async function lines(log: { write: AccessLog['write'] }): Promise<void> {
  for (let i = 0; i < LINES; i++) {
    log.write(
      ids[i & 1023]!,
      fragment,
      'GET',
      paths[i & 63]!,
      200,
      durations[i & 255]!,
      1234 + (i & 511),
      1,
      undefined,
      undefined,
    );
    if ((i & (BATCH - 1)) === BATCH - 1) await tick();
  }
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** The loop and its event-loop turns alone, to subtract. */
async function roundEmpty(): Promise<number> {
  const start = process.cpuUsage();
  await lines({ write: () => {} });
  return cpuMicros(start) / LINES;
}

async function roundOld(file: string): Promise<number> {
  const fd = openSync(file, 'w');
  const writer = new OldLineWriter(fd);
  const start = process.cpuUsage();
  await lines(new OldAccessLog(writer));
  await writer.flush();
  const us = cpuMicros(start);
  closeSync(fd);
  return us / LINES;
}

async function roundNew(file: string): Promise<number> {
  const logger: Logger = createLogger({ level: 'info', destination: openSync(file, 'w') });
  const writer = (logger as unknown as Record<symbol, { flush(): Promise<void> }>)[
    pino.symbols.streamSym
  ]!;
  const start = process.cpuUsage();
  await lines(new AccessLog(logger));
  await writer.flush();
  return cpuMicros(start) / LINES;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

// ---- one 64 KiB write, three ways ----
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const CHUNKS = 2000;

async function viaLibuv(fd: number): Promise<void> {
  for (let i = 0; i < CHUNKS; i++) {
    await new Promise<void>((resolve, reject) =>
      write(fd, CHUNK, 0, CHUNK.length, null, (e) => (e ? reject(e) : resolve())),
    );
  }
}

async function viaSync(fd: number): Promise<void> {
  for (let i = 0; i < CHUNKS; i++) {
    writeSync(fd, CHUNK);
    if ((i & 7) === 7) await tick();
  }
}

async function viaWorker(file: string): Promise<void> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { openSync, writeSync } = require('node:fs');
     const fd = openSync(workerData, 'w');
     parentPort.on('message', (b) => { writeSync(fd, new Uint8Array(b)); parentPort.postMessage(b, [b]); });`,
    { eval: true, workerData: file },
  );
  await new Promise((resolve) => worker.once('online', resolve));
  const start = process.cpuUsage();
  let ab = new ArrayBuffer(CHUNK.length);
  new Uint8Array(ab).set(CHUNK);
  for (let i = 0; i < CHUNKS; i++) {
    worker.postMessage(ab, [ab]);
    ab = await new Promise<ArrayBuffer>((resolve) => worker.once('message', resolve));
  }
  const us = cpuMicros(start);
  await worker.terminate();
  workerUs = us;
}
let workerUs = 0;

async function writeWays(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, run] of [
    ['fs.write (libuv thread)', viaLibuv],
    ['fs.writeSync (event loop)', viaSync],
  ] as const) {
    const fd = openSync(join(dir, 'chunks'), 'w');
    const start = process.cpuUsage();
    await run(fd);
    out[name] = cpuMicros(start) / CHUNKS;
    closeSync(fd);
  }
  await viaWorker(join(dir, 'chunks'));
  out['Worker (transfer, writeSync there)'] = workerUs / CHUNKS;
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'access-log-micro-'));
try {
  const old: number[] = [];
  const now: number[] = [];
  const empty: number[] = [];
  await roundOld(join(dir, 'warm-old.log'));
  await roundNew(join(dir, 'warm-new.log'));
  for (let r = 0; r < ROUNDS; r++) {
    old.push(await roundOld(join(dir, 'old.log')));
    now.push(await roundNew(join(dir, 'new.log')));
    empty.push(await roundEmpty());
  }
  const oldFile = readFileSync(join(dir, 'old.log'), 'utf8');
  const newFile = readFileSync(join(dir, 'new.log'), 'utf8');
  const count = (s: string) => s.split('\n').length - 1;
  if (count(oldFile) !== LINES || count(newFile) !== LINES) {
    throw new Error(
      `lines written: before ${count(oldFile)}, after ${count(newFile)}, expected ${LINES}`,
    );
  }
  // Same bytes apart from the time: compare with the times blanked.
  const blank = (s: string) => s.replace(/"time":"[^"]*"/g, '"time":""');
  if (blank(oldFile) !== blank(newFile)) throw new Error('the two files differ beyond the time');
  const bytesPerLine = statSync(join(dir, 'new.log')).size / LINES;
  console.log(
    `access lines: ${LINES} per round, ${bytesPerLine.toFixed(0)} bytes each, ${ROUNDS} rounds (median)`,
  );
  console.log(`  the loop alone (subtracted below): ${median(empty).toFixed(3)} µs CPU/line`);
  const net = (xs: number[]) => median(xs) - median(empty);
  console.log(
    `  before (3d2cdd2 algorithm): ${net(old).toFixed(3)} µs CPU/line  [${old.map((x) => x.toFixed(2)).join(' ')}]`,
  );
  console.log(
    `  after  (AccessLog + LineWriter): ${net(now).toFixed(3)} µs CPU/line  [${now.map((x) => x.toFixed(2)).join(' ')}]`,
  );
  console.log(
    `one 64 KiB write (${CHUNKS} of them), µs of process CPU each (≈ ${Math.round(65536 / bytesPerLine)} lines):`,
  );
  for (const [name, us] of Object.entries(await writeWays(dir))) {
    console.log(
      `  ${name}: ${us.toFixed(1)} µs  (${((us * bytesPerLine) / 65536).toFixed(3)} µs/line)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
