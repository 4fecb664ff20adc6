// `server.http2`: its defaults (the header list limit following
// server.maxHeaderBytes), overrides, and the messages for values out of range.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { CONFIG_FILE, problems } from '../helpers/config.ts';

const BASE = `backends:
  legacy: { url: "http://127.0.0.1:9001" }
routes:
  - name: r
    match: { path: /r }
    legacy: legacy
`;

test('server.http2 defaults: 100 streams, the header list at server.maxHeaderBytes, 10 MB, 75 s', () => {
  assert.deepEqual(parseConfigText(BASE, CONFIG_FILE, {}).server.http2, {
    maxConcurrentStreams: 100,
    maxHeaderListBytes: 16 * 1024,
    maxSessionMemoryMB: 10,
    idleTimeout: 75_000,
    streamResetBurst: 1000,
    streamResetRate: 33,
  });
  const bigger = parseConfigText(`server: { maxHeaderBytes: 32KiB }\n${BASE}`, CONFIG_FILE, {});
  assert.equal(bigger.server.http2.maxHeaderListBytes, 32 * 1024);
});

test('server.http2 fields override the defaults one by one', () => {
  const config = parseConfigText(
    `server:
  maxHeaderBytes: 32KiB
  http2: { maxConcurrentStreams: 250, maxHeaderListBytes: 8KiB, maxSessionMemoryMB: 32, idleTimeout: 5m, streamResetBurst: 200, streamResetRate: 10 }
${BASE}`,
    CONFIG_FILE,
    {},
  );
  assert.deepEqual(config.server.http2, {
    maxConcurrentStreams: 250,
    maxHeaderListBytes: 8 * 1024,
    maxSessionMemoryMB: 32,
    idleTimeout: 300_000,
    streamResetBurst: 200,
    streamResetRate: 10,
  });
  assert.ok(Object.isFrozen(config.server.http2));
});

test('server.http2 values out of range name their field', () => {
  assert.deepEqual(
    problems(`server:
  http2:
    maxConcurrentStreams: 0
    maxHeaderListBytes: 100
    maxSessionMemoryMB: 0.5
    idleTimeout: soon
    streamResetBurst: -1
    idleTimout: 5s
${BASE}`),
    [
      'cutover.yaml:3:27 server.http2.maxConcurrentStreams: expected at least 1, got 0',
      'cutover.yaml:4:25 server.http2.maxHeaderListBytes: expected a size from 1KiB to 16MiB, got 100',
      'cutover.yaml:5:25 server.http2.maxSessionMemoryMB: expected an integer, got 0.5',
      'cutover.yaml:6:18 server.http2.idleTimeout: expected a duration such as 250ms, 5s or 1m, got "soon"',
      'cutover.yaml:7:23 server.http2.streamResetBurst: expected at least 1, got -1',
      'cutover.yaml:8:5 server.http2.idleTimout: unknown field "idleTimout"; did you mean "idleTimeout"?',
    ],
  );
});
