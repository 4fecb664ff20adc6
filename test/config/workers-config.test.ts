import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { CONFIG_FILE, problems } from '../helpers/config.ts';

function yaml(top: string): string {
  return `${top}
backends:
  legacy: { url: "http://127.0.0.1:9001" }
routes:
  - name: r
    match: { path: /r }
    legacy: legacy
`;
}

const workersOf = (top: string) => parseConfigText(yaml(top), CONFIG_FILE, {}).server.workers;

test('server.workers: 1 by default, a number as written, auto = the cores this process may use', () => {
  assert.equal(workersOf(''), 1);
  assert.equal(workersOf('server: { workers: 3 }'), 3);
  assert.equal(workersOf('server: { workers: auto }'), availableParallelism());
});

test('server.workers: 0, a fraction or a word other than auto is refused, naming the field', () => {
  assert.deepEqual(problems(yaml('server: { workers: 0 }')), [
    'cutover.yaml:1:20 server.workers: expected at least 1, got 0',
  ]);
  assert.deepEqual(problems(yaml('server: { workers: 1.5 }')), [
    'cutover.yaml:1:20 server.workers: expected a whole number ≥ 1 or auto, got 1.5',
  ]);
  assert.deepEqual(problems(yaml('server: { workers: all }')), [
    'cutover.yaml:1:20 server.workers: expected a whole number ≥ 1 or auto, got "all"',
  ]);
});

test('state: memory with more than one worker is refused, saying what to use instead', () => {
  assert.deepEqual(problems(yaml('state: memory\nserver: { workers: 2 }')), [
    'cutover.yaml:1:8 state: memory cannot be shared by 2 workers (server.workers: 2); use sqlite:PATH (the default) or redis://',
  ]);
  assert.deepEqual(problems(yaml('state: memory\nserver: { workers: 1 }')), []);
});

test('admin.workerListen: kept as an address; port 0, or a last worker past 65535, is refused', () => {
  const config = parseConfigText(
    yaml('admin: { workerListen: 127.0.0.1:9100 }\nserver: { workers: 2 }'),
    CONFIG_FILE,
    {},
  );
  assert.deepEqual(config.admin.workerListen, { host: '127.0.0.1', port: 9100 });
  assert.equal(parseConfigText(yaml(''), CONFIG_FILE, {}).admin.workerListen, undefined);
  assert.deepEqual(problems(yaml('admin: { workerListen: 127.0.0.1:0 }\nserver: { workers: 2 }')), [
    'cutover.yaml:1:24 admin.workerListen: expected a port from 1 to 65534 (worker N listens on port + N), got 0',
  ]);
  assert.deepEqual(
    problems(yaml('admin: { workerListen: 127.0.0.1:65535 }\nserver: { workers: 2 }')),
    [
      'cutover.yaml:1:24 admin.workerListen: expected a port from 1 to 65534 (worker N listens on port + N), got 65535',
    ],
  );
});
