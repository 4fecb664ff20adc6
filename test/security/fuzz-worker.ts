// The fuzz pass's other thread (fuzz.test.ts): the recording backend and the
// clients sending the cases, so that the gateway has the test's main thread
// (and a core) to itself. It reports back what the backend saw.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { type FuzzCase, fuzzCase } from './fuzz-cases.ts';

export interface FuzzWorkerData {
  readonly seed: number;
  readonly cases: number;
  /** Number of the first case (to replay part of a run). */
  readonly first: number;
  readonly parallel: number;
  /** A case not closed by then is a stalled gateway (its requestTimeout is 300 s). */
  readonly stallMs: number;
  /**
   * With no byte from the gateway for this long, the client half-closes: a
   * case whose framing promises more bytes is then over. Only coverage
   * depends on it (too early, the case becomes a client that went away).
   */
  readonly idleMs: number;
}

/** One request as the backend saw it. */
export interface Seen {
  readonly id: string | undefined;
  readonly url: string;
  readonly method: string;
  readonly upgrade: boolean;
  bodyBytes: number;
  complete: boolean;
  /** The exchange is over (answered, or its connection gone). */
  closed: boolean;
}

export type FuzzWorkerMessage =
  | { readonly kind: 'backend'; readonly port: number }
  | {
      readonly kind: 'done';
      readonly seen: Seen[];
      readonly backendErrors: string[];
      readonly failures: string[];
      readonly statuses: Record<number, number>;
      /** Body bytes each case must deliver when forwarded (framing untouched), by case number. */
      readonly bodyBytes: Record<number, number>;
      readonly seconds: number;
    };

const data = workerData as FuzzWorkerData;
const post = (m: FuzzWorkerMessage) => parentPort!.postMessage(m);

const seen: Seen[] = [];
const backendErrors: string[] = [];
const backend = createServer(
  { keepAliveTimeout: 60_000 },
  (req: IncomingMessage, res: ServerResponse) => {
    const id = req.headers['x-request-id'];
    const entry: Seen = {
      id: typeof id === 'string' ? id : undefined,
      url: req.url ?? '',
      method: req.method ?? '',
      upgrade: false,
      bodyBytes: 0,
      complete: false,
      closed: false,
    };
    seen.push(entry);
    res.on('close', () => {
      entry.closed = true;
    });
    req.on('data', (c: Buffer) => {
      entry.bodyBytes += c.length;
    });
    req.on('end', () => {
      entry.complete = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bodyBytes: entry.bodyBytes }));
    });
  },
);
backend.on('upgrade', (req: IncomingMessage, socket) => {
  seen.push({
    id: undefined,
    url: req.url ?? '',
    method: req.method ?? '',
    upgrade: true,
    bodyBytes: 0,
    complete: true,
    closed: true,
  });
  socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
});
backend.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket) => {
  // A request the gateway cancelled (its client went away mid-body) ends early: not malformed.
  if (err.code !== 'ECONNRESET' && err.code !== 'HPE_INVALID_EOF_STATE') {
    backendErrors.push(
      `${err.code}: ${JSON.stringify(err.rawPacket?.toString('latin1').slice(0, 300) ?? err.message)}`,
    );
  }
  socket.destroy();
});
backend.listen(0, '127.0.0.1');
await once(backend, 'listening');
post({ kind: 'backend', port: (backend.address() as AddressInfo).port });
const [gatewayPort] = (await once(parentPort!, 'message')) as [number];

/** One case on its own connection; resolves with what came back. */
function sendCase(c: FuzzCase): Promise<{ raw: Buffer; stalled: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let stalled = false;
    let idle: NodeJS.Timeout | undefined;
    const quiet = () => {
      clearTimeout(idle);
      idle = setTimeout(() => socket.end(), data.idleMs);
    };
    const socket = connect(gatewayPort, '127.0.0.1', () => {
      socket.write(c.bytes);
      quiet();
    });
    const watchdog = setTimeout(() => {
      stalled = true;
      socket.destroy();
    }, data.stallMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      quiet();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(idle);
      clearTimeout(watchdog);
      resolve({ raw: Buffer.concat(chunks), stalled });
    });
  });
}

const failures: string[] = [];
const statuses: Record<number, number> = {};
const bodyBytes: Record<number, number> = {};
let next = data.first;
const started = performance.now();
async function lane(): Promise<void> {
  for (let n = next++; n < data.first + data.cases; n = next++) {
    const c = fuzzCase(data.seed, n);
    if (c.bodyBytes !== undefined) bodyBytes[n] = c.bodyBytes;
    const { raw, stalled } = await sendCase(c);
    if (stalled && failures.length < 20) {
      failures.push(
        `case ${n} [${c.mutations.join(', ')}]: neither answered nor closed in ${data.stallMs} ms\n  ${JSON.stringify(c.bytes.toString('latin1').slice(0, 400))}`,
      );
    }
    if (process.env.CUTOVER_FUZZ_PROGRESS && n % 500 === 0)
      console.log(
        `case ${n} at ${((performance.now() - started) / 1000).toFixed(1)} s; backend requests open ${seen.filter((x) => !x.closed).length}`,
      );
    const status = Number(raw.subarray(9, 12).toString('latin1')) || 0;
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: data.parallel }, lane));
const seconds = (performance.now() - started) / 1000;
post({ kind: 'done', seen, backendErrors, failures, statuses, bodyBytes, seconds });
// The backend stays up for the test's last request, until it says stop.
await once(parentPort!, 'message');
backend.closeAllConnections();
backend.close();
parentPort!.close();
