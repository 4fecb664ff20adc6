// A Prometheus gate end to end: a real Prometheus (Debian's package) scrapes
// Cutover's own /metrics, and the rollout asks it a PromQL question.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { freePort, startPrometheus, type TestPrometheus } from '../helpers/prometheus.ts';
import { rolloutUntil, rolloutYaml, sameAnswerPair } from './fixture.ts';
import { startLoad } from './load.ts';

const up = sameAnswerPair();
let prometheus: TestPrometheus;
let adminPort: number;

before(async () => {
  adminPort = await freePort();
  prometheus = await startPrometheus({ targets: [`127.0.0.1:${adminPort}`] });
});
after(async () => {
  await prometheus.stop();
});

const QUERY =
  'sum(rate(cutover_requests_total{route="main",side="candidate",class="5xx"}[5s])) or vector(0)';

it('a PromQL gate over Cutover’s own metrics passes on a healthy candidate and rolls back a failing one', async () => {
  const yaml = rolloutYaml(
    up.legacy,
    up.rewrite,
    `
    steps: [10, 100]
    shadowFor: 0s
    interval: 1h
    minRequests: 10
    gates: { errorRate: false, p95: false, baseline: false, prometheus: [{ name: candidate5xxPerSecond, query: '${QUERY}', max: 1 }] }`,
    {
      rewrite: ', breaker: false',
      rollouts: `  prometheus: { url: "${prometheus.url}", timeout: 2s }`,
    },
  ).replace('admin: { listen: 127.0.0.1:0 }', `admin: { listen: 127.0.0.1:${adminPort} }`);
  const gw = await startGateway(yaml);
  const load = startLoad(gw.url, 4);
  try {
    // Prometheus needs a few scrapes (and 5 s to take up new targets) before it has a rate.
    const healthy = await rolloutUntil(
      gw,
      'the gate passes with a real value',
      (s) => s.gates.some((g) => g.name === 'candidate5xxPerSecond' && g.status === 'passed'),
      40_000,
    );
    const gate = healthy.gates.find((g) => g.name === 'candidate5xxPerSecond');
    assert.equal(gate?.value, 0);
    assert.equal(gate?.threshold, 1);
    assert.equal(healthy.state, 'canary');

    up.rewrite.setBehavior('status:500');
    const rolled = await rolloutUntil(gw, 'rolled back', (s) => s.state === 'rolled-back', 30_000);
    assert.equal(rolled.weight, 0);
    assert.match(rolled.reason, /candidate5xxPerSecond \d+(\.\d+)? > 1/);
  } finally {
    up.rewrite.setBehavior('ok');
    await load.stop();
    await gw.close();
  }
});
