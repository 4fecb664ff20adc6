// A TLS listener of a real Cutover: the certificate by SNI, h2 and HTTP/1.1 by
// ALPN on one port (node's client and curl), certificates reloaded under an
// open HTTP/2 session without dropping a call, and bad files named.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect } from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { ConfigError, formatConfigIssue } from '../../src/errors.ts';
import { createCa, type Issued, type TestCa } from '../helpers/certs.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

const run = promisify(execFile);

function config(upstream: string, tls: string, protocols = '[http1, h2]'): string {
  return `listen:
  - address: 127.0.0.1:0
    protocols: ${protocols}
    tls: ${tls}
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${upstream} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`;
}

function portOf(gw: TestGateway): number {
  return Number(new URL(gw.running.listenerUrls[0]).port);
}

/** An HTTP/2 session over TLS, once its handshake is done. */
function h2Session(port: number, servername: string, ca: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // The name is checked by the test (peerCn); the chain is verified against `ca`.
    const session = connect(`https://127.0.0.1:${port}`, {
      servername,
      ca,
      checkServerIdentity: () => undefined,
    });
    session.once('connect', () => {
      session.off('error', reject);
      resolve(session);
    });
    session.once('error', reject);
  });
}

function peerCn(session: ClientHttp2Session): string {
  return (session.socket as TLSSocket).getPeerCertificate().subject.CN as string;
}

async function h2Get(
  session: ClientHttp2Session,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (d: string) => {
      body += d;
    });
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
}

/** curl with our CA and the name resolved to 127.0.0.1: status, HTTP version, body. */
async function curl(
  port: number,
  host: string,
  ca: string,
  flag: '--http2' | '--http1.1',
): Promise<{ status: number; version: string; body: string }> {
  const { stdout } = await run('curl', [
    '-sS',
    flag,
    '--cacert',
    ca,
    '--resolve',
    `${host}:${port}:127.0.0.1`,
    '-w',
    '\n%{http_code} %{http_version}',
    `https://${host}:${port}/where`,
  ]);
  const cut = stdout.lastIndexOf('\n');
  const [status, version] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), version, body: stdout.slice(0, cut) };
}

describe('TLS listener', () => {
  let ca: TestCa;
  let gwCert: Issued;
  let apiCert: Issued;
  let gwNext: Issued;
  let upstream: Upstream;
  before(async () => {
    ca = await createCa();
    gwCert = await ca.issue('gw', ['gw.test']);
    apiCert = await ca.issue('api', ['api.test']);
    gwNext = await ca.issue('gw-next', ['gw.test']);
    upstream = await startUpstream({ name: 'legacy' });
  });
  after(() => upstream.close());

  describe('by SNI and ALPN', () => {
    let gw: TestGateway;
    before(async () => {
      // Paths relative to the config file's folder.
      const dir = tempDir();
      mkdirSync(join(dir, 'certs'));
      for (const [name, c] of [
        ['gw', gwCert],
        ['api', apiCert],
      ] as const) {
        writeFileSync(join(dir, 'certs', `${name}.crt`), c.certPem);
        writeFileSync(join(dir, 'certs', `${name}.key`), c.keyPem);
      }
      gw = await startGateway(
        config(
          upstream.url,
          '{ cert: certs/gw.crt, key: certs/gw.key, sni: [{ hosts: [api.test], cert: certs/api.crt, key: certs/api.key }] }',
        ),
        { dir },
      );
    });
    after(() => gw.close());

    test('node client: h2 by ALPN, the certificate by SNI, the request routed', async () => {
      for (const [name, cn] of [
        ['api.test', 'api'],
        ['gw.test', 'gw'],
        ['other.test', 'gw'],
      ]) {
        const session = await h2Session(portOf(gw), name, ca.certPem);
        assert.equal((session.socket as TLSSocket).alpnProtocol, 'h2');
        assert.equal(peerCn(session), cn);
        const res = await h2Get(session, '/where');
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(res.body).upstream, 'legacy');
        session.close();
      }
    });

    test('curl: --http2 and --http1.1 on the same port, each verified against the CA', async () => {
      const h2 = await curl(portOf(gw), 'api.test', ca.cert, '--http2');
      assert.deepEqual([h2.status, h2.version], [200, '2']);
      assert.equal(JSON.parse(h2.body).path, '/where');
      const h1 = await curl(portOf(gw), 'gw.test', ca.cert, '--http1.1');
      assert.deepEqual([h1.status, h1.version], [200, '1.1']);
      assert.equal(JSON.parse(h1.body).upstream, 'legacy');
    });
  });

  test('an h2-only TLS listener does not offer HTTP/1.1', async () => {
    const gw = await startGateway(
      config(upstream.url, `{ cert: ${gwCert.cert}, key: ${gwCert.key} }`, '[h2]'),
    );
    try {
      assert.equal((await curl(portOf(gw), 'gw.test', ca.cert, '--http2')).version, '2');
      await assert.rejects(curl(portOf(gw), 'gw.test', ca.cert, '--http1.1'));
    } finally {
      await gw.close();
    }
  });

  test('certificates replaced under an open HTTP/2 session: no call dropped, new handshakes get the new one', async () => {
    const dir = tempDir();
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, gwCert.certPem);
    writeFileSync(key, gwCert.keyPem);
    const gw = await startGateway(config(upstream.url, `{ cert: ${cert}, key: ${key} }`), { dir });
    const session = await h2Session(portOf(gw), 'gw.test', ca.certPem);
    try {
      assert.equal(peerCn(session), 'gw');
      // Calls run one after another on the one session for the whole reload.
      let stop = false;
      const statuses: number[] = [];
      const caller = (async () => {
        while (!stop) statuses.push((await h2Get(session, '/during')).status);
      })();
      const reloaded = () => gw.logs().some((l) => l.msg === 'tls certificates reloaded');
      await eventually('a call before the reload', () => statuses.length >= 3);
      writeFileSync(`${key}.tmp`, gwNext.keyPem);
      writeFileSync(`${cert}.tmp`, gwNext.certPem);
      renameSync(`${key}.tmp`, key);
      renameSync(`${cert}.tmp`, cert);
      await eventually('the reload logged', reloaded);
      const atReload = statuses.length;
      await eventually('calls after the reload', () => statuses.length >= atReload + 3);
      stop = true;
      await caller;
      assert.ok(
        statuses.every((s) => s === 200),
        `statuses ${statuses.join(',')}`,
      );
      assert.equal(peerCn(session), 'gw', 'the open session keeps its handshake');
      const fresh = await h2Session(portOf(gw), 'gw.test', ca.certPem);
      assert.equal(peerCn(fresh), 'gw-next');
      assert.equal((await h2Get(fresh, '/after')).status, 200);
      fresh.close();
    } finally {
      session.close();
      await gw.close();
    }
  });

  test('a bad file at run time keeps the running certificate and logs the file', async () => {
    const dir = tempDir();
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, gwCert.certPem);
    writeFileSync(key, gwCert.keyPem);
    const gw = await startGateway(config(upstream.url, `{ cert: ${cert}, key: ${key} }`), { dir });
    try {
      writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
      await eventually('the failed reload logged', () =>
        gw.logs().some((l) => l.msg === 'tls certificates not reloaded; the running ones stay'),
      );
      const line = gw
        .logs()
        .find((l) => l.msg === 'tls certificates not reloaded; the running ones stay');
      assert.equal(line?.file, cert);
      assert.equal(line?.code, 'CUTOVER_ERR_TLS_CERTIFICATE');
      const session = await h2Session(portOf(gw), 'gw.test', ca.certPem);
      assert.equal(peerCn(session), 'gw');
      assert.equal((await h2Get(session, '/still')).status, 200);
      session.close();
    } finally {
      await gw.close();
    }
  });

  test('SIGHUP reads certificates again, also a change the folder watch cannot see', async () => {
    // tls.crt is a link into another folder (certbot's live/ → archive/); the
    // target rewritten in place changes nothing in the watched folder.
    const dir = tempDir();
    const store = join(dir, 'archive');
    const live = join(dir, 'live');
    mkdirSync(store);
    mkdirSync(live);
    writeFileSync(join(store, 'cert.pem'), gwCert.certPem);
    writeFileSync(join(store, 'key.pem'), gwCert.keyPem);
    symlinkSync(join(store, 'cert.pem'), join(live, 'cert.pem'));
    symlinkSync(join(store, 'key.pem'), join(live, 'key.pem'));
    const gw = await startGateway(
      config(upstream.url, `{ cert: ${join(live, 'cert.pem')}, key: ${join(live, 'key.pem')} }`),
      { dir, watch: true },
    );
    try {
      writeFileSync(join(store, 'key.pem'), gwNext.keyPem);
      writeFileSync(join(store, 'cert.pem'), gwNext.certPem);
      assert.equal(readFileSync(join(live, 'cert.pem'), 'utf8'), gwNext.certPem);
      process.kill(process.pid, 'SIGHUP');
      await eventually('the reload logged', () =>
        gw.logs().some((l) => l.msg === 'tls certificates reloaded'),
      );
      const session = await h2Session(portOf(gw), 'gw.test', ca.certPem);
      assert.equal(peerCn(session), 'gw-next');
      session.close();
    } finally {
      await gw.close();
    }
  });

  test('a certificate file that is missing or not its key’s is a config error naming it', async () => {
    const dir = tempDir();
    const missing = join(dir, 'missing.crt');
    const tls = `
      cert: ${missing}
      key: ${gwCert.key}
      sni:
        - hosts: [api.test]
          cert: ${apiCert.cert}
          key: ${gwCert.key}`;
    await assert.rejects(startGateway(config(upstream.url, tls), { dir }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map(formatConfigIssue), [
        `${join(dir, 'cutover.yaml')}:5:13 listen[0].tls.cert: ${missing} does not exist`,
        `${join(dir, 'cutover.yaml')}:10:16 listen[0].tls.sni[0].key: ${gwCert.key} is not the key of certificate ${apiCert.cert} (CN=api)`,
      ]);
      return true;
    });
  });
});
