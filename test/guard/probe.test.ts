// Idle breaker probes: only a breaker left open (or half-open) with no
// traffic for 2 × openFor is probed, once per due time, on its backend's
// health path; the answer closes or re-opens it. Real upstream on loopback,
// real breakers on a clock the test moves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type BackendConfig, DEFAULTS, parseConfigText } from '../../src/config/index.ts';
import { Backend } from '../../src/gateway/backends.ts';
import { BreakerProbes, CircuitBreaker, type ProbedBreaker } from '../../src/guard/index.ts';
import { createLogger, Metrics } from '../../src/telemetry/index.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const OPEN_FOR = 1_000;
const PROBE_AGENT = 'cutover-breaker-probe';

function backendConfig(url: string, health = ''): BackendConfig {
  const config = parseConfigText(
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  rewrite: { url: "${url}"${health} }
routes: []
`,
    'cutover.yaml',
  );
  return config.backends.get('rewrite')!;
}

describe('breaker probes', () => {
  let up: Upstream;
  let backend: Backend;
  let now = 1_000_000;
  const entries: ProbedBreaker[] = [];
  let probes: BreakerProbes;

  before(async () => {
    up = await startUpstream({ name: 'rewrite' });
    backend = new Backend(backendConfig(up.url), new Metrics(), createLogger({ level: 'silent' }));
    probes = new BreakerProbes(
      () => entries,
      () => new Map([['rewrite', backend]]),
    );
  });
  after(async () => {
    probes.stop();
    await Promise.all(backend.instances.map((i) => i.pool.close()));
    await up.close();
  });

  function breaker(route: string): CircuitBreaker {
    const b = new CircuitBreaker(
      { ...DEFAULTS.breaker, openFor: OPEN_FOR },
      { backend: 'rewrite', route, now: () => now },
    );
    entries.push({ backend: 'rewrite', breaker: b });
    return b;
  }

  function trip(b: CircuitBreaker): void {
    for (let i = 0; i < 20; i++) {
      assert.equal(b.tryAcquire(), true);
      b.record(false, 5);
    }
    assert.equal(b.state, 'open');
  }

  const probesSeen = () => up.requests.filter((r) => r.headers['user-agent'] === PROBE_AGENT);

  test('only open breakers idle for 2 × openFor are probed, and a good answer closes them', async () => {
    entries.length = 0;
    const closed = breaker('closed');
    const opened = breaker('opened');
    const forced = breaker('forced');
    trip(opened);
    forced.force('open');
    now += 2 * OPEN_FOR - 1;
    await probes.sweep();
    assert.equal(probesSeen().length, 0, 'not idle long enough yet');

    now += 1;
    await probes.sweep();
    assert.equal(probesSeen().length, 1, 'one probe, for the idle open breaker');
    assert.equal(probesSeen()[0].url, '/');
    assert.equal(opened.state, 'closed');
    assert.equal(closed.state, 'closed');
    assert.equal(forced.state, 'open', 'a forced breaker is the operator’s: never probed');
  });

  test('a failing answer re-opens the breaker; the next probe waits another 2 × openFor', async () => {
    entries.length = 0;
    const before = probesSeen().length;
    up.setBehavior('status:503');
    try {
      const b = breaker('failing');
      trip(b);
      now += 2 * OPEN_FOR;
      await probes.sweep();
      assert.equal(probesSeen().length, before + 1);
      assert.equal(b.state, 'open');
      now += OPEN_FOR;
      await probes.sweep();
      assert.equal(probesSeen().length, before + 1, 'still inside the last probe’s 2 × openFor');
    } finally {
      up.setBehavior('ok');
    }
  });

  test('a probe asks the backend’s health path when it has one', async () => {
    entries.length = 0;
    const withHealth = new Backend(
      backendConfig(up.url, ', health: { path: /healthz }'),
      new Metrics(),
      createLogger({ level: 'silent' }),
    );
    const own = new BreakerProbes(
      () => entries,
      () => new Map([['rewrite', withHealth]]),
    );
    try {
      const b = breaker('health');
      trip(b);
      now += 2 * OPEN_FOR;
      await own.sweep();
      assert.equal(probesSeen().at(-1)?.url, '/healthz');
      assert.equal(b.state, 'closed');
    } finally {
      await Promise.all(withHealth.instances.map((i) => i.pool.close()));
    }
  });
});
