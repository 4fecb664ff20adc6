import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { CliChild, cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

type Json = Record<string, unknown>;

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Whether a new TCP connection to the port gets an HTTP answer. */
function newConnectionServed(port: number): Promise<'served' | 'refused'> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.setTimeout(3000, () => s.destroy());
    s.on('connect', () => s.write('GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    s.on('data', (d) => {
      data += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => resolve(data.startsWith('HTTP/') ? 'served' : 'refused'));
  });
}

function writeConfig(dir: string, name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

function configYaml(
  legacy: string,
  rewrite: string,
  o: {
    port: number | string;
    adminPort: number | string;
    admin?: string;
    extra?: string;
    route?: string;
  },
): string {
  return `listen: 127.0.0.1:${o.port}
admin: { listen: 127.0.0.1:${o.adminPort}${o.admin ?? ''} }
state: memory
${o.extra ?? ''}
backends:
  legacy: { url: ${legacy} }
  rewrite: { url: ${rewrite} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: header:x-user-id }
    weight: 0
${o.route ?? ''}
`;
}

interface Started {
  child: CliChild;
  url: string;
  adminUrl: string;
  port: number;
}

/**
 * `cutover start` on ports picked beforehand; ready once the admin answers
 * /healthz. (The listening log line has a test of its own below.)
 */
async function startChild(
  dir: string,
  legacy: Upstream,
  rewrite: Upstream,
  o: { admin?: string; extra?: string; route?: string; env?: Record<string, string> } = {},
): Promise<Started & { file: string }> {
  const port = await freePort();
  const adminPort = await freePort();
  const file = writeConfig(
    dir,
    `cutover-${port}.yaml`,
    configYaml(legacy.url, rewrite.url, { port, adminPort, ...o }),
  );
  const child = new CliChild(['start', '-c', file], { env: o.env });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (!child.running) assert.fail(`cutover start exited\nstderr: ${child.stderr}`);
    try {
      const res = await request(`${adminUrl}/healthz`);
      if (res.statusCode === 200 && (await res.body.text()) === 'ok') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      assert.fail(`cutover start never became healthy\nstderr: ${child.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: `http://127.0.0.1:${port}`, adminUrl, port, file };
}

describe('cli: usage', () => {
  test('--help lists the commands and exits 0', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const command of ['start', 'validate', 'demo', 'weight', 'routes']) {
      assert.match(r.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `lists ${command}`);
    }
  });

  test('start --help exits 0 and shows the --config option', async () => {
    const r = await cli(['start', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-c, --config <file>/);
  });

  test('an unknown flag: exit 2 with one clear line on stderr', async () => {
    for (const args of [['--bogus'], ['start', '--bogus']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /unknown option '--bogus'/);
    }
  });

  test('an unknown command: exit 2', async () => {
    const r = await cli(['strat']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /strat/);
  });

  test('start with a missing config file: exit 2 and one line naming it', async () => {
    const r = await cli(['start', '-c', '/nonexistent.yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'cutover: config file not found: /nonexistent.yaml\n');
    assert.equal(r.stdout, '');
  });

  test('weight with a percent that is not a number: exit 2', async () => {
    const r = await cli(['weight', 'main', 'abc', '--admin', 'http://127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'cutover: weight must be a number, got "abc"\n');
  });

  test('weight when no gateway answers: exit 1 saying the admin API cannot be reached', async () => {
    const port = await freePort();
    const r = await cli(['weight', 'main', '--admin', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cutover: cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

describe('cli: validate', () => {
  let dir: string;
  let good: string;
  let bad: string;

  before(() => {
    dir = tempDir();
    good = writeConfig(
      dir,
      'good.yaml',
      configYaml('http://127.0.0.1:9001', 'http://127.0.0.1:9002', { port: 0, adminPort: 0 }),
    );
    bad = writeConfig(
      dir,
      'bad.yaml',
      `listen: nope
backends:
  legacy: { url: ftp://x }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    weight: 300
`,
    );
  });

  test('a valid file: exit 0', async () => {
    const r = await cli(['validate', '-c', good]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid \(1 routes?, 2 backends\)/);
  });

  test('a file with three errors: exit 1, every error with file:line:col and field', async () => {
    const r = await cli(['validate', '-c', bad]);
    assert.equal(r.code, 1, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /3 errors/);
    assert.ok(out.includes(`${bad}:1:9 listen: `), out);
    assert.ok(out.includes(`${bad}:3:18 backends.legacy.url: `), out);
    assert.ok(out.includes(`${bad}:8:13 routes[0].weight: `), out);
  });

  test('--json output parses, valid and invalid', async () => {
    const ok = await cli(['validate', '-c', good, '--json']);
    assert.equal(ok.code, 0);
    assert.deepEqual(JSON.parse(ok.stdout), { valid: true, routes: 1, backends: 2 });
    const r = await cli(['validate', '-c', bad, '--json']);
    assert.equal(r.code, 1);
    const body = JSON.parse(r.stdout) as { valid: boolean; errors: Json[] };
    assert.equal(body.valid, false);
    assert.deepEqual(
      body.errors.map((e) => [e.file, e.line, e.column, e.path]),
      [
        [bad, 1, 9, 'listen'],
        [bad, 3, 18, 'backends.legacy.url'],
        [bad, 8, 13, 'routes[0].weight'],
      ],
    );
    for (const e of body.errors) assert.equal(typeof e.message, 'string');
  });

  test('validate with a missing file: exit 2', async () => {
    const r = await cli(['validate', '-c', join(dir, 'absent.yaml')]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `cutover: config file not found: ${join(dir, 'absent.yaml')}\n`);
  });
});

describe('cli: start', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  const children: CliChild[] = [];

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
  });
  after(async () => {
    for (const c of children) c.kill();
    await legacy.close();
    await rewrite.close();
  });

  test('logs "cutover listening on" with port and adminPort on stdout (config on port 0)', async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      'cutover.yaml',
      configYaml(legacy.url, rewrite.url, { port: 0, adminPort: 0 }),
    );
    const child = new CliChild(['start', '-c', file]);
    children.push(child);
    const line = await child.waitFor('the listening log line', () => {
      const l = child.stdout.split('\n').find((x) => x.includes('cutover listening on'));
      return l === undefined ? undefined : (JSON.parse(l) as Json);
    });
    assert.equal(typeof line.port, 'number');
    assert.equal(typeof line.adminPort, 'number');
    assert.notEqual(line.port, 0);
    const res = await request(`http://127.0.0.1:${line.port}/via-port`);
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as Json).upstream, 'legacy');
    const health = await request(`http://127.0.0.1:${line.adminPort}/healthz`);
    assert.equal(await health.body.text(), 'ok');
    child.signal('SIGTERM');
    assert.equal((await child.exit()).code, 0);
  });

  test('proxies, and weight / routes talk to it through -c FILE', async () => {
    const dir = tempDir();
    const s = await startChild(dir, legacy, rewrite);
    children.push(s.child);

    const res = await request(`${s.url}/hello`, { headers: { 'x-user-id': 'u1' } });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as Json).upstream, 'legacy');

    const set = await cli(['weight', 'main', '30', '-c', s.file]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^main: 30% /);
    assert.match(set.stdout, /runtime/);

    const shown = await cli(['weight', 'main', '-c', s.file, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const view = JSON.parse(shown.stdout) as Json;
    assert.equal(view.name, 'main');
    assert.equal(view.weight, 30);
    assert.equal(view.weightSource, 'runtime');

    // the new weight moves real traffic
    let onCandidate = 0;
    for (let i = 0; i < 60; i++) {
      const r = await request(`${s.url}/w`, { headers: { 'x-user-id': `user-${i}` } });
      if (((await r.body.json()) as Json).upstream === 'rewrite') onCandidate++;
    }
    assert.ok(onCandidate > 0 && onCandidate < 60, `${onCandidate} of 60 on the candidate`);

    const routes = await cli(['routes', '-c', s.file]);
    assert.equal(routes.code, 0, routes.stderr);
    const rows = routes.stdout.trim().split('\n');
    assert.match(rows[0], /^ROUTE\s+PATH\s+LEGACY\s+CANDIDATE\s+WEIGHT\s+SOURCE$/);
    const row = rows.find((r) => r.startsWith('main '));
    assert.ok(row, routes.stdout);
    assert.match(row, /^main\s+\/\*\s+legacy\s+rewrite\s+30%\s+runtime \(file: 0%\)$/);

    const routesJson = await cli(['routes', '-c', s.file, '--json']);
    assert.equal(routesJson.code, 0);
    const listed = JSON.parse(routesJson.stdout) as { routes: Json[] };
    assert.equal(listed.routes.find((r) => r.name === 'main')?.weight, 30);

    const reset = await cli(['weight', 'main', '--reset', '-c', s.file]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /^main: 0% /);
    assert.match(reset.stdout, /config/);
    const after = JSON.parse(
      (await cli(['weight', 'main', '-c', s.file, '--json'])).stdout,
    ) as Json;
    assert.equal(after.weight, 0);
    assert.equal(after.weightSource, 'config');

    const missing = await cli(['weight', 'nosuch', '10', '-c', s.file]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^cutover: admin API answered 404: route "nosuch" not found\n$/);

    const invalid = await cli(['weight', 'main', '101', '-c', s.file]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^cutover: admin API answered 400: .*0 to 100/);

    s.child.signal('SIGTERM');
    assert.equal((await s.child.exit()).code, 0);
  });

  test('with an admin token: --admin URL uses CUTOVER_ADMIN_TOKEN, -c FILE uses the file', async () => {
    const dir = tempDir();
    const s = await startChild(dir, legacy, rewrite, { admin: ', token: s3cret' });
    children.push(s.child);

    const withEnv = await cli(['weight', 'main', '20', '--admin', s.adminUrl], {
      env: { CUTOVER_ADMIN_TOKEN: 's3cret' },
    });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.match(withEnv.stdout, /^main: 20% /);

    const trailingSlash = await cli(['routes', '--admin', `${s.adminUrl}/`, '--json'], {
      env: { CUTOVER_ADMIN_TOKEN: 's3cret' },
    });
    assert.equal(trailingSlash.code, 0, trailingSlash.stderr);

    const noToken = await cli(['weight', 'main', '--admin', s.adminUrl]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /^cutover: admin API answered 401: /);

    const wrongToken = await cli(['routes', '--admin', s.adminUrl], {
      env: { CUTOVER_ADMIN_TOKEN: 'wrong' },
    });
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /401/);

    const fromFile = await cli(['weight', 'main', '-c', s.file, '--json']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal((JSON.parse(fromFile.stdout) as Json).weight, 20);

    s.child.signal('SIGTERM');
    assert.equal((await s.child.exit()).code, 0);
  });

  test('start refuses a non-loopback admin listener without a token: exit 1', async () => {
    const dir = tempDir();
    const port = await freePort();
    const file = writeConfig(
      dir,
      'unsafe.yaml',
      configYaml(legacy.url, rewrite.url, { port, adminPort: 0 }).replace(
        'admin: { listen: 127.0.0.1:0 }',
        'admin: { listen: 0.0.0.0:0 }',
      ),
    );
    const r = await cli(['start', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cutover: admin\.listen 0\.0\.0\.0:0 .*admin\.token is required\n$/);
    assert.equal(await newConnectionServed(port), 'refused');
  });
});

describe('cli: graceful shutdown', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  const children: CliChild[] = [];
  const agents: Agent[] = [];

  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
  });
  after(async () => {
    for (const c of children) c.kill();
    for (const a of agents) await a.destroy();
    await legacy.close();
    await rewrite.close();
  });

  /**
   * Starts a request that the upstream answers late, and waits until the
   * upstream has it; the response promise is wrapped so awaiting this does
   * not wait for the response.
   */
  async function inFlight(
    url: string,
    behavior: string,
    path: string,
  ): Promise<{ response: ReturnType<typeof request> }> {
    const agent = new Agent();
    agents.push(agent);
    const pending = request(`${url}${path}`, {
      dispatcher: agent,
      headers: { 'x-test-behavior': behavior },
    });
    pending.catch(() => {});
    const deadline = Date.now() + 10_000;
    while (!legacy.requests.some((r) => r.url === path)) {
      if (Date.now() > deadline) assert.fail(`${path} never reached the upstream`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { response: pending };
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: the request in flight completes, new connections are refused, exit 0`, async () => {
      const s = await startChild(tempDir(), legacy, rewrite);
      children.push(s.child);
      const path = `/inflight-${signal}`;
      const { response: pending } = await inFlight(s.url, 'slow:800', path);
      let settled = false;
      pending.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      assert.equal(settled, false, 'the request is still in flight when the signal is sent');
      s.child.signal(signal);
      await s.child.waitFor(`"received ${signal}" on stderr`, () =>
        s.child.stderr.includes(`received ${signal}`) ? true : undefined,
      );
      assert.equal(await newConnectionServed(s.port), 'refused');

      const res = await pending;
      assert.equal(res.statusCode, 200);
      const body = (await res.body.json()) as Json;
      assert.equal(body.upstream, 'legacy');
      assert.equal(body.path, path);

      const { code, signal: killedBy } = await s.child.exit();
      assert.equal(killedBy, null);
      assert.equal(code, 0);
    });
  }

  test('a request that outlives server.shutdownGrace is cut and the process still exits 0', async () => {
    const s = await startChild(tempDir(), legacy, rewrite, {
      extra: 'server: { shutdownGrace: 300ms }',
      route: '    timeout: 60s',
    });
    children.push(s.child);
    const path = '/outlives-grace';
    const { response: pending } = await inFlight(s.url, 'hang', path);
    const upstreamSide = legacy.requests.find((r) => r.url === path)!;

    s.child.signal('SIGTERM');
    const { code, signal } = await s.child.exit(10_000);
    assert.equal(signal, null);
    assert.equal(code, 0);
    // The client never gets a complete 200.
    const outcome = await pending.then(
      async (res) => {
        try {
          await res.body.text();
          return `status ${res.statusCode}`;
        } catch {
          return 'cut';
        }
      },
      () => 'cut',
    );
    assert.ok(outcome === 'cut' || !outcome.startsWith('status 2'), outcome);
    await upstreamSide.closed;
    assert.equal(upstreamSide.aborted, true, 'the upstream request was cancelled');
  });
});

describe('cli: demo', () => {
  let child: CliChild | undefined;
  after(() => child?.kill());

  test('demo on port 0 prints the gateway URL, proxies, and stops on SIGTERM', async () => {
    const dir = tempDir();
    child = new CliChild(
      [
        'demo',
        ...['--port', '0', '--admin-port', '0', '--legacy-port', '0', '--rewrite-port', '0'],
        ...['--grpc-legacy-port', '0', '--grpc-rewrite-port', '0'],
      ],
      { cwd: dir },
    );
    const gateway = await child.waitFor(
      'the banner on stderr',
      () => /^\s*gateway\s+(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(child!.stderr)?.[1],
      20_000,
    );
    assert.doesNotMatch(gateway, /:0$/);
    const admin = /^\s*admin\s+(http:\/\/127\.0\.0\.1:\d+)/m.exec(child.stderr)?.[1];
    assert.ok(admin, child.stderr);

    const res = await request(`${gateway}/api/v1/user/1`, { headers: { 'x-user-id': '1' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = (await res.body.json()) as Json;
    assert.equal(typeof body, 'object');
    assert.match(String(res.headers['x-cutover-backend']), /^(legacy|candidate)$/);

    const routes = await request(`${admin}/api/routes`);
    assert.equal(routes.statusCode, 200);
    const names = ((await routes.body.json()) as { routes: Json[] }).routes.map((r) => r.name);
    assert.ok(names.includes('user-profile'), names.join(','));

    child.signal('SIGTERM');
    const { code, signal } = await child.exit();
    assert.equal(signal, null);
    assert.equal(code, 0);
  });
});
