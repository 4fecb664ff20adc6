// The admin API over HTTPS (`admin.tls`): served with the gateway's own
// certificate machinery (reload on file change, mutual TLS with `ca`), its
// URL https:// wherever Cutover prints or registers it, the loopback/token
// rule unchanged, and bad files refused at load naming the field.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { startCutover } from '../../src/cli/run.ts';
import { ConfigError, formatConfigIssue } from '../../src/errors.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { createCa, type Issued, type TestCa } from '../helpers/certs.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { freePort } from '../helpers/prometheus.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

function yaml(upstream: string, admin: string): string {
  return `listen: 127.0.0.1:0
admin: ${admin}
state: memory
backends:
  legacy: { url: ${upstream} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`;
}

/** GET over TLS trusting `ca`, with a client certificate when given. */
async function get(
  url: string,
  ca: string,
  client?: Issued,
): Promise<{ status: number; text: string }> {
  const agent = new Agent({
    connect: { ca, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) },
  });
  try {
    const res = await request(url, { dispatcher: agent });
    return { status: res.statusCode, text: await res.body.text() };
  } finally {
    await agent.close();
  }
}

/** The CN of the certificate the admin port presents to a new handshake. */
async function servedCn(url: string, ca: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = tlsConnect({ host: hostname, port: Number(port), ca });
  await once(socket, 'secureConnect');
  const cn = socket.getPeerCertificate().subject.CN as string;
  socket.destroy();
  return cn;
}

describe('admin over TLS', () => {
  let ca: TestCa;
  let adminCert: Issued;
  let upstream: Upstream;
  let gw: TestGateway;

  before(async () => {
    ca = await createCa();
    adminCert = await ca.issue('admin', ['admin.test'], 'served');
    upstream = await startUpstream({ name: 'legacy' });
    gw = await startGateway(
      yaml(
        upstream.url,
        `{ listen: 127.0.0.1:0, tls: { cert: ${adminCert.cert}, key: ${adminCert.key} } }`,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test('the admin URL is https://, the API answers over TLS, and the fleet registers the https URL', async () => {
    assert.match(gw.adminUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await get(`${gw.adminUrl}/healthz`, ca.certPem), { status: 200, text: 'ok' });
    const instances = await get(`${gw.adminUrl}/api/instances`, ca.certPem);
    assert.equal(instances.status, 200);
    const [me] = JSON.parse(instances.text) as { admin: string }[];
    assert.equal(me.admin, gw.adminUrl);
    const started = gw.logs().find((l) => l.adminPort !== undefined);
    assert.equal(started?.admin, gw.adminUrl, 'the start line prints the https URL');
  });

  test('a dashboard sign-in over TLS sets a Secure cookie', async () => {
    const agent = new Agent({ connect: { ca: ca.certPem } });
    try {
      const res = await request(`${gw.adminUrl}/api/session`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: 'any', name: 'alice' }),
      });
      const body = (await res.body.json()) as { role: string; name: string };
      assert.equal(res.statusCode, 200);
      assert.deepEqual([body.role, body.name], ['operator', 'alice']);
      const flags = String(res.headers['set-cookie']).split('; ');
      assert.ok(flags.includes('Secure'), String(res.headers['set-cookie']));
      assert.ok(flags.includes('HttpOnly') && flags.includes('SameSite=Strict'));
    } finally {
      await agent.close();
    }
  });

  test('plain HTTP on the admin port gets no HTTP answer', async () => {
    const { port } = new URL(gw.adminUrl);
    const socket = tcpConnect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      received += d;
    });
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n');
    await once(socket, 'close');
    assert.doesNotMatch(received, /^HTTP\//);
  });

  test('a certificate replaced by rename is served to new handshakes', async () => {
    assert.equal(await servedCn(gw.adminUrl, ca.certPem), 'admin');
    const next = await ca.issue('admin-next', ['admin.test'], 'next');
    // Key first, then certificate: each rename is atomic, as certbot's are.
    renameSync(next.key, adminCert.key);
    renameSync(next.cert, adminCert.cert);
    await eventually('new handshakes get the new certificate', async () => {
      return (await servedCn(gw.adminUrl, ca.certPem)) === 'admin-next';
    });
    assert.deepEqual(await get(`${gw.adminUrl}/healthz`, ca.certPem), { status: 200, text: 'ok' });
  });

  test('SIGHUP reads the admin certificate again, also a change the folder watch cannot see', async () => {
    // The files are links into another folder (certbot's live/ → archive/);
    // the targets rewritten in place change nothing in the watched folder.
    const dir = tempDir();
    const store = join(dir, 'archive');
    const live = join(dir, 'live');
    mkdirSync(store);
    mkdirSync(live);
    const first = await ca.issue('admin-a', ['admin.test'], 'a');
    const second = await ca.issue('admin-b', ['admin.test'], 'b');
    writeFileSync(join(store, 'cert.pem'), first.certPem);
    writeFileSync(join(store, 'key.pem'), first.keyPem);
    symlinkSync(join(store, 'cert.pem'), join(live, 'cert.pem'));
    symlinkSync(join(store, 'key.pem'), join(live, 'key.pem'));
    const hup = await startGateway(
      yaml(
        upstream.url,
        `{ listen: 127.0.0.1:0, tls: { cert: ${join(live, 'cert.pem')}, key: ${join(live, 'key.pem')} } }`,
      ),
      { dir, watch: true },
    );
    try {
      assert.equal(await servedCn(hup.adminUrl, ca.certPem), 'admin-a');
      writeFileSync(join(store, 'key.pem'), second.keyPem);
      writeFileSync(join(store, 'cert.pem'), second.certPem);
      process.kill(process.pid, 'SIGHUP');
      await eventually('the admin reload logged', () =>
        hup.logs().some((l) => l.msg === 'tls certificates reloaded' && l.admin !== undefined),
      );
      assert.equal(await servedCn(hup.adminUrl, ca.certPem), 'admin-b');
    } finally {
      await hup.close();
    }
  });
});

describe('admin over TLS with a client CA (mutual TLS)', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let upstream: Upstream;
  let gw: TestGateway;

  before(async () => {
    ca = await createCa();
    otherCa = await createCa('Other CA');
    const served = await ca.issue('admin', ['admin.test']);
    upstream = await startUpstream({ name: 'legacy' });
    gw = await startGateway(
      yaml(
        upstream.url,
        `{ listen: 127.0.0.1:0, tls: { cert: ${served.cert}, key: ${served.key}, ca: ${ca.cert} } }`,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test('a client with a certificate the CA signed is served', async () => {
    const operator = await ca.issue('operator', ['operator.test']);
    const answer = await get(`${gw.adminUrl}/api/routes`, ca.certPem, operator);
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.text) as { routes: unknown[] }).routes.length, 1);
  });

  test('a client without a certificate, or with one another CA signed, is refused', async () => {
    await assert.rejects(get(`${gw.adminUrl}/healthz`, ca.certPem));
    const stranger = await otherCa.issue('stranger', ['stranger.test']);
    await assert.rejects(get(`${gw.adminUrl}/healthz`, ca.certPem, stranger));
  });
});

describe('admin over TLS: start and config', () => {
  let ca: TestCa;
  let served: Issued;
  let upstream: Upstream;
  before(async () => {
    ca = await createCa();
    served = await ca.issue('admin', ['admin.test']);
    upstream = await startUpstream({ name: 'legacy' });
  });
  after(() => upstream?.close());

  test('TLS does not lift the token rule: a public admin listener without a token does not start', async () => {
    await assert.rejects(
      startGateway(
        yaml(
          upstream.url,
          `{ listen: 0.0.0.0:0, tls: { cert: ${served.cert}, key: ${served.key} } }`,
        ),
      ),
      (err: Error & { code?: string }) => err.code === 'CUTOVER_ERR_ADMIN_UNSAFE',
    );
  });

  test('files are resolved against the config file’s folder', async () => {
    const gw = await startGateway(
      yaml(upstream.url, '{ listen: 127.0.0.1:0, tls: { cert: admin.crt, key: admin.key } }'),
      { dir: ca.dir },
    );
    try {
      assert.equal(await servedCn(gw.adminUrl, ca.certPem), 'admin');
    } finally {
      await gw.close();
    }
  });

  test('a key that is not the certificate’s, and an `sni` list, are config errors naming the field', async () => {
    const other = await ca.issue('other', ['other.test']);
    const dir = tempDir();
    const file = join(dir, 'cutover.yaml');
    writeFileSync(
      file,
      yaml(
        upstream.url,
        `{ listen: 127.0.0.1:0, tls: { cert: ${served.cert}, key: ${other.key} } }`,
      ),
    );
    const err = await startCutover(file, { watch: false }).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError);
    const lines = err.issues.map(formatConfigIssue);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0],
      /cutover\.yaml:2:\d+ admin\.tls\.key: .* is not the key of certificate /,
    );

    writeFileSync(
      file,
      yaml(
        upstream.url,
        `{ listen: 127.0.0.1:0, tls: { cert: ${served.cert}, key: ${served.key}, sni: [] } }`,
      ),
    );
    const sni = await startCutover(file, { watch: false }).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(sni instanceof ConfigError);
    assert.match(sni.issues.map(formatConfigIssue).join('\n'), /admin\.tls.*sni/);
  });

  test('a worker’s own admin port (admin.workerListen) is https:// too, and is what the fleet lists', async () => {
    const workerPort = await freePort();
    const dir = tempDir();
    const file = join(dir, 'cutover.yaml');
    writeFileSync(
      file,
      yaml(
        upstream.url,
        `{ listen: 127.0.0.1:0, workerListen: 127.0.0.1:${workerPort}, tls: { cert: ${served.cert}, key: ${served.key} } }`,
      ),
    );
    const running = await startCutover(file, {
      watch: false,
      worker: 0,
      logger: createLogger({ level: 'error', destination: join(dir, 'log.jsonl'), sync: true }),
    });
    try {
      const workerUrl = `https://127.0.0.1:${workerPort}`;
      assert.deepEqual(await get(`${workerUrl}/healthz`, ca.certPem), { status: 200, text: 'ok' });
      const listed = await get(`${running.adminUrl}/api/instances`, ca.certPem);
      const [me] = JSON.parse(listed.text) as { admin: string }[];
      assert.equal(me.admin, workerUrl);
    } finally {
      await running.close();
    }
  });
});
