// One check's decision as a pure function: move on, hold (and why), roll back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CheckFacts, decide } from '../../src/rollout/decide.ts';
import type { GateResult, GateStatus } from '../../src/rollout/types.ts';
import { rolloutOf } from '../helpers/config.ts';

const rc = rolloutOf('{ interval: 30s, shadowFor: 10m, minRequests: 200, failureLimit: 2 }');

const gate = (status: GateStatus, name = 'errorRate'): GateResult => ({
  name,
  status,
  value: status === 'failed' ? 0.05 : 0,
  threshold: 0.003,
  bound: 'max',
  unit: 'ratio',
  detail: 'x',
});

const canary: CheckFacts = {
  state: 'canary',
  failures: 0,
  heldMs: 31_000,
  stepRequests: 500,
  shadowCompared: 0,
  candidateBreakerOpen: false,
};

test('a canary step moves on only when every gate passed, the hold is over and the step has its requests', () => {
  assert.deepEqual(decide(rc, canary, [gate('passed')]), { kind: 'advance' });
  const held = decide(rc, { ...canary, heldMs: 10_000 }, [gate('passed')]);
  assert.deepEqual(held, {
    kind: 'hold',
    failures: 0,
    waitingFor: 'holding the step for 20 s more',
  });
  const thin = decide(rc, { ...canary, stepRequests: 37 }, [gate('passed')]);
  assert.equal(thin.kind, 'hold');
  assert.match(
    (thin as { waitingFor: string }).waitingFor,
    /^37 of 200 candidate requests on this step \(low traffic/,
  );
  const waiting = decide(rc, canary, [gate('passed'), gate('waiting', 'p95')]);
  assert.match((waiting as { waitingFor: string }).waitingFor, /^gates waiting: p95 waiting/);
});

test('failed checks count up and roll back at the failure limit', () => {
  const first = decide(rc, canary, [gate('failed')]);
  assert.equal(first.kind, 'hold');
  assert.equal((first as { failures: number }).failures, 1);
  assert.match(
    (first as { waitingFor: string }).waitingFor,
    /^failing \(1 of 2\): errorRate 5\.00% > 0\.30%/,
  );
  const second = decide(rc, { ...canary, failures: 1 }, [gate('failed')]);
  assert.equal(second.kind, 'rollback');
  assert.match((second as { reason: string }).reason, /^gates failed 2 checks in a row: errorRate/);
  // A passing check clears the count.
  assert.deepEqual(decide(rc, { ...canary, failures: 1 }, [gate('passed')]), { kind: 'advance' });
});

test('the candidate breaker opening rolls a canary back at once', () => {
  assert.deepEqual(decide(rc, { ...canary, candidateBreakerOpen: true }, [gate('passed')]), {
    kind: 'rollback',
    reason: 'hard trip: the candidate breaker opened',
  });
});

test('shadow holds on a failing gate, never rolls back, and needs its time and pairs', () => {
  const shadow: CheckFacts = { ...canary, state: 'shadow', heldMs: 700_000, shadowCompared: 500 };
  const mismatch = gate('failed', 'mismatchRate');
  const held = decide(rc, { ...shadow, failures: 5, candidateBreakerOpen: true }, [mismatch]);
  assert.equal(held.kind, 'hold');
  assert.match((held as { waitingFor: string }).waitingFor, /^held in shadow: mismatchRate/);
  assert.deepEqual(
    decide(rc, { ...shadow, shadowCompared: 12 }, [gate('passed', 'mismatchRate')]),
    {
      kind: 'hold',
      failures: 0,
      waitingFor: '12 of 200 compared pairs',
    },
  );
  assert.deepEqual(decide(rc, { ...shadow, heldMs: 590_000 }, [gate('passed', 'mismatchRate')]), {
    kind: 'hold',
    failures: 0,
    waitingFor: 'shadowing for 10 s more',
  });
  assert.deepEqual(decide(rc, shadow, [gate('passed', 'mismatchRate')]), { kind: 'advance' });
});
