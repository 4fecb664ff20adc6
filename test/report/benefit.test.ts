import assert from 'node:assert/strict';
import { test } from 'node:test';
import { p99DropRate, throughputPerInstanceRatio } from '../../src/report/index.ts';

test('P99 drop rate is (old − new) / old as a fraction', () => {
  assert.equal(p99DropRate(200, 150), 0.25);
  assert.equal(p99DropRate(100, 150), -0.5);
  assert.equal(p99DropRate(100, 100), 0);
});

test('P99 drop rate is undefined when old is 0 or an input is not a measurement', () => {
  assert.equal(p99DropRate(0, 10), undefined);
  assert.equal(p99DropRate(Number.NaN, 10), undefined);
  assert.equal(p99DropRate(10, -1), undefined);
});

test('throughput per instance ratio compares what one instance serves', () => {
  // old: 1000 rps on 10 instances = 100 each; new: 900 rps on 3 = 300 each.
  assert.equal(
    throughputPerInstanceRatio({ tps: 1000, instances: 10 }, { tps: 900, instances: 3 }),
    3,
  );
});

test('throughput per instance ratio is undefined with no instances or no old traffic', () => {
  assert.equal(
    throughputPerInstanceRatio({ tps: 1000, instances: 0 }, { tps: 900, instances: 3 }),
    undefined,
  );
  assert.equal(
    throughputPerInstanceRatio({ tps: 1000, instances: 10 }, { tps: 900, instances: 0 }),
    undefined,
  );
  assert.equal(
    throughputPerInstanceRatio({ tps: 0, instances: 10 }, { tps: 900, instances: 3 }),
    undefined,
  );
});
