// The one place that says whether an attempt succeeded: a table of what a
// transport reports and the outcome every guard and figure then reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcCodeMask } from '../../src/config/index.ts';
import {
  type AttemptBreak,
  classifyOutcome,
  countedClass,
  type FailureCause,
  finalGrpcStatus,
  type GrpcCodeSets,
  NO_GRPC_STATUS,
  type OutcomeKind,
  type ResponseFields,
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

/** The documented defaults: UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS fail; UNAVAILABLE retries. */
const GRPC: GrpcCodeSets = {
  failures: grpcCodeMask([2, 4, 13, 14, 15]),
  retryable: grpcCodeMask([14]),
};

interface GrpcRow {
  readonly what: string;
  readonly status: number;
  readonly head: ResponseFields;
  /** undefined: the answer has not ended (its head only). */
  readonly trailers: ResponseFields | undefined;
  readonly kind: OutcomeKind;
  readonly cause?: FailureCause;
  readonly transient?: boolean;
  /** The code counted for a finished answer. */
  readonly code?: number;
}

const GRPC_TABLE: readonly GrpcRow[] = [
  {
    what: 'OK in trailers',
    status: 200,
    head: {},
    trailers: { 'grpc-status': '0' },
    kind: 'success',
    code: 0,
  },
  {
    what: 'UNAVAILABLE in trailers after a 200 head',
    status: 200,
    head: {},
    trailers: { 'grpc-status': '14' },
    kind: 'failure',
    cause: 'grpc',
    transient: true,
    code: 14,
  },
  {
    what: 'UNAVAILABLE trailers-only (in the head)',
    status: 200,
    head: { 'grpc-status': '14' },
    trailers: undefined,
    kind: 'failure',
    cause: 'grpc',
    transient: true,
  },
  {
    what: 'INTERNAL: a failure not retried',
    status: 200,
    head: {},
    trailers: { 'grpc-status': '13' },
    kind: 'failure',
    cause: 'grpc',
    transient: false,
    code: 13,
  },
  {
    what: 'NOT_FOUND answers the client: a success',
    status: 200,
    head: {},
    trailers: { 'grpc-status': '5' },
    kind: 'success',
    code: 5,
  },
  {
    what: 'a head without status: nothing failed yet',
    status: 200,
    head: { 'content-type': 'application/grpc' },
    trailers: undefined,
    kind: 'success',
  },
  {
    what: 'ended with no status at all: UNKNOWN',
    status: 200,
    head: {},
    trailers: {},
    kind: 'failure',
    cause: 'grpc',
    transient: false,
    code: 2,
  },
  {
    what: 'a code outside 0–16: UNKNOWN',
    status: 200,
    head: {},
    trailers: { 'grpc-status': '99' },
    kind: 'failure',
    cause: 'grpc',
    transient: false,
    code: 2,
  },
  {
    what: 'not a number: UNKNOWN',
    status: 200,
    head: {},
    trailers: { 'grpc-status': 'x' },
    kind: 'failure',
    cause: 'grpc',
    transient: false,
    code: 2,
  },
  {
    what: 'UNAUTHENTICATED (16)',
    status: 200,
    head: {},
    trailers: { 'grpc-status': '16' },
    kind: 'success',
    code: 16,
  },
  {
    what: 'the head wins over the trailers',
    status: 200,
    head: { 'grpc-status': '0' },
    trailers: { 'grpc-status': '14' },
    kind: 'success',
    code: 0,
  },
  {
    what: 'a 503 with no status: a 5xx first',
    status: 503,
    head: {},
    trailers: {},
    kind: 'failure',
    cause: '5xx',
    transient: true,
    code: 14,
  },
  {
    what: 'a 404 with no status: UNIMPLEMENTED, not a failure',
    status: 404,
    head: {},
    trailers: {},
    kind: 'success',
    code: 12,
  },
  {
    what: 'a 429 with no status: UNAVAILABLE',
    status: 429,
    head: {},
    trailers: {},
    kind: 'failure',
    cause: 'grpc',
    transient: true,
    code: 14,
  },
];

test('classifyOutcome: a gRPC call is judged by its grpc-status, from the head or the trailers', () => {
  for (const row of GRPC_TABLE) {
    const got = classifyOutcome(row.status, undefined, row.head, row.trailers, GRPC);
    assert.equal(got.kind, row.kind, `${row.what}: kind`);
    assert.equal(got.cause, row.cause, `${row.what}: cause`);
    if (row.kind === 'failure') {
      assert.equal(got.backendOk, false, `${row.what}: backendOk`);
      assert.equal(got.transient, row.transient, `${row.what}: transient`);
    }
    if (row.code !== undefined) {
      assert.equal(
        finalGrpcStatus(row.status, row.head, row.trailers),
        row.code,
        `${row.what}: code`,
      );
    }
  }
});

test('classifyOutcome: without the route’s gRPC codes the same answer is judged by HTTP status alone', () => {
  const failing = { 'grpc-status': '14' };
  assert.equal(classifyOutcome(200, undefined, failing, {}).kind, 'success');
  assert.equal(classifyOutcome(200, undefined, {}, failing).kind, 'success');
  // A route that counts no code as a failure: the same.
  const none: GrpcCodeSets = { failures: 0, retryable: 0 };
  assert.equal(classifyOutcome(200, undefined, {}, failing, none).kind, 'success');
  // A break wins over any status.
  assert.equal(classifyOutcome(200, 'reset', {}, failing, GRPC).cause, 'reset');
});

test('gRPC outcomes are shared frozen constants too', () => {
  const a = classifyOutcome(200, undefined, {}, { 'grpc-status': '14' }, GRPC);
  assert.equal(a, classifyOutcome(200, undefined, { 'grpc-status': '14' }, undefined, GRPC));
  assert.ok(Object.isFrozen(a));
  assert.equal(finalGrpcStatus(200, {}, { 'grpc-status': ['4', '5'] }), 4);
  assert.notEqual(NO_GRPC_STATUS, finalGrpcStatus(200, undefined, undefined));
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
