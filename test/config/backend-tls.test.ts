// A backend's `tls` block and `maxStreamsPerSession`: the CA file is read
// when the config loads (paths against the config file's folder), and each
// misuse is an error naming the field.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import { problems } from '../helpers/config.ts';
import { tempDir } from '../helpers/gateway.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function oneBackend(fields: string): string {
  return `backends:
  up: { ${fields} }
routes:
  - name: r
    match: { path: /* }
    legacy: up
`;
}

test('tls.ca is read at load, relative to the config file', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'ca.pem'), PEM);
  const config = parseConfigText(
    oneBackend('url: "https://10.0.0.1:8443", protocol: h2, tls: { ca: ca.pem, servername: a.b }'),
    join(dir, 'cutover.yaml'),
    {},
  );
  const tls = config.backends.get('up')!.tls!;
  assert.equal(tls.ca, PEM);
  assert.equal(tls.caFile, join(dir, 'ca.pem'));
  assert.equal(tls.servername, 'a.b');
  assert.equal(tls.insecureSkipVerify, false);
});

/** The one problem of `text`, without its line:column (they point at the field). */
function problem(text: string): string {
  const found = problems(text);
  assert.equal(found.length, 1, found.join('\n'));
  return found[0].replace(/^cutover\.yaml:2:\d+ /, '');
}

test('a CA file that cannot be read, or holds no PEM certificate, names itself', () => {
  const dir = tempDir();
  const notPem = join(dir, 'key.txt');
  writeFileSync(notPem, 'hello');
  const missing = join(dir, 'nope.pem');
  assert.equal(
    problem(oneBackend(`url: "https://h:1", tls: { ca: ${missing} }`)),
    `backends.up.tls.ca: cannot read the CA file ${missing} (ENOENT)`,
  );
  assert.equal(
    problem(oneBackend(`url: "https://h:1", tls: { ca: ${notPem} }`)),
    `backends.up.tls.ca: expected PEM certificates (-----BEGIN CERTIFICATE-----) in ${notPem}`,
  );
});

test('tls on a plain-TCP backend, and maxStreamsPerSession on HTTP/1.1, are refused', () => {
  assert.equal(
    problem(oneBackend('url: "http://h:1", protocol: h2c, tls: { insecureSkipVerify: true }')),
    'backends.up.tls: tls applies to https:// backends only, got http://h:1/',
  );
  assert.equal(
    problem(oneBackend('url: "http://h:1", maxStreamsPerSession: 10')),
    'backends.up.maxStreamsPerSession: applies to HTTP/2 backends only (protocol h2 or h2c)',
  );
  assert.deepEqual(
    problems(oneBackend('url: "http://h:1", protocol: h2c, maxStreamsPerSession: 0')),
    [],
  );
});
