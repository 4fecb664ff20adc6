// ReplayableBody in process: what a reader yields, what a replay sends again,
// and when a body can no longer be replayed (past its cap, after the answer
// started). The network side is in h2-upstream.test.ts.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import {
  type BodyReader,
  ReplayableBody,
  RequestBodyClosedError,
} from '../../src/gateway/replayable-body.ts';

/** Everything `reader` yields until the body ends. */
async function drain(reader: BodyReader): Promise<string> {
  let out = '';
  for await (const chunk of reader) out += chunk.toString();
  return out;
}

test('a reader yields the body as it comes, then ends', async () => {
  const source = new PassThrough();
  const body = new ReplayableBody(source, 1024);
  const reader = body.firstReader();
  const all = drain(reader);
  source.write('ab');
  setImmediate(() => source.end('cd'));
  assert.equal(await all, 'abcd');
});

test('a replay sends the kept bytes again, then the rest; the refused reader reads no more', async () => {
  const source = new PassThrough();
  const body = new ReplayableBody(source, 1024);
  const first = body.firstReader();
  source.write('one,');
  assert.equal(String((await first.next()).value), 'one,');
  const pending = first.next();
  const again = body.replay()!;
  await assert.rejects(pending, RequestBodyClosedError);
  const all = drain(again);
  source.end('two');
  assert.equal(await all, 'one,two');
});

test('past its cap, or once the answer started, a body is not replayed', async () => {
  const big = new PassThrough();
  const capped = new ReplayableBody(big, 4);
  const reader = capped.firstReader();
  big.end('12345678');
  assert.equal(await drain(reader), '12345678');
  assert.equal(capped.replay(), undefined);

  const source = new PassThrough();
  const body = new ReplayableBody(source, 1024);
  const first = body.firstReader();
  source.write('a');
  await first.next();
  const again = body.replay()!;
  // The answer starts while the replay has not re-sent 'a' yet: 'a' still goes.
  body.answerStarted();
  assert.equal(body.replay(), undefined);
  const all = drain(again);
  source.end('b');
  assert.equal(await all, 'ab');
});

test('a failing source fails the read; abandoning a body destroys its unfinished source', async () => {
  const source = new PassThrough();
  const body = new ReplayableBody(source, 1024);
  const pending = body.firstReader().next();
  source.destroy(new Error('too large'));
  await assert.rejects(pending, /too large/);

  const open = new PassThrough();
  const abandoned = new ReplayableBody(open, 1024);
  abandoned.firstReader();
  abandoned.abandon();
  assert.equal(open.destroyed, true);
});
