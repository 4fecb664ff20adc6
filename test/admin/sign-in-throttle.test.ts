// Wrong dashboard sign-ins from one address: refused with 429 after five in
// five minutes, the right token too, until the window is over; a bearer
// token is not throttled. The window's end with an injected clock; the API
// against a real gateway of its own (its throttle is not another test's).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { MAX_FAILURES, SignInThrottle, WINDOW_MS } from '../../src/admin/sign-in-throttle.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

describe('sign-in throttle', () => {
  test('five failures in the window stop the address until the window that began with the first is over', () => {
    let now = 1_000_000;
    const throttle = new SignInThrottle(() => now);
    for (let i = 0; i < MAX_FAILURES; i++) {
      assert.equal(throttle.waitSeconds('10.0.0.1'), 0);
      throttle.failed('10.0.0.1');
      now += 1_000;
    }
    // The window began at the first failure, 5 s ago.
    assert.equal(throttle.waitSeconds('10.0.0.1'), WINDOW_MS / 1000 - 5);
    assert.equal(throttle.waitSeconds('10.0.0.2'), 0, 'another address is not held');
    now = 1_000_000 + WINDOW_MS - 500;
    assert.equal(throttle.waitSeconds('10.0.0.1'), 1);
    now = 1_000_000 + WINDOW_MS;
    assert.equal(throttle.waitSeconds('10.0.0.1'), 0);
    // A new window: one failure is not a block.
    throttle.failed('10.0.0.1');
    assert.equal(throttle.waitSeconds('10.0.0.1'), 0);
  });

  test('a right token before the limit clears the count', () => {
    const throttle = new SignInThrottle(() => 0);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed('a');
    throttle.succeeded('a');
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed('a');
    assert.equal(throttle.waitSeconds('a'), 0);
    throttle.failed('a');
    assert.ok(throttle.waitSeconds('a') > 0);
  });
});

describe('sign-in throttle through the admin API', () => {
  let up: Upstream;
  let gw: TestGateway;
  const TOKEN = 'operator-token-for-throttle';
  before(async () => {
    up = await startUpstream();
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0, token: ${TOKEN} }
state: memory
backends:
  legacy: { url: ${up.url} }
routes:
  - name: plain
    match: { path: /* }
    legacy: legacy
`);
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  const signIn = async (token: string) => {
    const res = await request(`${gw.adminUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'eve' }),
    });
    return {
      status: res.statusCode,
      retryAfter: res.headers['retry-after'],
      body: (await res.body.json()) as { code?: string; detail?: string },
    };
  };

  test('after five wrong tokens even the right one gets 429 with Retry-After; a bearer token still reads', async () => {
    for (let i = 0; i < MAX_FAILURES; i++) {
      const a = await signIn(`guess-${i}`);
      assert.equal(a.status, 401, JSON.stringify(a.body));
    }
    const held = await signIn(TOKEN);
    assert.equal(held.status, 429, JSON.stringify(held.body));
    assert.equal(held.body.code, 'CUTOVER_ERR_SIGN_IN_THROTTLED');
    const wait = Number(held.retryAfter);
    assert.ok(wait > 0 && wait <= WINDOW_MS / 1000, String(held.retryAfter));
    assert.match(String(held.body.detail), new RegExp(`refused for ${wait} s`));
    const routes = await request(`${gw.adminUrl}/api/routes`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await routes.body.dump();
    assert.equal(routes.statusCode, 200);
  });
});
