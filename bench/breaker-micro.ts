// The breaker and outlier detector on the request path, in isolation: N
// tryAcquire()+record() pairs on a closed breaker (1% failures, 1% slow, so it
// never trips), and N isEjected()+record() pairs on a detector with nothing
// ejected. Prints ns/op, best and median of ROUNDS rounds, and the garbage
// collections seen while timing: none means the hot path allocates nothing.
// Each case runs in its own process, so the breaker's call to its clock stays
// monomorphic as in the gateway (where every breaker shares the default one).
// A second breaker case with a free injected clock shows the breaker's own
// cost apart from Date.now's.
// N=10000000 ROUNDS=5 node bench/breaker-micro.ts
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { DEFAULTS } from '../src/config/index.ts';
import { CircuitBreaker } from '../src/guard/breaker.ts';
import { OutlierDetector } from '../src/guard/outlier.ts';

const N = Number(process.env.N ?? 10_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CASES = ['breaker-date-now', 'breaker-injected-clock', 'outlier'] as const;
const CASE = process.env.CASE;

if (CASE === undefined) {
  console.log(`node ${process.version}, ${ROUNDS} rounds of ${N} ops`);
  for (const name of CASES) {
    execFileSync(process.execPath, [import.meta.filename], {
      env: { ...process.env, CASE: name },
      stdio: 'inherit',
    });
  }
  process.exit(0);
}

let gcs = 0;
const observer = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
observer.observe({ entryTypes: ['gc'] });

/** GC entries are delivered asynchronously: give the observer a turn before reading. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `loop` runs N requests and returns how many were admitted; one loop per case keeps call sites monomorphic. */
async function time(label: string, loop: () => number): Promise<void> {
  loop(); // warm up the JIT
  await settle();
  const perOp: number[] = [];
  let collections = 0;
  for (let round = 0; round < ROUNDS; round++) {
    gcs = 0;
    const start = process.hrtime.bigint();
    const admitted = loop();
    perOp.push(Number(process.hrtime.bigint() - start) / N);
    await settle();
    collections += gcs;
    if (admitted !== N) throw new Error(`${label}: ${N - admitted} requests refused`);
  }
  perOp.sort((a, b) => a - b);
  const best = perOp[0].toFixed(1).padStart(6);
  const median = perOp[Math.floor(perOp.length / 2)].toFixed(1).padStart(6);
  console.log(
    `${label.padEnd(52)} best ${best} ns/op   median ${median} ns/op   GCs ${collections}`,
  );
}

async function breakerDateNow(): Promise<void> {
  const breaker = new CircuitBreaker(DEFAULTS.breaker, { backend: 'bench', route: 'bench' });
  await time('breaker tryAcquire+record (closed, Date.now clock)', () => {
    let admitted = 0;
    for (let i = 0; i < N; i++) {
      if (!breaker.tryAcquire()) continue;
      breaker.record(i % 100 !== 0, i % 100 === 50 ? 2_000 : 5);
      admitted++;
    }
    return admitted;
  });
  const stats = breaker.snapshot();
  console.log(`  (breaker after the run: ${stats.state}, ${stats.calls} calls in the window)`);
}

async function breakerInjectedClock(): Promise<void> {
  // A clock that costs nothing: the breaker's own cost, without Date.now's.
  const epoch = Date.now();
  let tick = 0;
  const fixedClock = new CircuitBreaker(DEFAULTS.breaker, {
    backend: 'bench',
    route: 'bench',
    now: () => epoch + tick,
  });
  await time('breaker tryAcquire+record (closed, injected clock)', () => {
    let admitted = 0;
    for (let i = 0; i < N; i++) {
      tick = i >>> 10; // one "ms" per 1,024 calls: a new 1 s bucket every ~1M calls
      if (!fixedClock.tryAcquire()) continue;
      fixedClock.record(i % 100 !== 0, i % 100 === 50 ? 2_000 : 5);
      admitted++;
    }
    return admitted;
  });
}

async function outlierDetector(): Promise<void> {
  const outlier = new OutlierDetector(DEFAULTS.outlier, 4);
  await time('outlier isEjected+record (nothing ejected)', () => {
    let admitted = 0;
    for (let i = 0; i < N; i++) {
      const index = i & 3;
      if (outlier.isEjected(index)) continue;
      outlier.record(index, (i & 63) !== 0);
      admitted++;
    }
    return admitted;
  });
}

if (CASE === 'breaker-date-now') await breakerDateNow();
else if (CASE === 'breaker-injected-clock') await breakerInjectedClock();
else if (CASE === 'outlier') await outlierDetector();
else throw new Error(`unknown CASE ${CASE}; one of ${CASES.join(', ')}`);
observer.disconnect();
