// The dashboard over a fleet (issue 14, "with several instances the
// dashboard shows the fleet"): two real gateways sharing a SQLite state
// file, then a real redis-server; requests served by each; either instance's series, all-routes table
// and event stream show both instances' requests, and what happened on the
// other one (a weight set by hand, a breaker forced open) as it happens.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import {
  sendRequests,
  startGateway,
  type TestGateway,
  tempDir,
  twoBackendYaml,
} from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';
import { type EventStream, openEvents } from './events-client.ts';

type Json = Record<string, unknown>;

const bearer = { authorization: 'Bearer op-token' };

async function getJson(url: string): Promise<Json> {
  const res = await request(url, { headers: bearer });
  assert.equal(res.statusCode, 200, url);
  return (await res.body.json()) as Json;
}

async function send(
  url: string,
  method: 'PUT' | 'POST',
  body: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await request(url, {
    method,
    headers: { ...bearer, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Json };
}

interface Side {
  rps: number;
  errorRate: number | null;
  p99: number | null;
}
interface Point {
  t: number;
  legacy: Side;
  candidate: Side | null;
  instances: number;
}

async function points(gw: TestGateway, route: string): Promise<Point[]> {
  return (await getJson(`${gw.adminUrl}/api/routes/${route}/series?seconds=120`)).points as Point[];
}

/** Requests counted by the points from epoch second `from` on. */
const served = (list: Point[], from: number): { requests: number; errors: number } => {
  let requests = 0;
  let errors = 0;
  for (const p of list) {
    if (p.t < from) continue;
    requests += p.legacy.rps;
    errors += p.legacy.rps * (p.legacy.errorRate ?? 0);
  }
  return { requests, errors: Math.round(errors) };
};

const yaml = (legacy: string, rewrite: string, state: string) =>
  twoBackendYaml(legacy, rewrite, { top: 'log: { access: false }' })
    .replace('admin: { listen: 127.0.0.1:0 }', 'admin: { listen: 127.0.0.1:0, token: op-token }')
    .replace('state: memory', `state: ${state}`);

function fleetSuite(kind: string, state: (dir: string) => string): void {
  describe(`dashboard over a fleet of two instances (${kind})`, { timeout: 90_000 }, () => {
    let legacy: Upstream;
    let rewrite: Upstream;
    let a: TestGateway;
    let b: TestGateway;
    let aId: string;
    const streams: EventStream[] = [];

    before(async () => {
      legacy = await startUpstream({ name: 'legacy' });
      rewrite = await startUpstream({ name: 'rewrite' });
      const dir = tempDir();
      const config = yaml(legacy.url, rewrite.url, state(dir));
      a = await startGateway(config, { dir });
      b = await startGateway(config);
      const listed = await request(`${a.adminUrl}/api/instances`, { headers: bearer });
      const instances = (await listed.body.json()) as { id: string; admin?: string }[];
      aId = instances.find((i) => i.admin === a.adminUrl)?.id ?? '';
      assert.notEqual(aId, '', JSON.stringify(instances));
      // Each instance's points are the fleet's once it has seen the other (a heartbeat or two).
      for (const gw of [a, b]) {
        await eventually(
          'the newest point holds both instances',
          async () => (await points(gw, 'main')).at(-1)?.instances === 2,
          20_000,
        );
      }
    });
    after(async () => {
      for (const s of streams) s.close();
      await b.close();
      await a.close();
      await legacy.close();
      await rewrite.close();
    });

    test("each instance's series counts the requests both served, errors included", async () => {
      const from = Math.floor(Date.now() / 1000);
      await sendRequests(a.url, 30);
      await sendRequests(a.url, 6, 'status:503');
      await sendRequests(b.url, 14);
      // 50 requests, 6 of them failed: the same on either instance, though each served only some.
      for (const gw of [a, b]) {
        await eventually('the series holds all 50 requests', async () => {
          const s = served(await points(gw, 'main'), from);
          return s.requests === 50 && s.errors === 6;
        });
      }
      const busy = (await points(b, 'main')).filter((p) => p.t >= from && p.legacy.rps > 0);
      assert.ok(busy.length > 0);
      for (const p of busy) {
        assert.equal(p.instances, 2);
        assert.ok(p.legacy.p99 !== null && p.legacy.p99 > 0, JSON.stringify(p));
      }
    });

    test("B's all-routes table and stream show the rate A serves", async () => {
      const events = await openEvents(`${b.adminUrl}/api/events?route=main`, bearer);
      streams.push(events);
      await events.next('overview');
      const from = Math.floor(Date.now() / 1000);
      // Only A serves: what B shows of the route is what it read of A.
      await sendRequests(a.url, 20);
      // A second sent again (revised by a late payload) replaces the first sending.
      const bySecond = new Map<number, number>();
      const sum = () => [...bySecond.values()].reduce((x, y) => x + y, 0);
      while (sum() < 20) {
        const p = (await events.next('point')).point as Point;
        if (p.t >= from) bySecond.set(p.t, p.legacy.rps);
      }
      assert.equal(sum(), 20);
      const overview = await getJson(`${b.adminUrl}/api/overview`);
      const row = (overview.routes as Json[]).find((r) => r.name === 'main') as Json;
      assert.ok((row.legacy as Side).rps > 0, JSON.stringify(row));
      assert.equal((overview.instances as unknown[]).length, 2);
    });

    test("a weight set by hand on A reaches B's stream as a ledger note", async () => {
      const events = await openEvents(`${b.adminUrl}/api/events`, bearer);
      streams.push(events);
      await events.next('overview');
      const set = await send(`${a.adminUrl}/api/routes/main/weight`, 'PUT', { weight: 10 });
      assert.equal(set.status, 200, JSON.stringify(set.json));
      const note = await events.until('ledger', (d) => d.kind === 'note' && d.route === 'main');
      assert.equal(note.weight, 10);
      assert.match(String(note.reason), /weight set by hand to 10%/);
    });

    test("a breaker forced open on A reaches B's stream, naming A", async () => {
      const events = await openEvents(`${b.adminUrl}/api/events`, bearer);
      streams.push(events);
      await events.next('overview');
      const forced = await send(`${a.adminUrl}/api/backends/rewrite/breaker`, 'POST', {
        state: 'open',
      });
      assert.equal(forced.status, 200, JSON.stringify(forced.json));
      const remote = await events.until('breaker', (d) => d.instance === aId);
      assert.equal(remote.backend, 'rewrite');
      assert.equal(remote.state, 'open');
      await send(`${a.adminUrl}/api/backends/rewrite/breaker`, 'POST', { state: 'auto' });
    });
  });
}

fleetSuite('SQLite', (dir) => `sqlite:${join(dir, 'fleet.db')}`);

let redis: TestRedis | undefined;
describe('on Redis', () => {
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.close());
  fleetSuite('Redis', () => `${redis?.url}/0`);
});
