// The certificate checks a config load runs on a listener's `tls` files: each
// problem named at the field that names the file, all of them at once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type TlsConfig, tlsFileIssues } from '../../src/config/index.ts';
import { createCa, type Issued, type TestCa } from '../helpers/certs.ts';

const AT = ['listen', 0, 'tls'];

function messages(tls: TlsConfig): { path: string; message: string }[] {
  return tlsFileIssues(tls, AT).map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('tls files', () => {
  let ca: TestCa;
  let main: Issued;
  let other: Issued;
  before(async () => {
    ca = await createCa();
    main = await ca.issue('main', ['main.test']);
    other = await ca.issue('other', ['other.test']);
  });

  const tls = (fields: Partial<TlsConfig>): TlsConfig => ({
    cert: main.cert,
    key: main.key,
    ca: undefined,
    sni: [],
    ...fields,
  });

  test('a certificate with its key, a CA bundle and SNI entries pass', () => {
    const sni = [{ hosts: ['other.test', '*.other.test'], cert: other.cert, key: other.key }];
    assert.deepEqual(messages(tls({ ca: ca.cert, sni })), []);
  });

  test('a missing file, a folder, and a file that is not PEM are named at their field', () => {
    const notPem = join(ca.dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    const folder = join(ca.dir, 'folder');
    mkdirSync(folder, { recursive: true });
    const missing = join(ca.dir, 'missing.crt');
    const issues = messages(tls({ cert: missing, key: notPem, ca: folder }));
    assert.deepEqual(
      issues.map((i) => i.path),
      ['listen.0.tls.cert', 'listen.0.tls.key', 'listen.0.tls.ca'],
    );
    assert.equal(issues[0].message, `${missing} does not exist`);
    assert.match(
      issues[1].message,
      new RegExp(`^${literal(notPem)} does not parse as a PEM private key: `),
    );
    assert.equal(issues[2].message, `${folder} is not a regular file, expected a PEM file`);
  });

  test('a certificate file holding a key, and a broken certificate block, are refused', () => {
    const broken = join(ca.dir, 'broken.crt');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const issues = messages(
      tls({ cert: main.key, sni: [{ hosts: ['x.test'], cert: broken, key: main.key }] }),
    );
    assert.equal(issues.length, 2);
    assert.deepEqual(issues[0], {
      path: 'listen.0.tls.cert',
      message: `${main.key} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`,
    });
    assert.equal(issues[1].path, 'listen.0.tls.sni.0.cert');
    assert.match(
      issues[1].message,
      new RegExp(`^${literal(broken)} does not parse as an X\\.509 certificate`),
    );
  });

  test('a key that is not the certificate’s is named, with the certificate it should match', () => {
    assert.deepEqual(messages(tls({ key: other.key })), [
      {
        path: 'listen.0.tls.key',
        message: `${other.key} is not the key of certificate ${main.cert} (CN=main)`,
      },
    ]);
  });

  test('an encrypted key is refused with how to decrypt it', () => {
    const encrypted = join(ca.dir, 'encrypted.key');
    execFileSync('openssl', [
      'pkey',
      '-in',
      main.key,
      '-aes256',
      '-passout',
      'pass:secret',
      '-out',
      encrypted,
    ]);
    assert.deepEqual(messages(tls({ key: encrypted })), [
      {
        path: 'listen.0.tls.key',
        message: `${encrypted} is an encrypted key; Cutover needs it unencrypted (openssl pkey -in KEY -out PLAIN)`,
      },
    ]);
  });

  test('SNI hosts: names and one-label wildcards; a host served twice names the first entry', () => {
    const sni = [
      { hosts: ['other.test', '*.other.test'], cert: other.cert, key: other.key },
      {
        hosts: ['OTHER.test', 'a.*.test', '*.com', 'bad_name.test'],
        cert: main.cert,
        key: main.key,
      },
    ];
    assert.deepEqual(messages(tls({ sni })), [
      {
        path: 'listen.0.tls.sni.1.hosts.0',
        message: 'OTHER.test is already served by listen[0].tls.sni[0]',
      },
      {
        path: 'listen.0.tls.sni.1.hosts.1',
        message: 'expected a host name such as api.example.com or *.example.com, got "a.*.test"',
      },
      {
        path: 'listen.0.tls.sni.1.hosts.2',
        message:
          'a wildcard needs a name of two labels or more after *. (*.example.com), got "*.com"',
      },
      {
        path: 'listen.0.tls.sni.1.hosts.3',
        message:
          'expected a host name such as api.example.com or *.example.com, got "bad_name.test"',
      },
    ]);
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
