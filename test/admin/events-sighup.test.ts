// The dashboard's stream across a reload by a real SIGHUP to the real
// `cutover start` process, as an operator (or a ConfigMap update followed by
// `kill -HUP`) does it. The config path is a link into another folder, so the
// file watch (it watches the link's folder) cannot see the edit: only the
// signal can reload it. A request the upstream holds across the reload is
// answered once released.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CliChild } from '../helpers/cli.ts';
import { tempDir } from '../helpers/gateway.ts';
import { type EventStream, openEvents } from './events-client.ts';

type Json = Record<string, unknown>;

const TOKEN = 'sighup-operator-token';

function configYaml(upstreamUrl: string, weight: number): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0, token: ${TOKEN} }
state: memory
log: { access: false }
backends:
  legacy: { url: ${upstreamUrl} }
  rewrite: { url: ${upstreamUrl} }
routes:
  - name: static
    match: { path: /static/* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: ${weight}
`;
}

/** An upstream that answers at once, except `/static/held`, answered when the test says so. */
async function startHoldingUpstream() {
  const held: ServerResponse[] = [];
  let heldWaiter: (() => void) | undefined;
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/static/held') {
      held.push(res);
      heldWaiter?.();
      return;
    }
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves once a held request reached the upstream. */
    async holding(): Promise<void> {
      if (held.length === 0) await new Promise<void>((r) => (heldWaiter = r));
    },
    release(): void {
      for (const res of held.splice(0)) res.end('released');
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** One request through the gateway: status and body. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, agent: false, headers: { 'x-user-id': '7' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end();
  });
}

function lines(child: CliChild, from = 0): Json[] {
  return child.stdout
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json);
}

function weightIn(overview: Json, route: string): unknown {
  return (overview.routes as Json[]).find((r) => r.name === route)?.weight;
}

const upstream = await startHoldingUpstream();
let child: CliChild | undefined;
let stream: EventStream | undefined;
after(async () => {
  stream?.close();
  child?.kill();
  upstream.release();
  await upstream.close();
});

test('SIGHUP to `cutover start`: the event stream shows the new weight, a request in flight is answered', async () => {
  // The watched folder holds a link; the file itself lives elsewhere.
  const dir = tempDir();
  const real = join(dir, 'store', 'cutover.yaml');
  const link = join(dir, 'live', 'cutover.yaml');
  mkdirSync(join(dir, 'store'));
  mkdirSync(join(dir, 'live'));
  writeFileSync(real, configYaml(upstream.url, 10));
  symlinkSync(real, link);

  child = new CliChild(['start', '-c', link]);
  const started = await child.waitFor('the listening line', () =>
    lines(child!).find((l) => String(l.msg).startsWith('cutover listening on')),
  );
  const port = started.port as number;
  const adminUrl = started.admin as string;

  stream = await openEvents(`${adminUrl}/api/events`, { authorization: `Bearer ${TOKEN}` });
  assert.equal(weightIn(await stream.next('overview'), 'static'), 10);

  const inFlight = get(port, '/static/held');
  await upstream.holding();

  writeFileSync(real, configYaml(upstream.url, 30));
  const from = child.stdout.length;
  process.kill(child.process.pid!, 'SIGHUP');
  await child.waitFor('the reload', () =>
    lines(child!, from).find((l) => l.msg === 'config reloaded'),
  );
  const overview = await stream.until('overview', (o) => weightIn(o, 'static') === 30);
  assert.equal(weightIn(overview, 'static'), 30);

  // The request that waited through the reload is answered by the same upstream.
  upstream.release();
  assert.deepEqual(await inFlight, { status: 200, body: 'released' });
  // New requests are served under the reloaded config.
  assert.equal((await get(port, '/static/a')).status, 200);
  stream.close();
  stream = undefined;

  child.signal('SIGTERM');
  assert.equal((await child.exit()).code, 0, child.stderr);
});
