import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIncidentsCsv, readIncidentsCsvText } from '../../src/config/index.ts';
import { CutoverError } from '../../src/errors.ts';

test('an incidents CSV: header, dates with and without a time, quoted notes, blank lines', () => {
  const text = [
    'date,kind,route,note',
    '2026-10-05,page,orders,checkout 502s',
    '',
    '2026-10-06T14:05:00+02:00,postmortem,,"slow, then down; ""db"" failover"',
    '2026-10-07T09:00:00Z,page,cart,',
    '',
  ].join('\r\n');
  assert.deepEqual(parseIncidentsCsv(text, 'incidents.csv'), [
    { at: Date.UTC(2026, 9, 5), kind: 'page', route: 'orders', note: 'checkout 502s' },
    {
      at: Date.UTC(2026, 9, 6, 12, 5),
      kind: 'postmortem',
      route: '',
      note: 'slow, then down; "db" failover',
    },
    { at: Date.UTC(2026, 9, 7, 9), kind: 'page', route: 'cart', note: '' },
  ]);
});

test('a bad line is an error naming file:line and what is wrong', () => {
  const cases: [string, RegExp][] = [
    [
      'when,what\n',
      /^incidents file f\.csv:1: the first line must be the header "date,kind,route,note"/,
    ],
    [
      'date,kind,route,note\n2026-10-05,page,orders\n',
      /^incidents file f\.csv:2: expected 4 fields/,
    ],
    [
      'date,kind,route,note\n\n05/10/2026,page,orders,x\n',
      /^incidents file f\.csv:3: date "05\/10\/2026" is not ISO 8601/,
    ],
    ['date,kind,route,note\n2026-10-05,,orders,x\n', /^incidents file f\.csv:2: kind is empty/],
    [
      'date,kind,route,note\n2026-10-05,page,orders,"open\n',
      /^incidents file f\.csv:2: a quoted field is not closed/,
    ],
    ['date,kind,route,note\n2026-10-05T10:00,page,orders,x\n', /f\.csv:2: date .* is not ISO 8601/],
    ['', /^incidents file f\.csv:1: empty/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseIncidentsCsv(text, 'f.csv'),
      (error: unknown) =>
        error instanceof CutoverError &&
        error.code === 'CUTOVER_ERR_INCIDENTS_FILE' &&
        message.test(error.message),
      JSON.stringify(text),
    );
  }
});

test('every bad line is named (the config loader lists them all); a bad header stops there', () => {
  const text = 'date,kind,route,note\n2026-10-05,page,a,x\n2026-10-05,,a,x\n\nnope,page,a,x\n';
  const { incidents, problems } = readIncidentsCsvText(text);
  assert.deepEqual(
    incidents.map((i) => i.route),
    ['a'],
  );
  assert.deepEqual(
    problems.map((p) => p.line),
    [3, 5],
  );
  assert.deepEqual(
    readIncidentsCsvText('when,what\n2026-10-05,,a,x\n').problems.map((p) => p.line),
    [1],
  );
});
