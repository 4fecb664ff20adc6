// Rate limiter, concurrency limiter and retry budget in isolation: N take()
// calls on one key and over KEYS rotating keys (all held, and with a key table
// ten times too small, so every call evicts), then N_PAIRS acquire/release
// pairs. Prints ns/op per case, best and median of ROUNDS rounds. The cluster
// limit (issue 11) runs over the in-process fleet store, in chunks of CHUNK
// calls with a turn of the event loop between them so its refills land as
// they would between requests; the instance limit runs in the same harness
// for the comparison.
// N=1000000 N_PAIRS=10000000 KEYS=100000 ROUNDS=5 node bench/limiter-micro.ts
import { ClusterLimiter } from '../src/guard/cluster-limit.ts';
import { ConcurrencyLimiter } from '../src/guard/concurrency.ts';
import { TokenBucketLimiter } from '../src/guard/rate-limit.ts';
import { RateLimitHeaders } from '../src/guard/ratelimit-headers.ts';
import { RetryBudget } from '../src/guard/retry.ts';
import { MemoryStore } from '../src/state/index.ts';

const N = Number(process.env.N ?? 1_000_000);
const N_PAIRS = Number(process.env.N_PAIRS ?? 10_000_000);
const KEYS = Number(process.env.KEYS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

/** Best and median of ROUNDS timed rounds of `n` calls: the best is the least disturbed by other work. */
function time(label: string, n: number, run: (i: number) => boolean): void {
  for (let i = 0; i < Math.min(n, 200_000); i++) run(i); // warm up the JIT
  const perOp: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (run(i)) sink++;
    perOp.push(Number(process.hrtime.bigint() - start) / n);
    if (sink === 0) throw new Error(`${label}: nothing admitted`);
  }
  perOp.sort((a, b) => a - b);
  const best = perOp[0].toFixed(1).padStart(7);
  const median = perOp[Math.floor(perOp.length / 2)].toFixed(1).padStart(7);
  console.log(`${label.padEnd(52)} best ${best} ns/op   median ${median} ns/op`);
}

const keys: string[] = [];
for (let i = 0; i < KEYS; i++) keys.push(`user-${i * 7919}`);
// A clock a microsecond a call: the buckets refill, so both answers occur.
let clock = 0;
function tick(): number {
  clock += 0.001;
  return clock;
}
const limit = { rps: 1000, burst: 1000, key: [], scope: 'instance', onStoreDown: 'local' } as const;

console.log(`node ${process.version}, ${ROUNDS} rounds, N=${N}, N_PAIRS=${N_PAIRS}, KEYS=${KEYS}`);
{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: 10_000 });
  time('take: one key', N, () => l.take('', tick()).allowed);
}
{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: 10_000 });
  const headers = new RateLimitHeaders(limit);
  time('take + RateLimit header values: one key', N, (i) => {
    const d = l.take('', tick());
    return headers.forDecision(d).ratelimit.length > i % 2;
  });
}
{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: 10_000 });
  time('take: one key, performance.now() per call', N, () => l.take('', performance.now()).allowed);
}
{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: KEYS * 2 });
  time(`take: ${KEYS} rotating keys, all held`, N, (i) => l.take(keys[i % KEYS], tick()).allowed);
}
{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: Math.ceil(KEYS / 10) });
  time(
    `take: ${KEYS} rotating keys, maxKeys ${Math.ceil(KEYS / 10)} (evicts)`,
    N,
    (i) => l.take(keys[i % KEYS], tick()).allowed,
  );
}
const CHUNK = Number(process.env.CHUNK ?? 1000);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** As `time`, with a turn of the event loop every CHUNK calls, counted in the time. */
async function timeChunked(label: string, n: number, run: (i: number) => boolean): Promise<void> {
  for (let i = 0; i < Math.min(n, 200_000); i++) {
    run(i);
    if (i % CHUNK === CHUNK - 1) await turn();
  }
  const perOp: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      if (run(i)) sink++;
      if (i % CHUNK === CHUNK - 1) await turn();
    }
    perOp.push(Number(process.hrtime.bigint() - start) / n);
    if (sink === 0) throw new Error(`${label}: nothing admitted`);
  }
  perOp.sort((a, b) => a - b);
  const best = perOp[0].toFixed(1).padStart(7);
  const median = perOp[Math.floor(perOp.length / 2)].toFixed(1).padStart(7);
  console.log(`${label.padEnd(52)} best ${best} ns/op   median ${median} ns/op`);
}

/** A cluster limit alone in its fleet, over a store on the same fake clock. */
function clusterLimiter(rps: number, burst: number, maxKeys: number): ClusterLimiter {
  const store = new MemoryStore(() => clock);
  const config = { ...limit, rps, burst, maxKeys, scope: 'cluster' } as const;
  return new ClusterLimiter(config, { route: 'bench', buckets: store });
}

{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: 10_000 });
  await timeChunked('instance, chunked: one key', N, () => l.take('', tick()).allowed);
}
{
  // 1000/s offered a million a second: almost every call refused.
  const l = clusterLimiter(1000, 1000, 10_000);
  await timeChunked(
    'cluster, chunked: one key, 1000/s (refuses)',
    N,
    () => l.take('', tick()).allowed,
  );
}
{
  // A rate above the offered one: every call admitted, a refill every batch/2.
  const l = clusterLimiter(10_000_000, 10_000_000, 10_000);
  await timeChunked(
    'cluster, chunked: one key, 1e7/s (admits)',
    N,
    () => l.take('', tick()).allowed,
  );
}
{
  const l = new TokenBucketLimiter({ ...limit, maxKeys: KEYS * 2 });
  await timeChunked(
    `instance, chunked: ${KEYS} rotating keys, all held`,
    N,
    (i) => l.take(keys[i % KEYS], tick()).allowed,
  );
}
{
  const l = clusterLimiter(1000, 1000, KEYS * 2);
  await timeChunked(
    `cluster, chunked: ${KEYS} rotating keys, all held`,
    N,
    (i) => l.take(keys[i % KEYS], tick()).allowed,
  );
}
{
  const c = new ConcurrencyLimiter({ max: 500, adaptive: false, minLimit: 10, tolerance: 2 });
  time('acquire + release: static', N_PAIRS, () => {
    const ok = c.tryAcquire();
    c.release(10, true);
    return ok;
  });
}
{
  let t = 0;
  const c = new ConcurrencyLimiter(
    { max: 500, adaptive: true, minLimit: 10, tolerance: 2 },
    { now: () => t },
  );
  time('acquire + release: adaptive (fake clock)', N_PAIRS, (i) => {
    const ok = c.tryAcquire();
    t += 0.01;
    c.release(10 + (i & 7), true);
    return ok;
  });
}
{
  const c = new ConcurrencyLimiter({ max: 500, adaptive: true, minLimit: 10, tolerance: 2 });
  time('acquire + release: adaptive (performance.now)', N_PAIRS, (i) => {
    const ok = c.tryAcquire();
    c.release(10 + (i & 7), true);
    return ok;
  });
}
{
  const b = new RetryBudget({
    attempts: 2,
    budget: 0.2,
    minConcurrent: 3,
    backoff: 25,
    maxBackoff: 250,
    grpcCodes: [14],
  });
  time('retry budget: canRetry + started + finished', N_PAIRS, () => {
    const ok = b.canRetry(100);
    b.retryStarted();
    b.retryFinished();
    return ok;
  });
}
