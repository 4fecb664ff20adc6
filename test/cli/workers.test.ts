// `cutover start` with server.workers: 2, as a real child process in front of a
// real upstream: the primary forks two workers sharing the ports, restarts one
// that is killed, passes SIGHUP and SIGTERM on, and refuses what cannot work.
// Which worker answered is read from the log (pid of each access line), and
// every wait is on a log line, never a sleep.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { CliChild, cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/gateway.ts';
import { matching, parseMetrics } from '../helpers/metrics.ts';
import { freePortPair } from '../helpers/ports.ts';
import { BEHAVIOR_HEADER, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;

function configYaml(upstream: string, dir: string): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${join(dir, 'state.db')}
server: { workers: 2, shutdownGrace: 5s }
backends:
  legacy: { url: ${upstream} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`;
}

/** The JSON log lines of stdout from `from` chars on. */
function lines(child: CliChild, from = 0): Json[] {
  return child.stdout
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json);
}

function waitLine(child: CliChild, what: string, match: (l: Json) => boolean, from = 0) {
  return child.waitFor(what, () => lines(child, from).find(match));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One request on a connection of its own: its status, or the error's code. */
function ask(port: number, headers: Record<string, string> = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/w', agent: false, headers, timeout: 10_000 },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

interface Started {
  child: CliChild;
  file: string;
  port: number;
  /** `http://127.0.0.1:PORT (admin http://127.0.0.1:PORT)`, as the listening lines say it. */
  url: string;
  workerPids: number[];
}

async function startWorkers(
  upstream: Upstream,
  edit: (yaml: string) => string = (yaml) => yaml,
): Promise<Started> {
  const dir = tempDir();
  const file = join(dir, 'cutover.yaml');
  writeFileSync(file, edit(configYaml(upstream.url, dir)));
  const child = new CliChild(['start', '-c', file]);
  const line = await waitLine(child, 'the primary listening line', (l) =>
    String(l.msg).startsWith('cutover listening on'),
  );
  const workerPids = (line.workers as { pid: number }[]).map((w) => w.pid);
  const url = `${line.listen} (admin ${line.admin})`;
  return { child, file, port: line.port as number, url, workerPids };
}

describe('cli: start with server.workers: 2', () => {
  let upstream: Upstream;
  const children: CliChild[] = [];

  before(async () => {
    upstream = await startUpstream({ name: 'legacy' });
  });
  after(async () => {
    for (const c of children) c.kill();
    await upstream.close();
  });

  test('two workers serve, a killed one is restarted, SIGHUP reloads each, SIGTERM stops all with exit 0', async () => {
    const s = await startWorkers(upstream);
    children.push(s.child);
    const primaryPid = s.child.process.pid!;

    // The primary names two live workers, each logging its own index and pid.
    assert.equal(s.workerPids.length, 2);
    assert.equal(new Set(s.workerPids).size, 2);
    for (const pid of s.workerPids) {
      assert.notEqual(pid, primaryPid);
      assert.ok(alive(pid), `worker ${pid} is alive`);
    }
    for (const [index, pid] of s.workerPids.entries()) {
      const own = lines(s.child).find((l) => l.msg === `worker ${index} listening on ${s.url}`);
      assert.ok(own, `worker ${index}'s listening line`);
      assert.equal(own.pid, pid);
      assert.equal(own.worker, index);
    }

    // Both answer. The kernel hashes each new connection to a worker, so a batch
    // of 10 could (1 time in 512) all land on one: send batches until both served.
    const servedBy = new Set<unknown>();
    for (let sent = 10; sent <= 100 && servedBy.size < 2; sent += 10) {
      const statuses = await Promise.all(Array.from({ length: 10 }, () => ask(s.port)));
      assert.deepEqual(new Set(statuses), new Set([200]));
      const access = await s.child.waitFor(`${sent} access lines`, () => {
        const found = lines(s.child).filter((l) => l.msg === 'access');
        return found.length >= sent ? found : undefined;
      });
      for (const l of access) servedBy.add(l.pid);
    }
    assert.deepEqual(servedBy, new Set(s.workerPids));

    // Kill worker 1 by pid while requests keep coming.
    const results: { sentAt: number; status: number | string }[] = [];
    let sending = true;
    const sender = (async () => {
      while (sending) {
        const sentAt = performance.now();
        results.push({ sentAt, status: await ask(s.port) });
      }
    })();
    let newPid: number;
    let restartSeenAt: number;
    try {
      const from = s.child.stdout.length;
      process.kill(s.workerPids[1], 'SIGKILL');
      const exited = await waitLine(
        s.child,
        'the exit of the killed worker',
        (l) => l.role === 'primary' && l.workerPid === s.workerPids[1],
        from,
      );
      assert.equal(exited.signal, 'SIGKILL');
      assert.equal(exited.restartInMs, 100);
      const restarted = await waitLine(
        s.child,
        'the restart of worker 1',
        (l) => l.role === 'primary' && String(l.msg).startsWith('worker 1 restarted'),
        from,
      );
      restartSeenAt = performance.now();
      newPid = restarted.workerPid as number;
      assert.ok(!s.workerPids.includes(newPid), 'a new pid');
      assert.ok(alive(newPid));
      assert.equal(restarted.previousPid, s.workerPids[1]);
      await s.child.waitFor('30 requests after the restart', () =>
        results.filter((r) => r.sentAt > restartSeenAt).length >= 30 ? true : undefined,
      );
    } finally {
      sending = false;
      await sender;
    }
    // Requests sent after the restart line: every one answered (a request in
    // flight on the killed worker as it died may have failed).
    assert.deepEqual(
      results.filter((r) => r.sentAt > restartSeenAt && r.status !== 200),
      [],
      'requests sent after the restart all answered 200',
    );
    const pids = [s.workerPids[0], newPid];

    // SIGHUP to the primary: each worker reloads.
    const hupFrom = s.child.stdout.length;
    s.child.signal('SIGHUP');
    for (const [index, pid] of pids.entries()) {
      const reloaded = await waitLine(
        s.child,
        `worker ${index}'s reload`,
        (l) => l.msg === 'config reloaded' && l.worker === index,
        hupFrom,
      );
      assert.equal(reloaded.pid, pid);
    }

    // SIGTERM while a request is in flight: it is answered, every worker exits, the primary exits 0.
    const inFlight = ask(s.port, { [BEHAVIOR_HEADER]: 'slow:300' });
    await s.child.waitFor('the slow request at the upstream', () =>
      upstream.requests.some((r) => r.headers[BEHAVIOR_HEADER] === 'slow:300') ? true : undefined,
    );
    s.child.signal('SIGTERM');
    assert.equal(await inFlight, 200);
    assert.equal((await s.child.exit()).code, 0, s.child.stderr);
    for (const pid of pids) assert.ok(!alive(pid), `worker ${pid} is gone`);
    const stopped = lines(s.child).filter(
      (l) => l.role === 'primary' && String(l.msg).includes('stopped (code 0)'),
    );
    assert.equal(stopped.length, 2);
  });

  test('a worker that fails to restart is tried again later and later, and comes back once it can', async () => {
    const s = await startWorkers(upstream);
    children.push(s.child);
    // The file goes bad: the running workers keep their config, a new one cannot start.
    const good = readFileSync(s.file, 'utf8');
    writeFileSync(s.file, `${good}bogus: 1\n`);
    const from = s.child.stdout.length;
    process.kill(s.workerPids[0], 'SIGKILL');
    const delays: number[] = [];
    for (const delay of [100, 200, 400]) {
      const line = await waitLine(
        s.child,
        `a restart in ${delay} ms`,
        (l) => l.role === 'primary' && l.restartInMs === delay,
        from,
      );
      delays.push(line.restartInMs as number);
    }
    assert.deepEqual(delays, [100, 200, 400]);
    assert.match(s.child.stderr, /unknown field "bogus"/);
    writeFileSync(s.file, good);
    await waitLine(
      s.child,
      'worker 0 restarted',
      (l) => l.role === 'primary' && String(l.msg).startsWith('worker 0 restarted'),
      from,
    );
    assert.equal(await ask(s.port), 200);
    s.child.signal('SIGTERM');
    assert.equal((await s.child.exit()).code, 0, s.child.stderr);
  });

  test('admin.workerListen: worker N serves its own /metrics on port + N', async () => {
    const base = await freePortPair();
    const s = await startWorkers(upstream, (yaml) =>
      yaml.replace(
        'admin: { listen: 127.0.0.1:0 }',
        `admin: { listen: 127.0.0.1:0, workerListen: 127.0.0.1:${base} }`,
      ),
    );
    children.push(s.child);
    for (const [index, pid] of s.workerPids.entries()) {
      const own = lines(s.child).find((l) => l.pid === pid && l.workerAdmin !== undefined);
      assert.equal(own?.workerAdmin, `http://127.0.0.1:${base + index}`);
    }
    const requestsOn = async (port: number) => {
      const res = await request(`http://127.0.0.1:${port}/metrics`);
      const samples = parseMetrics(await res.body.text());
      return matching(samples, 'cutover_requests_total').reduce((a, x) => a + x.value, 0);
    };
    // One request at a time: after each, every worker's own port counts exactly
    // the requests its access lines show, so the one that served it went up by
    // one and the other did not move.
    for (let sent = 1; sent <= 6; sent++) {
      assert.equal(await ask(s.port), 200);
      const servedBy = await s.child.waitFor(`access line ${sent}`, () => {
        const access = lines(s.child).filter((l) => l.msg === 'access');
        return access.length >= sent ? access.map((l) => l.pid as number) : undefined;
      });
      for (const [index, pid] of s.workerPids.entries()) {
        const served = servedBy.filter((p) => p === pid).length;
        await waitFor(
          `worker ${index}'s ${served} requests on its own admin port`,
          5000,
          () => requestsOn(base + index),
          (count) => count === served,
        );
      }
    }
    s.child.signal('SIGTERM');
    assert.equal((await s.child.exit()).code, 0, s.child.stderr);
  });

  test('state: memory with 2 workers: exit 1, the reason printed once, no worker started', async () => {
    const dir = tempDir();
    const file = join(dir, 'cutover.yaml');
    writeFileSync(file, configYaml(upstream.url, dir).replace(/^state: .*$/m, 'state: memory'));
    const r = await cli(['start', '-c', file]);
    assert.equal(r.code, 1);
    const reasons = r.stderr.match(/memory cannot be shared by 2 workers/g) ?? [];
    assert.equal(reasons.length, 1, r.stderr);
    assert.match(r.stderr, /sqlite:PATH \(the default\) or redis:\/\//);
    assert.doesNotMatch(r.stdout, /worker/);
  });

  test('a worker that cannot start (its state file cannot be opened): the primary stops, exit 1', async () => {
    const dir = tempDir();
    const file = join(dir, 'cutover.yaml');
    // A directory path through a regular file: no worker can create the state file.
    writeFileSync(
      file,
      configYaml(upstream.url, dir).replace(/^state: .*$/m, `state: sqlite:${file}/state.db`),
    );
    const r = await cli(['start', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot open state/);
    assert.match(r.stdout, /exited \(code 1\) before it was ready; stopping/);
    assert.doesNotMatch(r.stdout, /cutover listening on/);
  });

  test('the gateway port is taken, even by a SO_REUSEPORT socket that workers could join: exit 1', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) =>
      taken.listen({ port: 0, host: '127.0.0.1', reusePort: true }, resolve),
    );
    const { port } = taken.address() as { port: number };
    try {
      const dir = tempDir();
      const file = join(dir, 'cutover.yaml');
      writeFileSync(
        file,
        configYaml(upstream.url, dir).replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`),
      );
      const r = await cli(['start', '-c', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /EADDRINUSE/);
      assert.doesNotMatch(r.stdout, /listening/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
