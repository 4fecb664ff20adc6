// The per-route queue: order within a route, independence across routes, and
// settled() as the proof that queued work has run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteQueue } from '../../src/rollout/route-queue.ts';

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

test('work on one route runs in order, one at a time, even after a failure', async () => {
  const queue = new RouteQueue();
  const seen: string[] = [];
  const first = gate();
  const a = queue.run('main', async () => {
    await first.wait;
    seen.push('a');
    throw new Error('a failed');
  });
  const b = queue.run('main', async () => {
    seen.push('b');
    return 2;
  });
  // Another route does not wait for main.
  assert.equal(await queue.run('other', async () => 'other'), 'other');
  assert.deepEqual(seen, []);
  first.open();
  await assert.rejects(a, /a failed/);
  assert.equal(await b, 2);
  assert.deepEqual(seen, ['a', 'b']);
});

test('settled waits for what was queued before it, drain for every route', async () => {
  const queue = new RouteQueue();
  const held = gate();
  let done = false;
  void queue.run('main', async () => {
    await held.wait;
    done = true;
  });
  const settled = queue.settled('main').then(() => done);
  held.open();
  assert.equal(await settled, true);
  await queue.settled('idle');
  let late = false;
  void queue.run('x', async () => {
    late = true;
  });
  await queue.drain();
  assert.equal(late, true);
});
