// The rollout blocks of a config: defaults, shares as ratios or percentages,
// and every message a bad block gets, with its line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { CONFIG_FILE, problems } from '../helpers/config.ts';

const HEAD = `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: orders
    match: { path: /orders }
    legacy: legacy
    candidate: rewrite
`;

test('a rollout block gets every default, and shadow copies for its shadow phase', () => {
  const config = parseConfigText(`${HEAD}    rollout: {}\n`, CONFIG_FILE, {});
  const route = config.routes[0];
  assert.deepEqual(route.rollout, {
    autoStart: true,
    steps: [1, 5, 25, 50, 100],
    interval: 30_000,
    shadowFor: 600_000,
    minRequests: 200,
    window: 30_000,
    failureLimit: 2,
    onSuccess: 'done',
    gates: {
      errorRate: 0.003,
      p95: 800,
      baseline: { errorRate: 0.05, p99: 0.05, errorRateFloor: 0.001, p99Floor: 5 },
      mismatchRate: 0.01,
      prometheus: [],
    },
    webhooks: [],
  });
  assert.equal(route.shadow?.percent, 100, 'shadow on with its defaults');
  assert.deepEqual(config.rollouts, { checkEvery: 1000, webhooks: [], prometheus: undefined });
  assert.ok(Object.isFrozen(route.rollout?.gates));
});

test('shares as ratios or percentages; false turns a gate off; shadowFor 0 needs no shadow', () => {
  const config = parseConfigText(
    `rollouts:
  checkEvery: 250ms
  prometheus: { url: "http://127.0.0.1:9091" }
  webhooks: [{ url: "http://127.0.0.1:7000/e", headers: { x-token: t } }]
${HEAD}    shadow: false
    rollout:
      steps: [10, 100]
      shadowFor: 0s
      gates:
        errorRate: "1.5%"
        p95: false
        baseline: { p99: 0.2, p99Floor: 20ms }
        mismatchRate: false
        prometheus: [{ name: db, query: "sum(x)", min: 3 }]
      webhooks: [{ url: "http://127.0.0.1:7000/c", kind: confirm, timeout: 1s, retries: 0 }]
`,
    CONFIG_FILE,
    {},
  );
  const r = config.routes[0].rollout;
  assert.equal(r?.gates.errorRate, 0.015);
  assert.equal(r?.gates.p95, undefined);
  assert.equal(r?.gates.mismatchRate, undefined);
  assert.deepEqual(r?.gates.baseline, {
    errorRate: 0.05,
    p99: 0.2,
    errorRateFloor: 0.001,
    p99Floor: 20,
  });
  assert.deepEqual(r?.gates.prometheus, [{ name: 'db', query: 'sum(x)', max: undefined, min: 3 }]);
  assert.deepEqual(r?.webhooks, [
    { url: 'http://127.0.0.1:7000/c', kind: 'confirm', timeoutMs: 1000, retries: 0, headers: {} },
  ]);
  assert.equal(config.routes[0].shadow, undefined);
  assert.equal(config.rollouts.checkEvery, 250);
  assert.deepEqual(config.rollouts.prometheus, { url: 'http://127.0.0.1:9091/', timeoutMs: 2000 });
  assert.deepEqual(config.rollouts.webhooks[0].headers, { 'x-token': 't' });
});

test('bad rollout blocks: each problem named with its line and field', () => {
  assert.deepEqual(
    problems(`${HEAD}    rollout:
      steps: [5, 1, 100]
      interval: soon
      minRequests: 0
      onSuccess: celebrate
      gates: { errorRate: "3 percent", p95: fast, baseline: { p99: 2 } }
      webhooks: [{ url: "ftp://x", kind: maybe }]
      bogus: 1
`),
    [
      'cutover.yaml:10:14 routes[0].rollout.steps: expected weights above 0 and at most 100, in increasing order, such as [1, 5, 25, 50, 100], got [5,1,100]',
      'cutover.yaml:11:17 routes[0].rollout.interval: expected a duration such as 250ms, 5s or 1m, got "soon"',
      'cutover.yaml:12:20 routes[0].rollout.minRequests: expected at least 1, got 0',
      'cutover.yaml:13:18 routes[0].rollout.onSuccess: expected one of done, pause, got "celebrate"',
      'cutover.yaml:14:27 routes[0].rollout.gates.errorRate: expected a ratio from 0 to 1 or a percentage such as 0.3%, got "3 percent"',
      'cutover.yaml:14:45 routes[0].rollout.gates.p95: expected a duration such as 250ms, 5s or 1m, got "fast"',
      'cutover.yaml:14:61 routes[0].rollout.gates.baseline: p99: expected a ratio from 0 to 1 or a percentage such as 0.3%, got 2',
      'cutover.yaml:15:25 routes[0].rollout.webhooks[0].url: expected an http:// or https:// URL, got "ftp://x"',
      'cutover.yaml:15:42 routes[0].rollout.webhooks[0].kind: expected one of event, confirm, got "maybe"',
      'cutover.yaml:16:7 routes[0].rollout.bogus: unknown field "bogus"',
    ],
  );
});

test('rollout checks that need the rest of the route', () => {
  assert.deepEqual(
    problems(`backends:
  legacy: { url: "http://127.0.0.1:9001" }
routes:
  - name: solo
    match: { path: /solo }
    legacy: legacy
    rollout: { shadowFor: 0s }
  - name: quiet
    match: { path: /quiet }
    legacy: legacy
    candidate: legacy2
    shadow: false
    rollout:
      gates:
        prometheus:
          - { name: q, query: "up", max: 1, min: 0 }
`),
    [
      'cutover.yaml:7:14 routes[0].rollout: a rollout needs a candidate backend',
      'cutover.yaml:11:16 routes[1].candidate: backend "legacy2" is not defined (defined: legacy)',
      "cutover.yaml:12:13 routes[1].shadow: the rollout's shadow phase (shadowFor 10m by default) needs shadow copies; set rollout.shadowFor: 0s to skip it, or remove shadow: false",
      'cutover.yaml:16:13 routes[1].rollout.gates.prometheus[0]: expected exactly one of max or min',
      'cutover.yaml:16:13 routes[1].rollout.gates.prometheus[0]: a Prometheus gate needs rollouts.prometheus.url',
    ],
  );
});
