// The request-target check every request pays before routing
// (src/gateway/request-target.ts): one Host, a valid host[:port], the path
// normalised. The common case (no %, no dot segment, no //) should cost one
// scan of the path and of the header names; compared with what the gateway
// did before (split at `?`, lower-case the Host). Prints ns/op, best and
// median of ROUNDS rounds.
// N=1000000 ROUNDS=5 node bench/request-target-micro.ts
import { resolveRequestTarget } from '../src/gateway/request-target.ts';

const N = Number(process.env.N ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const rawHeaders = [
  'Host',
  'api.example.test:8080',
  'User-Agent',
  'bench/1.0',
  'Accept',
  '*/*',
  'X-User-Id',
  'user-42',
  'Accept-Encoding',
  'gzip',
];
const plain: string[] = [];
const withQuery: string[] = [];
const dotted: string[] = [];
for (let i = 0; i < 1_024; i++) {
  plain.push(`/api/v1/svc${i % 97}/items/${i}`);
  withQuery.push(`/api/v1/svc${i % 97}/items?page=${i}&sort=name`);
  dotted.push(`/api/v1/svc${i % 97}/../items/%2e/${i}//x`);
}

/** What #handle did before: the path up to `?`, the query after, the Host's name lower-cased. */
function before(url: string, host: string): unknown {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  const colon = host.indexOf(':');
  const bare = (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
  return path.length + query.length + bare.length;
}

function time(label: string, run: (i: number) => unknown): void {
  for (let i = 0; i < 100_000; i++) run(i); // warm up the JIT
  const perOp: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (run(i) !== undefined) sink++;
    perOp.push(Number(process.hrtime.bigint() - start) / N);
    if (sink === 0) throw new Error(`${label}: nothing returned`);
  }
  perOp.sort((a, b) => a - b);
  const best = perOp[0].toFixed(1).padStart(7);
  const median = perOp[Math.floor(perOp.length / 2)].toFixed(1).padStart(7);
  console.log(`${label.padEnd(48)} best ${best} ns/op   median ${median} ns/op`);
}

console.log(`node ${process.version}, ${ROUNDS} rounds of ${N} ops`);
time('before: split at ?, lower-case Host', (i) => before(withQuery[i & 1023], rawHeaders[1]));
time('resolveRequestTarget (plain path)', (i) =>
  resolveRequestTarget(plain[i & 1023], rawHeaders, 'reject'),
);
time('resolveRequestTarget (path and query)', (i) =>
  resolveRequestTarget(withQuery[i & 1023], rawHeaders, 'reject'),
);
time('resolveRequestTarget (dot segments, %2e, //)', (i) =>
  resolveRequestTarget(dotted[i & 1023], rawHeaders, 'reject'),
);
