// An Attempt gives back everything it holds exactly once, with its outcome:
// tested on real collaborators (a backend with its concurrency cap and outlier
// detector, a breaker, the side's stats), with fake timers for its timer.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULTS, parseConfigText } from '../../src/config/index.ts';
import { Attempt, unreleasedAttempts } from '../../src/gateway/attempt.ts';
import { Backend } from '../../src/gateway/backends.ts';
import { CircuitBreaker } from '../../src/guard/index.ts';
import {
  classifyOutcome,
  createLogger,
  Metrics,
  type Outcome,
  SideStats,
} from '../../src/telemetry/index.ts';

const config = parseConfigText(
  `backends:
  pair: { urls: ["http://127.0.0.1:9", "http://127.0.0.1:10"], concurrency: { max: 4 } }
routes:
  - name: r
    match: { path: /r }
    legacy: pair
`,
  'cutover.yaml',
  {},
);
const backend = new Backend(
  config.backends.get('pair')!,
  new Metrics(),
  createLogger({ level: 'silent', sync: true }),
);
after(() => Promise.all(backend.instances.map((i) => i.pool.close())));

interface Held {
  readonly attempt: Attempt;
  readonly breaker: CircuitBreaker;
  readonly stats: SideStats;
}

function take(): Held {
  const breaker = new CircuitBreaker(DEFAULTS.breaker, { backend: 'pair', route: 'r' });
  const stats = new SideStats('r', 'legacy', 'pair');
  assert.ok(breaker.tryAcquire());
  assert.ok(backend.concurrency!.tryAcquire());
  const attempt = new Attempt('legacy', backend, stats, breaker, backend.concurrency);
  return { attempt, breaker, stats };
}

const outcomeOf = (status: number, broke?: 'client-gone' | 'refused' | 'reset'): Outcome =>
  classifyOutcome(status, broke, undefined, undefined);

test('a second release changes nothing: one breaker record, one cap slot, one count', () => {
  const before = unreleasedAttempts();
  const { attempt, breaker, stats } = take();
  assert.equal(unreleasedAttempts(), before + 1);
  assert.equal(backend.concurrency!.inFlight, 1);
  attempt.release(outcomeOf(503), 503);
  attempt.release(outcomeOf(503), 503);
  attempt.release(outcomeOf(200), 200);
  assert.equal(attempt.released, true);
  assert.equal(unreleasedAttempts(), before);
  assert.equal(backend.concurrency!.inFlight, 0);
  const snap = breaker.snapshot();
  assert.equal(snap.calls, 1);
  assert.equal(snap.failures, 1);
  assert.equal(stats.count, 1);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((c) => stats.classCount(c)),
    [0, 0, 0, 0, 1],
  );
  const outlier = backend.outlier!.snapshot().instances[attempt.instance.index];
  assert.equal(outlier.consecutiveErrors, 1, 'the instance it went to got one error');
  attempt.release(outcomeOf(200), 200);
  assert.equal(backend.outlier!.snapshot().instances[attempt.instance.index].consecutiveErrors, 1);
});

test('a failure with a 2xx status (reset mid-body) is recorded as the backend failing and counted as 5xx', () => {
  const { attempt, breaker, stats } = take();
  attempt.release(outcomeOf(200, 'reset'), 200);
  assert.equal(breaker.snapshot().failures, 1);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((c) => stats.classCount(c)),
    [0, 0, 0, 0, 1],
  );
});

test('a client gone says nothing of the backend: no breaker record, counted with its 499', () => {
  const { attempt, breaker, stats } = take();
  attempt.release(outcomeOf(499, 'client-gone'), 499);
  assert.equal(breaker.snapshot().calls, 0);
  assert.equal(backend.concurrency!.inFlight, 0);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((c) => stats.classCount(c)),
    [0, 0, 0, 1, 0],
  );
});

test("the gateway's own refusal is in none of the backend's figures", () => {
  const { attempt, breaker, stats } = take();
  attempt.release(outcomeOf(0, 'refused'), 502);
  assert.equal(breaker.snapshot().calls, 0);
  assert.equal(backend.concurrency!.inFlight, 0);
  assert.equal(stats.count, 0);
});

test('a release disarms the timer; arming after release does nothing', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fired: string[] = [];
  const { attempt } = take();
  attempt.arm((who: string) => fired.push(who), 100, 'first');
  attempt.arm((who: string) => fired.push(who), 100, 'second');
  t.mock.timers.tick(100);
  assert.deepEqual(fired, ['second'], 'arming again replaces the timer');
  attempt.arm((who: string) => fired.push(who), 100, 'third');
  attempt.release(outcomeOf(200), 200);
  attempt.arm((who: string) => fired.push(who), 100, 'fourth');
  t.mock.timers.tick(500);
  assert.deepEqual(fired, ['second']);
});
