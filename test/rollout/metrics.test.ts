// The rollout series on a real prom-client registry: one read of the statuses
// per scrape fills all four gauges, and every scrape shows the statuses of now.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { RolloutMetrics } from '../../src/rollout/metrics.ts';
import type { RolloutStatus } from '../../src/rollout/target.ts';
import { metricValue } from '../helpers/metrics.ts';

function status(route: string, weight: number, over: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    route,
    configured: true,
    state: 'canary',
    step: 0,
    steps: [weight, 100],
    weight,
    since: null,
    timeInStateMs: 0,
    failures: 0,
    failureLimit: 2,
    reason: 'test',
    waitingFor: null,
    gates: [
      {
        name: 'errorRate',
        status: 'passed',
        value: 0.001,
        threshold: 0.003,
        bound: 'max',
        unit: 'ratio',
        detail: '',
      },
    ],
    ...over,
  };
}

test('one scrape reads the statuses once and fills state, weight, step and gate values', async () => {
  const registry = new Registry();
  let reads = 0;
  let statuses = [status('a', 10), status('b', 50, { state: 'paused', step: 1 })];
  const metrics = new RolloutMetrics(registry, () => {
    reads++;
    return statuses;
  });
  metrics.checked('a');

  const text = await registry.metrics();
  assert.equal(reads, 1, 'one read for the four gauges');
  assert.equal(metricValue(text, 'cutover_rollout_state', { route: 'a', state: 'canary' }), 1);
  assert.equal(metricValue(text, 'cutover_rollout_state', { route: 'b', state: 'paused' }), 1);
  assert.equal(metricValue(text, 'cutover_rollout_state', { route: 'b', state: 'canary' }), 0);
  assert.equal(metricValue(text, 'cutover_rollout_weight', { route: 'b' }), 50);
  assert.equal(metricValue(text, 'cutover_rollout_step', { route: 'b' }), 2);
  assert.equal(
    metricValue(text, 'cutover_rollout_gate_value', { route: 'a', gate: 'errorRate' }),
    0.001,
  );
  assert.equal(metricValue(text, 'cutover_rollout_checks_total', { route: 'a' }), 1);

  // The next scrape shows the statuses of then, in every gauge; a route gone is gone from all.
  statuses = [status('a', 25, { step: 1, gates: [] })];
  const next = await registry.metrics();
  assert.equal(reads, 2);
  assert.equal(metricValue(next, 'cutover_rollout_weight', { route: 'a' }), 25);
  assert.equal(metricValue(next, 'cutover_rollout_step', { route: 'a' }), 2);
  assert.doesNotMatch(next, /route="b"/);
  assert.doesNotMatch(next, /cutover_rollout_gate_value\{/);
});
