// The CLI's admin client against an https:// admin API: with -c FILE it
// trusts the certificate the file names (self-signed or CA-issued, whatever
// name it was dialed by), with --admin URL it trusts CUTOVER_ADMIN_CA or the
// system store, and it shows CUTOVER_ADMIN_CERT/KEY to a listener asking for
// a client certificate. Most cases call the client in-process (resolveAdmin +
// adminCall, what every command runs); two run the real `cutover` command.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminCall, resolveAdmin } from '../../src/cli/client.ts';
import { AdminRequestError, TlsCertificateError } from '../../src/errors.ts';
import { createCa, type Issued, selfSigned, type TestCa } from '../helpers/certs.ts';
import { cli } from '../helpers/cli.ts';
import { startGateway, type TestGateway, tempDir } from '../helpers/gateway.ts';
import { freePort } from '../helpers/prometheus.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

type Env = Record<string, string | undefined>;

function yaml(upstream: string, adminPort: number, tls: string): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:${adminPort}, tls: ${tls} }
state: memory
backends:
  legacy: { url: ${upstream} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`;
}

/** The route names the admin API lists, through the CLI's own client. */
async function routeNames(opts: { admin?: string; config?: string }, env: Env): Promise<string[]> {
  const target = await resolveAdmin(opts, env);
  try {
    const { routes } = (await adminCall(target, 'GET', '/api/routes')) as {
      routes: { name: string }[];
    };
    return routes.map((r) => r.name);
  } finally {
    await target.dispatcher?.close();
  }
}

async function refusal(
  opts: { admin?: string; config?: string },
  env: Env,
): Promise<Error & { code?: string }> {
  return routeNames(opts, env).then(
    () => assert.fail('the call was accepted'),
    (err: Error) => err,
  );
}

describe('cli admin client: a self-signed admin certificate', () => {
  let upstream: Upstream;
  let gw: TestGateway;
  let cert: Issued;
  before(async () => {
    upstream = await startUpstream({ name: 'legacy' });
    const dir = tempDir();
    // Names admin.internal only: the CLI dials 127.0.0.1, which it does not name.
    cert = await selfSigned('admin', ['admin.internal'], dir);
    gw = await startGateway(
      yaml(upstream.url, await freePort(), `{ cert: ${cert.cert}, key: ${cert.key} }`),
      { dir },
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test('the certificate the file names is trusted as it is, whatever name was dialed', async () => {
    assert.deepEqual(await routeNames({ config: gw.file }, {}), ['main']);
  });

  test('--admin with the same URL trusts nothing it was not told to, and says how to', async () => {
    const err = await refusal({ admin: gw.adminUrl }, {});
    assert.ok(err instanceof AdminRequestError);
    assert.match(err.message, /^cannot reach the admin API at https:\/\/127\.0\.0\.1:\d+: /);
    assert.match(err.message, /CUTOVER_ADMIN_CA=FILE/);
  });

  test('--admin with CUTOVER_ADMIN_CA naming the certificate file reaches it, whatever its names', async () => {
    assert.deepEqual(await routeNames({ admin: gw.adminUrl }, { CUTOVER_ADMIN_CA: cert.cert }), [
      'main',
    ]);
  });

  test('`cutover routes -c FILE` prints the routes over https', async () => {
    const r = await cli(['routes', '-c', gw.file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const { routes } = JSON.parse(r.stdout) as { routes: { name: string }[] };
    assert.deepEqual(
      routes.map((x) => x.name),
      ['main'],
    );
  });
});

describe('cli admin client: a CA-issued admin certificate', () => {
  let ca: TestCa;
  let served: Issued;
  let upstream: Upstream;
  let gw: TestGateway;
  before(async () => {
    ca = await createCa();
    // Names 127.0.0.1 (the helper adds it): a CA bundle is enough with --admin.
    served = await ca.issue('admin', ['admin.test']);
    upstream = await startUpstream({ name: 'legacy' });
    gw = await startGateway(
      yaml(upstream.url, await freePort(), `{ cert: ${served.cert}, key: ${served.key} }`),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test('-c FILE trusts the leaf the file holds, without its CA', async () => {
    assert.deepEqual(await routeNames({ config: gw.file }, {}), ['main']);
  });

  test('--admin https:// trusts CUTOVER_ADMIN_CA', async () => {
    assert.deepEqual(await routeNames({ admin: gw.adminUrl }, { CUTOVER_ADMIN_CA: ca.cert }), [
      'main',
    ]);
  });

  test('-c FILE naming another certificate than the one served: refused, unless CUTOVER_ADMIN_CA vouches for the served one', async () => {
    const other = await ca.issue('other', ['other.test']);
    const file = join(tempDir(), 'cutover.yaml');
    writeFileSync(
      file,
      yaml(
        upstream.url,
        Number(new URL(gw.adminUrl).port),
        `{ cert: ${other.cert}, key: ${other.key} }`,
      ),
    );
    const err = await refusal({ config: file }, {});
    assert.ok(err instanceof AdminRequestError, String(err));
    assert.deepEqual(await routeNames({ config: file }, { CUTOVER_ADMIN_CA: ca.cert }), ['main']);
  });

  test('CUTOVER_ADMIN_CA naming a missing file, or one without a certificate, is an error naming it', async () => {
    const missing = join(ca.dir, 'missing.pem');
    const err = await refusal({ admin: gw.adminUrl }, { CUTOVER_ADMIN_CA: missing });
    assert.ok(err instanceof TlsCertificateError);
    assert.equal(err.message, `CUTOVER_ADMIN_CA: ${missing} does not exist`);
    const key = await refusal({ admin: gw.adminUrl }, { CUTOVER_ADMIN_CA: served.key });
    assert.ok(key instanceof TlsCertificateError);
    assert.match(key.message, /^CUTOVER_ADMIN_CA: .* holds no PEM certificate/);
  });

  test('`cutover instances --admin https://…` with CUTOVER_ADMIN_CA lists the https admin URL', async () => {
    const r = await cli(['instances', '--admin', gw.adminUrl, '--json'], {
      env: { CUTOVER_ADMIN_CA: ca.cert },
    });
    assert.equal(r.code, 0, r.stderr);
    const [me] = JSON.parse(r.stdout) as { admin: string }[];
    assert.equal(me.admin, gw.adminUrl);
  });
});

describe('cli admin client: mutual TLS', () => {
  let ca: TestCa;
  let operator: Issued;
  let upstream: Upstream;
  let gw: TestGateway;
  before(async () => {
    ca = await createCa();
    const served = await ca.issue('admin', ['admin.test']);
    operator = await ca.issue('operator', ['operator.test']);
    upstream = await startUpstream({ name: 'legacy' });
    gw = await startGateway(
      yaml(
        upstream.url,
        await freePort(),
        `{ cert: ${served.cert}, key: ${served.key}, ca: ${ca.cert} }`,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test('CUTOVER_ADMIN_CERT and CUTOVER_ADMIN_KEY are shown to the admin listener', async () => {
    const env = { CUTOVER_ADMIN_CERT: operator.cert, CUTOVER_ADMIN_KEY: operator.key };
    assert.deepEqual(await routeNames({ config: gw.file }, env), ['main']);
    assert.deepEqual(
      await routeNames({ admin: gw.adminUrl }, { ...env, CUTOVER_ADMIN_CA: ca.cert }),
      ['main'],
    );
  });

  test('without a client certificate the call fails, saying which variables to set', async () => {
    const err = await refusal({ config: gw.file }, {});
    assert.ok(err instanceof AdminRequestError);
    assert.match(err.message, /CUTOVER_ADMIN_CERT and CUTOVER_ADMIN_KEY/);
  });

  test('one of the two variables alone, or a key that is not the certificate’s, is an error naming them', async () => {
    const alone = await refusal({ config: gw.file }, { CUTOVER_ADMIN_CERT: operator.cert });
    assert.ok(alone instanceof TlsCertificateError);
    assert.equal(
      alone.message,
      'CUTOVER_ADMIN_CERT is set but CUTOVER_ADMIN_KEY is not: set both, or neither',
    );
    const stranger = await ca.issue('stranger', ['stranger.test']);
    const mismatch = await refusal(
      { config: gw.file },
      { CUTOVER_ADMIN_CERT: operator.cert, CUTOVER_ADMIN_KEY: stranger.key },
    );
    assert.ok(mismatch instanceof TlsCertificateError);
    assert.match(mismatch.message, /^CUTOVER_ADMIN_KEY: .* is not the key of certificate /);
  });
});
