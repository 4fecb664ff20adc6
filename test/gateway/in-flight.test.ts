// The one in-flight count: requests and tunnels, and a drain that ends when
// both are done or when the grace is over (fake timers: no real waiting).
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { InFlight } from '../../src/gateway/in-flight.ts';
import type { RouteTunnelMetrics, TunnelEnd } from '../../src/telemetry/index.ts';

/** A route's tunnel series that records what it was told. */
function series(): RouteTunnelMetrics & { opened_: number; closed_: TunnelEnd[] } {
  const s = {
    opened_: 0,
    closed_: [] as TunnelEnd[],
    opened: () => {
      s.opened_++;
    },
    closed: (reason: TunnelEnd) => {
      s.closed_.push(reason);
    },
  };
  return s;
}

/** Whether `p` has settled, once every queued promise job has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await turn();
  return done;
}

test('requests and tunnels are one total; the route series still hear of every tunnel', () => {
  const inFlight = new InFlight();
  const route = series();
  const tunnels = inFlight.countTunnels(route);
  inFlight.requestStarted();
  tunnels.opened();
  assert.deepEqual([inFlight.requests, inFlight.tunnels, inFlight.total], [1, 1, 2]);
  inFlight.requestFinished();
  tunnels.closed('client');
  assert.deepEqual([inFlight.requests, inFlight.tunnels, inFlight.total], [0, 0, 0]);
  assert.equal(route.opened_, 1);
  assert.deepEqual(route.closed_, ['client']);
});

test('a drain with nothing in flight is over at once', async () => {
  assert.equal(await new InFlight().drained(1000), true);
});

test('a drain waits for requests and tunnels, and tells of each end on the way', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const inFlight = new InFlight();
  const tunnels = inFlight.countTunnels(series());
  inFlight.requestStarted();
  inFlight.requestStarted();
  tunnels.opened();
  const ends = mock.fn();
  const drain = inFlight.drained(10_000, ends);

  inFlight.requestFinished();
  inFlight.requestFinished();
  assert.equal(ends.mock.callCount(), 2);
  assert.equal(await settled(drain), false, 'the open tunnel holds the drain');

  tunnels.closed('backend');
  assert.equal(await drain, true);
});

test('a drain gives up when the grace is over, with what is left still counted', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const inFlight = new InFlight();
  inFlight.requestStarted();
  const drain = inFlight.drained(5_000);
  t.mock.timers.tick(4_999);
  assert.equal(await settled(drain), false);
  t.mock.timers.tick(1);
  assert.equal(await drain, false);
  assert.equal(inFlight.total, 1);
  // An end after the drain gave up reaches no stale waiter.
  inFlight.requestFinished();
  assert.equal(inFlight.total, 0);
});
