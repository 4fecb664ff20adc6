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
import { DEFAULTS } from '../src/config/index.ts';
import { CircuitBreaker } from '../src/guard/breaker.ts';
import { OutlierDetector } from '../src/guard/outlier.ts';
import { caseToRun, doneTiming, timeRounds } from './lib/micro.ts';

const N = Number(process.env.N ?? 10_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CASES = ['breaker-date-now', 'breaker-injected-clock', 'outlier'] as const;
const CASE = caseToRun(
  import.meta.filename,
  CASES,
  `node ${process.version}, ${ROUNDS} rounds of ${N} ops`,
);

/** `loop` runs N requests and returns how many were admitted (all: the breaker never trips here). */
function time(label: string, loop: () => number): Promise<void> {
  return timeRounds({ label, ops: N, rounds: ROUNDS, width: 52 }, () => {
    const admitted = loop();
    if (admitted !== N) throw new Error(`${label}: ${N - admitted} requests refused`);
    return admitted;
  });
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
doneTiming();
