// The confirm flow of one run against a real receiver on 127.0.0.1:0, with
// real Webhooks and an injected clock for the pause after a refusal.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { WebhookConfig } from '../../src/config/index.ts';
import {
  ConfirmFlow,
  confirmRequest,
  REFUSED_RECENTLY,
  WAITING_FOR_CONFIRM,
} from '../../src/rollout/confirm.ts';
import { Webhooks } from '../../src/rollout/webhooks.ts';
import { createLogger } from '../../src/telemetry/index.ts';

interface Receiver {
  url: string;
  asks: Record<string, unknown>[];
  /** The status the next asks get. */
  answer: number;
  /** While set, asks wait for `release()` before being answered. */
  hold: boolean;
  release(): void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const waiting: (() => void)[] = [];
  const r: Receiver = {
    url: '',
    asks: [],
    answer: 204,
    hold: false,
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    r.asks.push(JSON.parse(text) as Record<string, unknown>);
    if (r.hold) await new Promise<void>((go) => waiting.push(go));
    res.writeHead(r.answer).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/confirm`;
  return r;
}

const hook = (url: string): WebhookConfig => ({
  url,
  kind: 'confirm',
  timeoutMs: 5_000,
  retries: 0,
  headers: {},
});

const ask = confirmRequest('main', 1, 10, 50, [], 1_800_000_000_000);

describe('ConfirmFlow', () => {
  let receiver: Receiver;
  let webhooks: Webhooks;
  before(async () => {
    receiver = await startReceiver();
    webhooks = new Webhooks(createLogger({ level: 'silent' }));
  });
  after(async () => {
    await webhooks.close();
    await receiver.close();
  });

  test('the ask carries the step, both weights, the gates and the time', () => {
    assert.deepEqual(ask, {
      type: 'confirm',
      route: 'main',
      step: 1,
      fromWeight: 10,
      toWeight: 50,
      gates: [],
      at: '2027-01-15T08:00:00.000Z',
    });
  });

  test('asks once while an ask is in flight, and hands back the approval', async () => {
    receiver.asks.length = 0;
    receiver.answer = 204;
    receiver.hold = true;
    const flow = new ConfirmFlow({ webhooks, clock: () => 0, retryAfterMs: 30_000 });
    const first = flow.request([hook(receiver.url)], ask);
    assert.equal(first.waitingFor, WAITING_FOR_CONFIRM);
    assert.ok(first.answer, 'the first call asks');
    assert.equal(flow.asking, true);
    const again = flow.request([hook(receiver.url)], ask);
    assert.equal(again.waitingFor, WAITING_FOR_CONFIRM);
    assert.equal(again.answer, undefined, 'no second ask while one is in flight');
    receiver.hold = false;
    receiver.release();
    const outcome = await first.answer;
    assert.equal(outcome.approved, true);
    assert.equal(flow.asking, false);
    assert.equal(receiver.asks.length, 1);
    assert.equal(receiver.asks[0].toWeight, 50);
  });

  test('after a refusal, asks again only once the retry pause has passed', async () => {
    receiver.asks.length = 0;
    receiver.answer = 403;
    let now = 1_000;
    const flow = new ConfirmFlow({ webhooks, clock: () => now, retryAfterMs: 30_000 });
    const refused = await flow.request([hook(receiver.url)], ask).answer;
    assert.equal(refused?.approved, false);
    assert.equal(refused?.url, receiver.url);
    assert.match(refused?.reason ?? '', /answered 403/);

    now += 29_999;
    const early = flow.request([hook(receiver.url)], ask);
    assert.equal(early.waitingFor, REFUSED_RECENTLY);
    assert.equal(early.answer, undefined);

    receiver.answer = 204;
    now += 1;
    const later = flow.request([hook(receiver.url)], ask);
    assert.equal(later.waitingFor, WAITING_FOR_CONFIRM);
    assert.equal((await later.answer)?.approved, true);
    assert.equal(receiver.asks.length, 2, 'asked twice: the refusal, then after the pause');
    // An approval clears the refusal: the next step asks at once.
    assert.ok(flow.request([hook(receiver.url)], ask).answer);
  });

  test('an unreachable hook is a refusal, never a thrown error', async () => {
    const closed = await startReceiver();
    await closed.close();
    const flow = new ConfirmFlow({ webhooks, clock: () => 0, retryAfterMs: 1 });
    const outcome = await flow.request([hook(closed.url)], ask).answer;
    assert.equal(outcome?.approved, false);
    assert.match(outcome?.reason ?? '', /connection refused/);
    assert.equal(flow.asking, false);
  });
});
