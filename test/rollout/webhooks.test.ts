// Webhooks against real node:http receivers on 127.0.0.1:0, with a real pino
// logger whose lines are collected to check what a failed delivery says.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import type { ConfirmRequest, RolloutEvent, WebhookConfig } from '../../src/rollout/types.ts';
import { Webhooks } from '../../src/rollout/webhooks.ts';
import { freePort } from '../helpers/prometheus.ts';
import { eventually } from '../helpers/wait.ts';

/** What a receiver does with its Nth request (1-based): a status, or never answer. */
type Answer = number | 'hang';

// Past undici's stream buffer (64 KiB): an answer of this size left unread
// holds its socket, so the next request needs a new connection.
const BIG_ANSWER_BYTES = 100 * 1024;

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** TCP connections accepted, to see keep-alive reuse. */
  readonly connections: number;
  close(): Promise<void>;
}

const open: Receiver[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function startReceiver(answer: (n: number) => Answer, answerBytes = 16): Promise<Receiver> {
  const received: Received[] = [];
  let connections = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    const a = answer(received.length);
    if (a === 'hang') return;
    res
      .writeHead(a, { 'content-type': 'text/plain' })
      .end(a === 204 ? undefined : Buffer.alloc(answerBytes, 'a'));
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get connections() {
      return connections;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  open.push(receiver);
  return receiver;
}

function collectingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function hook(url: string, kind: WebhookConfig['kind'], more: Partial<WebhookConfig> = {}) {
  return { url, kind, timeoutMs: 2000, retries: 0, headers: {}, ...more } satisfies WebhookConfig;
}

const event: RolloutEvent = {
  type: 'rollout',
  route: 'orders',
  from: 'canary',
  to: 'rolled-back',
  step: null,
  previousWeight: 25,
  weight: 0,
  reason: 'errorRate 0.09 above 0.05',
  by: 'controller',
  gates: [
    {
      name: 'errorRate',
      status: 'failed',
      value: 0.09,
      threshold: 0.05,
      bound: 'max',
      unit: 'ratio',
      detail: '9 of 100',
    },
  ],
  at: '2025-01-01T00:00:00.000Z',
};

const ask: ConfirmRequest = {
  type: 'confirm',
  route: 'orders',
  step: 2,
  fromWeight: 10,
  toWeight: 25,
  gates: [],
  at: '2025-01-01T00:00:00.000Z',
};

describe('Webhooks.notify', () => {
  test('posts the event as JSON with the hook headers to every event hook, not to confirm hooks', async () => {
    const a = await startReceiver(() => 204);
    const b = await startReceiver(() => 200);
    const confirmer = await startReceiver(() => 204);
    const { logger, lines } = collectingLogger();
    const webhooks = new Webhooks(logger);
    await webhooks.notify(
      [
        hook(`${a.url}/events`, 'event', {
          headers: { authorization: 'Bearer t0k', 'x-team': 'payments' },
        }),
        hook(`${b.url}/hook`, 'event', { headers: { 'Content-Type': 'text/plain' } }),
        hook(`${confirmer.url}/confirm`, 'confirm'),
      ],
      event,
    );
    await webhooks.close();
    assert.equal(a.received.length, 1);
    assert.equal(a.received[0].url, '/events');
    assert.equal(a.received[0].headers['content-type'], 'application/json');
    assert.equal(a.received[0].headers.authorization, 'Bearer t0k');
    assert.equal(a.received[0].headers['x-team'], 'payments');
    assert.deepEqual(JSON.parse(a.received[0].body), event);
    assert.equal(b.received.length, 1);
    assert.equal(b.received[0].headers['content-type'], 'application/json', 'ours, not the hook');
    assert.deepEqual(JSON.parse(b.received[0].body), event);
    assert.equal(confirmer.received.length, 0);
    assert.deepEqual(lines, []);
  });

  test('a hook that fails twice then succeeds is delivered with retries=2', async () => {
    const flaky = await startReceiver((n) => (n <= 2 ? 500 : 204));
    const { logger, lines } = collectingLogger();
    const webhooks = new Webhooks(logger, { backoffMs: 5 });
    await webhooks.notify([hook(flaky.url, 'event', { retries: 2 })], event);
    await webhooks.close();
    assert.equal(flaky.received.length, 3);
    assert.deepEqual(JSON.parse(flaky.received[2].body), event);
    assert.deepEqual(lines, []);
  });

  test('a hook that always fails gets retries+1 attempts, then a warn line', async () => {
    const down = await startReceiver(() => 503);
    const { logger, lines } = collectingLogger();
    const webhooks = new Webhooks(logger, { backoffMs: 5 });
    await webhooks.notify([hook(`${down.url}/events`, 'event', { retries: 2 })], event);
    await webhooks.close();
    assert.equal(down.received.length, 3);
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.equal(line.level, 40);
    assert.equal(line.webhook, `${down.url}/events`);
    assert.equal(line.route, 'orders');
    assert.equal(line.from, 'canary');
    assert.equal(line.to, 'rolled-back');
    assert.equal(line.attempts, 3);
    assert.match(
      String(line.msg),
      new RegExp(
        `orders canary→rolled-back not delivered: webhook ${down.url}/events: answered 503`,
      ),
    );
  });

  test('an unreachable URL and a timeout never throw; both are logged', async () => {
    const silent = await startReceiver(() => 'hang');
    const closed = `http://127.0.0.1:${await freePort()}/events`;
    const { logger, lines } = collectingLogger();
    const webhooks = new Webhooks(logger, { backoffMs: 5 });
    await webhooks.notify(
      [hook(closed, 'event', { retries: 1 }), hook(silent.url, 'event', { timeoutMs: 100 })],
      event,
    );
    await webhooks.close();
    const byUrl = new Map(lines.map((l) => [l.webhook, String(l.msg)]));
    assert.match(byUrl.get(closed) ?? '', /connection refused/);
    assert.match(byUrl.get(silent.url) ?? '', /timed out after 100 ms/);
  });

  test('close() waits for a delivery in flight and stops further retries', async () => {
    const slow = await startReceiver((n) => (n === 1 ? 'hang' : 204));
    const failing = await startReceiver(() => 500);
    const { logger, lines } = collectingLogger();
    // A backoff far longer than the test: only close() can end the wait.
    const webhooks = new Webhooks(logger, { backoffMs: 600_000 });
    const delivered = webhooks.notify(
      [hook(slow.url, 'event', { timeoutMs: 300 }), hook(failing.url, 'event', { retries: 5 })],
      event,
    );
    await eventually(
      'both hooks asked',
      () => slow.received.length === 1 && failing.received.length === 1,
    );
    await webhooks.close();
    await delivered;
    assert.equal(failing.received.length, 1, 'no retry after close()');
    assert.equal(slow.received.length, 1);
    const byUrl = new Map(lines.map((l) => [l.webhook, String(l.msg)]));
    // The hanging post was waited for (it timed out) rather than abandoned.
    assert.match(byUrl.get(slow.url) ?? '', /timed out after 300 ms/);
    assert.match(byUrl.get(failing.url) ?? '', /answered 500 \(not retried: shutting down\)/);
    // After close() nothing is sent, and that is said.
    await webhooks.notify([hook(failing.url, 'event')], event);
    assert.equal(failing.received.length, 1);
    assert.match(String(lines.at(-1)?.msg), /not sent: webhooks are shut down/);
  });
});

describe('Webhooks.confirm', () => {
  test('no confirm hook approves', async () => {
    const events = await startReceiver(() => 204);
    const webhooks = new Webhooks(collectingLogger().logger);
    const outcome = await webhooks.confirm([hook(events.url, 'event')], ask);
    await webhooks.close();
    assert.deepEqual(outcome, { approved: true, reason: 'no confirm webhook' });
    assert.equal(events.received.length, 0);
  });

  test('204 approves; the ConfirmRequest is posted as JSON with the headers', async () => {
    const ok = await startReceiver(() => 204);
    const webhooks = new Webhooks(collectingLogger().logger);
    const outcome = await webhooks.confirm(
      [hook(`${ok.url}/confirm`, 'confirm', { headers: { 'x-sig': 'abc' } })],
      ask,
    );
    await webhooks.close();
    assert.equal(outcome.approved, true);
    assert.equal(outcome.url, undefined);
    assert.equal(ok.received[0].headers['content-type'], 'application/json');
    assert.equal(ok.received[0].headers['x-sig'], 'abc');
    assert.deepEqual(JSON.parse(ok.received[0].body), ask);
  });

  test('403 refuses, naming the URL and the status; no retry', async () => {
    const no = await startReceiver(() => 403);
    const webhooks = new Webhooks(collectingLogger().logger, { backoffMs: 5 });
    const url = `${no.url}/confirm`;
    const outcome = await webhooks.confirm([hook(url, 'confirm', { retries: 3 })], ask);
    await webhooks.close();
    assert.equal(outcome.approved, false);
    assert.equal(outcome.url, url);
    assert.equal(outcome.reason, `webhook ${url}: answered 403`);
    assert.equal(no.received.length, 1);
  });

  test('a timeout and a closed port refuse, saying why', async () => {
    const silent = await startReceiver(() => 'hang');
    const webhooks = new Webhooks(collectingLogger().logger);
    const late = await webhooks.confirm([hook(silent.url, 'confirm', { timeoutMs: 200 })], ask);
    assert.equal(late.approved, false);
    assert.equal(late.reason, `webhook ${silent.url}: timed out after 200 ms`);
    const closed = `http://127.0.0.1:${await freePort()}/confirm`;
    const refused = await webhooks.confirm([hook(closed, 'confirm')], ask);
    assert.equal(refused.approved, false);
    assert.equal(refused.reason, `webhook ${closed}: connection refused`);
    await webhooks.close();
  });

  test('several confirm hooks must all agree', async () => {
    const yes = await startReceiver(() => 204);
    const alsoYes = await startReceiver(() => 200);
    const no = await startReceiver(() => 409);
    const webhooks = new Webhooks(collectingLogger().logger);
    const agreed = await webhooks.confirm(
      [hook(yes.url, 'confirm'), hook(alsoYes.url, 'confirm')],
      ask,
    );
    assert.equal(agreed.approved, true);
    const split = await webhooks.confirm(
      [hook(yes.url, 'confirm'), hook(no.url, 'confirm'), hook(alsoYes.url, 'confirm')],
      ask,
    );
    await webhooks.close();
    assert.equal(split.approved, false);
    assert.equal(split.url, no.url);
    assert.match(split.reason, /answered 409/);
    // Every hook was asked each time, at once, not stopping at the first refusal.
    assert.equal(yes.received.length, 2);
    assert.equal(alsoYes.received.length, 2);
  });

  test('answer bodies are drained so connections are reused', async () => {
    const ok = await startReceiver(() => 200, BIG_ANSWER_BYTES);
    const webhooks = new Webhooks(collectingLogger().logger);
    for (let i = 0; i < 6; i++) {
      assert.equal((await webhooks.confirm([hook(ok.url, 'confirm')], ask)).approved, true);
    }
    await webhooks.close();
    assert.equal(ok.received.length, 6);
    // Undrained: one connection per ask. Drained: undici may still open a
    // second one while the first is being released after the dump.
    assert.ok(ok.connections <= 2, `${ok.connections} connections for 6 asks`);
  });
});
