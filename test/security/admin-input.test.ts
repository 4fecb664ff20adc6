// Issue 9, admin findings: weights with two decimals refused by a float check,
// a route name that is not percent-encoding answered with a 500 and a stack
// trace, and the token comparison. Every request is sent as raw bytes over a
// TCP socket, as a client (or attacker) would.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli } from '../helpers/cli.ts';
import { startGateway, type TestGateway, tempDir, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const TOKEN = 's3cret-token';

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends `bytes` on a new connection and reads until the server closes it. */
function rawExchange(url: string, bytes: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) {
        reject(new Error(`no complete answer: ${JSON.stringify(text)}`));
        return;
      }
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) });
    });
  });
}

function adminRequest(
  method: string,
  target: string,
  options: { authorization?: string; body?: string } = {},
): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: admin', 'Connection: close'];
  if (options.authorization !== undefined) lines.push(`Authorization: ${options.authorization}`);
  if (options.body !== undefined) {
    lines.push('Content-Type: application/json');
    lines.push(`Content-Length: ${Buffer.byteLength(options.body)}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n${options.body ?? ''}`;
}

function problemCode(a: RawAnswer, status: number): string {
  assert.equal(a.status, status, a.body);
  assert.equal(a.headers.get('content-type'), 'application/problem+json');
  return (JSON.parse(a.body) as { code: string }).code;
}

describe('security: admin API input', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  let gw: TestGateway;
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
    gw = await startGateway(
      twoBackendYaml(legacy.url, rewrite.url, {
        top: `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
      }).replace('admin: { listen: 127.0.0.1:0 }\n', ''),
    );
  });
  after(async () => {
    await gw?.close();
    await legacy?.close();
    await rewrite?.close();
  });
  const auth = `Bearer ${TOKEN}`;

  test('weights with two decimals (0.29, 1.13, 12.34) are accepted; 0.291 is refused', async () => {
    for (const weight of [0.29, 1.13, 12.34, 0.01, 99.99]) {
      const a = await rawExchange(
        gw.adminUrl,
        adminRequest('PUT', '/api/routes/main/weight', {
          authorization: auth,
          body: JSON.stringify({ weight }),
        }),
      );
      assert.equal(a.status, 200, `weight ${weight}: ${a.body}`);
      assert.equal((JSON.parse(a.body) as { weight: number }).weight, weight);
    }
    const refused = await rawExchange(
      gw.adminUrl,
      adminRequest('PUT', '/api/routes/main/weight', {
        authorization: auth,
        body: '{"weight":0.291}',
      }),
    );
    assert.equal(problemCode(refused, 400), 'CUTOVER_ERR_INVALID_ARGUMENT');
  });

  test('a route name that is not valid percent-encoding is a 400 problem, with no stack in the log', async () => {
    for (const [method, target] of [
      ['GET', '/api/routes/%ZZ'],
      ['DELETE', '/api/routes/%ZZ/weight'],
      ['GET', '/api/routes/%E0%A4%A/history'],
      ['GET', '/api/routes/%/diffs'],
      ['POST', '/api/routes/%ZZ/rollout/pause'],
      ['GET', '/api/backends/%ZZ/breaker'],
    ]) {
      const a = await rawExchange(
        gw.adminUrl,
        adminRequest(method, target, { authorization: auth }),
      );
      assert.equal(problemCode(a, 400), 'CUTOVER_ERR_INVALID_ARGUMENT', target);
    }
    const failures = gw.logs().filter((l) => l.msg === 'admin request failed');
    assert.deepEqual(failures, []);
  });

  test('the token check refuses wrong tokens of any length and accepts the right one', async () => {
    const wrong = [
      undefined,
      'Bearer ',
      'Bearer s',
      `Bearer ${'x'.repeat(TOKEN.length)}`,
      `Bearer ${TOKEN.slice(0, -1)}X`,
      `Bearer ${TOKEN}-and-more`,
      `Bearer ${'y'.repeat(4096)}`,
      `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
      TOKEN,
    ];
    for (const authorization of wrong) {
      const a = await rawExchange(
        gw.adminUrl,
        adminRequest('GET', '/api/routes', { authorization }),
      );
      assert.equal(problemCode(a, 401), 'CUTOVER_ERR_UNAUTHORIZED', String(authorization));
      assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    }
    // RFC 9110 §11.1: the auth scheme is case-insensitive.
    for (const authorization of [auth, `bearer ${TOKEN}`, `BEARER  ${TOKEN}`]) {
      const a = await rawExchange(
        gw.adminUrl,
        adminRequest('GET', '/api/routes', { authorization }),
      );
      assert.equal(a.status, 200, `${authorization}: ${a.body}`);
    }
  });
});

describe('security: cutover validate accepts two-decimal weights', () => {
  test('weight 0.29 and steps [0.29, 1.13, 12.34, 100] are valid; 0.291 is not', async () => {
    const dir = tempDir();
    const config = (weight: string, steps: string) => `backends:
  legacy: { url: "http://127.0.0.1:9001" }
  rewrite: { url: "http://127.0.0.1:9002" }
routes:
  - name: a
    match: { path: /a }
    legacy: legacy
    candidate: rewrite
    weight: ${weight}
  - name: b
    match: { path: /b }
    legacy: legacy
    candidate: rewrite
    rollout: { steps: ${steps} }
`;
    const good = join(dir, 'good.yaml');
    writeFileSync(good, config('0.29', '[0.29, 1.13, 12.34, 100]'));
    const ok = await cli(['validate', '-c', good]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);

    const alsoGood = join(dir, 'also-good.yaml');
    writeFileSync(alsoGood, config('1.13', '[1.13, 100]'));
    const ok2 = await cli(['validate', '-c', alsoGood]);
    assert.equal(ok2.code, 0, ok2.stdout + ok2.stderr);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, config('0.291', '[0.29, 100]'));
    const refused = await cli(['validate', '-c', bad]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stdout + refused.stderr,
      /routes\[0\]\.weight: expected at most two decimals, got 0\.291/,
    );
  });
});
