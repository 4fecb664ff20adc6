// The fallback load generator when wrk is not installed: autocannon in its own
// process (pinned like wrk would be), x-user-id varied per request, latency kept
// in microseconds (autocannon's own histogram rounds to whole milliseconds).
// Env: URL, SECONDS, CONNECTIONS, BENCH_BODY_BYTES (N > 0: POST with an N-byte
// body). Prints one JSON LoadResult line on stdout.
import { createRequire } from 'node:module';
import { createHistogram } from 'node:perf_hooks';
import type { LoadResult } from './lib/load.ts';

interface RawRequest {
  headers?: Record<string, string>;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
interface AutocannonInstance {
  on(
    event: 'response',
    listener: (client: unknown, status: number, bytes: number, ms: number) => void,
  ): void;
  then: Promise<AutocannonResult>['then'];
}
type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

let next = 0;
const histogram = createHistogram();
let completed = 0;

const bodyBytes = Number(process.env.BENCH_BODY_BYTES ?? 0);
const instance = autocannon({
  url: process.env.URL,
  ...(bodyBytes > 0 ? { method: 'POST', body: 'x'.repeat(bodyBytes) } : {}),
  duration: Number(process.env.SECONDS ?? 10),
  connections: Number(process.env.CONNECTIONS ?? 50),
  timeout: 5,
  requests: [
    {
      setupRequest: (req: RawRequest) => {
        next = (next + 1) % 1000;
        return { ...req, headers: { ...req.headers, 'x-user-id': `u${next}` } };
      },
    },
  ],
});
instance.on('response', (_client, _status, _bytes, ms) => {
  completed += 1;
  histogram.record(Math.max(1, Math.round(ms * 1000)));
});
const result = await instance;
const seconds = result.duration;
const summary: LoadResult = {
  requests: completed,
  seconds,
  rps: completed / seconds,
  p50Ms: histogram.percentile(50) / 1000,
  p99Ms: histogram.percentile(99) / 1000,
  non2xx: result.non2xx,
  socketErrors: result.errors,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
