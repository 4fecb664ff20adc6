// Upstream HTTP/2 clients for Cutover's backends (issue 12): undici 8's h2
// client (a Pool of UpstreamClient, as src/gateway/backends.ts builds it for
// `protocol: h2c`) against a hand-written node:http2 session, both driven the
// way ProxyExchange drives a backend — a handler per request, headers in,
// status + headers + body chunks + trailers out — at CONCURRENCY streams in
// flight on one session to an h2c upstream in another process.
//
// Shapes: `get` (GET, six proxy headers, a 110-byte JSON answer) and `grpc`
// (POST application/grpc with `te: trailers`, a 25-byte framed message as a
// stream body — what the gateway hands undici for a gRPC call — answered by a
// framed message and `grpc-status: 0` trailers).
//
// Each (round, case, shape) is a fresh client process pinned to CPU 1 (the
// upstream on CPU 0): 1 s warm-up, then DURATION s measured — requests
// completed, this process's CPU time (process.cpuUsage) per request, and the
// latency of every request completed in the window (p50/p99, closed loop, so
// p99 is queueing at saturation). Prints per-run lines, then medians.
//
//   DURATION=5 ROUNDS=3 CONCURRENCY=100 SHAPES=get,grpc flock /tmp/bench.lock \
//     node bench/h2-client-micro.ts
//
// CLIENTS=undici,node-http2 runs only some clients; STREAMS_PER_SESSION=N
// retires undici's session every N streams (what maxStreamsPerSession costs);
// BODY=buffer sends the grpc shape's body as a Buffer (what streaming costs).
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type ClientCase, clientCases, startClient } from './lib/h2-clients.ts';
import { SHAPES, type Shape, startH2Upstream } from './lib/h2-upstream.ts';
import { pinning, readPort, startProcess, stopAll, stopProcess } from './lib/procs.ts';

const DURATION = Number(process.env.DURATION ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 100);
const WARMUP = 1;
const SHAPE_LIST = (process.env.SHAPES ?? 'get,grpc').split(',') as Shape[];
const SELF = fileURLToPath(import.meta.url);
const CLIENT_LIST = process.env.CLIENTS
  ? (process.env.CLIENTS.split(',') as ClientCase[])
  : [...clientCases];

interface RunResult {
  client: ClientCase;
  shape: Shape;
  requests: number;
  errors: number;
  cpuUsPerRequest: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** One measured run in this process: CONCURRENCY requests kept in flight. */
async function clientRun(client: ClientCase, shape: Shape, port: number): Promise<RunResult> {
  const c = await startClient(client, port);
  const latencies = new Float64Array(2_000_000);
  let measured = 0;
  let errors = 0;
  let measuring = false;
  let stopping = false;
  let inFlight = 0;
  let allDone: () => void = () => {};
  const one = (): void => {
    inFlight++;
    const start = performance.now();
    c.request(SHAPES[shape], (err) => {
      inFlight--;
      if (measuring) {
        if (err) errors++;
        else if (measured < latencies.length) latencies[measured++] = performance.now() - start;
      }
      if (!stopping) one();
      else if (inFlight === 0) allDone();
    });
  };
  for (let i = 0; i < CONCURRENCY; i++) one();
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, DURATION * 1000));
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  stopping = true;
  await new Promise<void>((r) => {
    allDone = r;
    if (inFlight === 0) r();
  });
  await c.close();
  const sorted = latencies.subarray(0, measured).sort();
  const at = (q: number) => sorted[Math.min(measured - 1, Math.floor(q * measured))] ?? Number.NaN;
  return {
    client,
    shape,
    requests: measured,
    errors,
    cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, measured),
    reqPerSec: measured / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function drive(): Promise<void> {
  console.error(`node ${process.version}; ${pinning.note}`);
  console.error(
    `${ROUNDS} rounds × ${DURATION} s (+${WARMUP} s warm-up), ${CONCURRENCY} streams on one session`,
  );
  const upstream = startProcess(process.execPath, [SELF, '--upstream'], { cpu: 0 });
  const port = await readPort(upstream, 'h2 upstream');
  const results: RunResult[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so neither client always runs first.
      const order = round % 2 === 0 ? CLIENT_LIST : [...CLIENT_LIST].reverse();
      for (const shape of SHAPE_LIST) {
        for (const client of order) {
          const child = startProcess(
            process.execPath,
            [SELF, '--client', client, shape, String(port)],
            { cpu: 1, stdio: ['ignore', 'pipe', 'inherit'] },
          );
          let out = '';
          child.stdout?.on('data', (c: Buffer) => {
            out += c.toString();
          });
          await new Promise<void>((r) => child.once('exit', () => r()));
          const result = JSON.parse(out) as RunResult;
          results.push(result);
          console.error(
            `round ${round + 1}/${ROUNDS} ${shape} ${client}: ${result.reqPerSec.toFixed(0)} req/s, ` +
              `${result.cpuUsPerRequest.toFixed(1)} µs CPU/req, p99 ${result.p99Ms.toFixed(2)} ms, ` +
              `${result.errors} errors`,
          );
        }
      }
    }
  } finally {
    await stopProcess(upstream);
  }
  console.log('shape  client      req/s  µs CPU/req  p50 ms  p99 ms  errors');
  for (const shape of SHAPE_LIST) {
    for (const client of CLIENT_LIST) {
      const runs = results.filter((r) => r.client === client && r.shape === shape);
      console.log(
        [
          shape.padEnd(5),
          client.padEnd(10),
          median(runs.map((r) => r.reqPerSec))
            .toFixed(0)
            .padStart(6),
          median(runs.map((r) => r.cpuUsPerRequest))
            .toFixed(1)
            .padStart(11),
          median(runs.map((r) => r.p50Ms))
            .toFixed(2)
            .padStart(7),
          median(runs.map((r) => r.p99Ms))
            .toFixed(2)
            .padStart(7),
          String(runs.reduce((n, r) => n + r.errors, 0)).padStart(7),
        ].join(' '),
      );
    }
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === '--upstream') {
  const port = await startH2Upstream();
  console.log(JSON.stringify({ port }));
} else if (role === '--client') {
  const [client, shape, port] = args;
  const result = await clientRun(client as ClientCase, shape as Shape, Number(port));
  console.log(JSON.stringify(result));
} else {
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  await drive();
}
