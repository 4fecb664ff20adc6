// The one place that says whether an attempt succeeded: a table of what a
// transport reports and the outcome every guard and figure then reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AttemptBreak,
  classifyOutcome,
  countedClass,
  type FailureCause,
  type OutcomeKind,
} from '../../src/telemetry/index.ts';

interface Row {
  readonly status: number;
  readonly broke?: AttemptBreak;
  readonly kind: OutcomeKind;
  readonly cause?: FailureCause;
  readonly backendOk: boolean | undefined;
  readonly transient: boolean;
  readonly counted: boolean;
}

const TABLE: readonly Row[] = [
  { status: 200, kind: 'success', backendOk: true, transient: false, counted: true },
  { status: 101, kind: 'success', backendOk: true, transient: false, counted: true },
  { status: 204, kind: 'success', backendOk: true, transient: false, counted: true },
  { status: 304, kind: 'success', backendOk: true, transient: false, counted: true },
  // A 4xx is the client's doing: the backend answered as it should.
  { status: 404, kind: 'success', backendOk: true, transient: false, counted: true },
  { status: 429, kind: 'success', backendOk: true, transient: false, counted: true },
  { status: 499, kind: 'success', backendOk: true, transient: false, counted: true },
  { status: 500, kind: 'failure', cause: '5xx', backendOk: false, transient: false, counted: true },
  { status: 501, kind: 'failure', cause: '5xx', backendOk: false, transient: false, counted: true },
  { status: 502, kind: 'failure', cause: '5xx', backendOk: false, transient: true, counted: true },
  { status: 503, kind: 'failure', cause: '5xx', backendOk: false, transient: true, counted: true },
  { status: 504, kind: 'failure', cause: '5xx', backendOk: false, transient: true, counted: true },
  { status: 599, kind: 'failure', cause: '5xx', backendOk: false, transient: false, counted: true },
  // No status a backend could have sent: not a success.
  { status: 0, kind: 'failure', cause: '5xx', backendOk: false, transient: false, counted: true },
  // How the attempt broke wins over any status seen before.
  {
    status: 0,
    broke: 'connect',
    kind: 'failure',
    cause: 'connect',
    backendOk: false,
    transient: true,
    counted: true,
  },
  {
    status: 0,
    broke: 'timeout',
    kind: 'failure',
    cause: 'timeout',
    backendOk: false,
    transient: true,
    counted: true,
  },
  {
    status: 200,
    broke: 'reset',
    kind: 'failure',
    cause: 'reset',
    backendOk: false,
    transient: true,
    counted: true,
  },
  {
    status: 502,
    broke: 'protocol',
    kind: 'failure',
    cause: 'protocol',
    backendOk: false,
    transient: false,
    counted: true,
  },
  {
    status: 200,
    broke: 'client-gone',
    kind: 'client-gone',
    backendOk: undefined,
    transient: false,
    counted: true,
  },
  {
    status: 500,
    broke: 'client-gone',
    kind: 'client-gone',
    backendOk: undefined,
    transient: false,
    counted: true,
  },
  {
    status: 413,
    broke: 'client-error',
    kind: 'client-error',
    backendOk: undefined,
    transient: false,
    counted: true,
  },
  // The gateway's HTTP client refused to send it: not the backend's, not one of its requests.
  {
    status: 0,
    broke: 'refused',
    kind: 'refused',
    backendOk: undefined,
    transient: false,
    counted: false,
  },
];

test('classifyOutcome: status and breaks to outcomes', () => {
  for (const row of TABLE) {
    const got = classifyOutcome(row.status, row.broke, {}, undefined);
    const what = `${row.status}${row.broke ? ` ${row.broke}` : ''}`;
    assert.equal(got.kind, row.kind, `${what}: kind`);
    assert.equal(got.cause, row.cause, `${what}: cause`);
    assert.equal(got.backendOk, row.backendOk, `${what}: backendOk`);
    assert.equal(got.transient, row.transient, `${what}: transient`);
    assert.equal(got.counted, row.counted, `${what}: counted`);
  }
});

test('outcomes are shared frozen constants: classifying allocates nothing', () => {
  const a = classifyOutcome(200, undefined, undefined, undefined);
  assert.equal(a, classifyOutcome(201, undefined, { 'content-type': 'x' }, {}));
  assert.ok(Object.isFrozen(a));
  assert.equal(
    classifyOutcome(503, undefined, undefined, undefined),
    classifyOutcome(502, undefined, undefined, undefined),
  );
});

test('countedClass: a failure counts as 5xx whatever its status; others by their class', () => {
  const table: [number, boolean, number][] = [
    [200, false, 1],
    [200, true, 4],
    [404, false, 3],
    [404, true, 4],
    [101, false, 0],
    [301, false, 2],
    [503, true, 4],
    [499, false, 3],
    [0, false, 4],
    [600, false, 4],
  ];
  for (const [status, failed, cls] of table) {
    assert.equal(countedClass(status, failed), cls, `${status} failed=${failed}`);
  }
});
