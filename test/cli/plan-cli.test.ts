// `cutover plan` end to end: the real CLI as a child process, on the demo's
// trace export, on stdin, and on local Jaeger / Zipkin query API servers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.ts';
import type { PlanResult } from '../../src/plan/index.ts';
import { type CliResult, childEnv, cli, MAIN, ROOT } from '../helpers/cli.ts';
import { jaegerJson, zipkinJson } from '../plan/trace-fixtures.ts';

const DEMO = join(ROOT, 'examples/traces/demo.zipkin.json');
const MODULES = join(ROOT, 'examples/modules.yaml');
const DEMO_MODULES = ['users', 'inventory', 'gateway', 'notifications', 'billing', 'orders'];

const dir = mkdtempSync(join(tmpdir(), 'cutover-plan-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI with `input` written to its stdin. */
function cliWithStdin(args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(input);
  });
}

const noStack = (r: CliResult): void => assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);

describe('on the demo export', () => {
  test('the table lists every module in plan order and stderr says what was read and how long it took', async () => {
    const r = await cli(['plan', DEMO, '--modules', MODULES]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\S+\s+L[123]\s/.test(l));
    assert.deepEqual(
      rows.map((l) => l.split(/\s+/)[0]),
      DEMO_MODULES,
    );
    assert.match(rows[0], /^users\s+L1\s/);
    assert.match(rows[5], /^orders\s+L3\s+0\.52\s+billing\s/);
    assert.ok(!r.stdout.includes('\x1b['), 'no colour when stdout is a pipe');
    assert.match(
      r.stderr,
      /^cutover plan: read 670 spans from 1 file; none skipped; took \d+\.\d\d s$/m,
    );
  });

  test('--format md, json and html with -o write the file and keep stdout empty', async () => {
    for (const format of ['md', 'json', 'html']) {
      const out = join(dir, `plan.${format}`);
      const r = await cli(['plan', DEMO, '--modules', MODULES, '--format', format, '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`wrote the plan \\(${format}\\) to ${out}`));
      const text = readFileSync(out, 'utf8');
      if (format === 'md') assert.match(text, /^\| users \| L1 \|/m);
      if (format === 'html') {
        assert.match(text, /<svg\b/);
        assert.equal(text.match(/<g class="node /g)?.length, DEMO_MODULES.length);
      }
      if (format === 'json') {
        const plan = JSON.parse(text) as PlanResult;
        assert.deepEqual(
          plan.modules.map((m) => m.name),
          DEMO_MODULES,
        );
        assert.equal(plan.traces.spans, 670);
      }
    }
  });

  test('stdin (-) reads the same plan as the file', async () => {
    const fromFile = await cli(['plan', DEMO, '--format', 'json']);
    const fromStdin = await cliWithStdin(
      ['plan', '-', '--format', 'json'],
      readFileSync(DEMO, 'utf8'),
    );
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.deepEqual(JSON.parse(fromStdin.stdout), JSON.parse(fromFile.stdout));
  });

  test('--emit-config writes a skeleton that `cutover validate` accepts, routing the L1 entry points only', async () => {
    const file = join(dir, 'first-stage.yaml');
    const r = await cli(['plan', DEMO, '--modules', MODULES, '--emit-config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote a config skeleton for 1 L1 module\(s\)/);
    const config = parseConfigText(readFileSync(file, 'utf8'), file, {});
    assert.deepEqual(
      config.routes.map((route) => [route.match.path, route.match.methods, route.legacy]),
      [
        ['/api/users/:id', ['GET'], 'users-legacy'],
        ['/api/users/:id', ['PUT'], 'users-legacy'],
      ],
    );
    const validate = await cli(['validate', '-c', file]);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  });
});

describe('errors exit 2 with the message, never a stack trace', () => {
  test('a malformed trace file names the file and where it broke', async () => {
    const bad = join(dir, 'broken.json');
    writeFileSync(bad, '[{"traceId":"a","id":"b1","timestamp":1}, {"traceId": nope}]');
    const r = await cli(['plan', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^cutover: trace file ${bad}: span 1 .*at byte \\d+`, 'm'));
    assert.equal(r.stdout, '');
    noStack(r);
  });

  test('a truncated file and a missing file', async () => {
    const cut = join(dir, 'cut.json');
    writeFileSync(cut, readFileSync(DEMO, 'utf8').slice(0, 5000));
    const truncated = await cli(['plan', cut]);
    assert.equal(truncated.code, 2);
    assert.match(truncated.stderr, new RegExp(`trace file ${cut}: .*`));
    noStack(truncated);
    const missing = await cli(['plan', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json/);
    noStack(missing);
  });

  test('an invalid modules file names the file and the line', async () => {
    const modules = join(dir, 'modules.yaml');
    writeFileSync(modules, 'modules:\n  orders: orders\n');
    const r = await cli(['plan', DEMO, '--modules', modules]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid modules file/);
    assert.ok(r.stderr.includes(modules), r.stderr);
    noStack(r);
  });

  test('an output that cannot be written exits 1 with the message', async () => {
    const r = await cli(['plan', DEMO, '-o', join(dir, 'no-such-dir', 'plan.txt')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cutover: cannot write .*no-such-dir\/plan\.txt: ENOENT/m);
    noStack(r);
  });

  test('no input and a bad --format are usage errors', async () => {
    const none = await cli(['plan']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give trace files, folders or -/);
    const format = await cli(['plan', DEMO, '--format', 'pdf']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /pdf/);
  });
});

describe('query APIs', () => {
  let server: Server;
  let base: string;
  const asked: URL[] = [];
  let failNext = false;

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      asked.push(url);
      if (failNext) {
        failNext = false;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('storage is warming up');
        return;
      }
      res.setHeader('content-type', 'application/json');
      // Jaeger answers what its UI downloads; Zipkin a list of traces, each a list of spans.
      if (url.pathname === '/api/traces') res.end(jaegerJson());
      else if (url.pathname === '/zipkin/api/v2/traces') res.end(`[${zipkinJson()}, []]`);
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const modulesOf = (r: CliResult): string[] =>
    (JSON.parse(r.stdout) as PlanResult).modules.map((m) => m.name).sort();

  test('--jaeger asks /api/traces for the service over the look-back, in µs', async () => {
    asked.length = 0;
    const before = Date.now();
    const r = await cli([
      'plan',
      '--jaeger',
      base,
      '--service',
      'gateway',
      '--lookback',
      '2h',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(modulesOf(r), ['gateway', 'orders', 'payments']);
    assert.equal(asked.length, 1);
    const q = asked[0];
    assert.equal(q.pathname, '/api/traces');
    assert.equal(q.searchParams.get('service'), 'gateway');
    assert.equal(q.searchParams.get('limit'), '10000');
    const start = Number(q.searchParams.get('start'));
    const end = Number(q.searchParams.get('end'));
    assert.equal(end - start, 2 * 3_600_000_000);
    assert.ok(end >= before * 1000 && end <= Date.now() * 1000);
    assert.match(
      r.stderr,
      /read \d+ spans from jaeger http:\/\/127\.0\.0\.1:\d+\/api\/traces\?service=gateway/,
    );
  });

  test('--zipkin asks /api/v2/traces (keeping a path prefix) and reads its list of traces', async () => {
    asked.length = 0;
    const r = await cli([
      'plan',
      '--zipkin',
      `${base}/zipkin`,
      '--service',
      'gateway',
      '--limit',
      '50',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(modulesOf(r), ['gateway', 'orders', 'payments']);
    const q = asked[0];
    assert.equal(q.pathname, '/zipkin/api/v2/traces');
    assert.equal(q.searchParams.get('serviceName'), 'gateway');
    assert.equal(q.searchParams.get('lookback'), '86400000');
    assert.equal(q.searchParams.get('limit'), '50');
    assert.ok(Number(q.searchParams.get('endTs')) > 1_700_000_000_000);
  });

  test('a failing query API exits 2 naming the URL and the status', async () => {
    failNext = true;
    const r = await cli(['plan', '--jaeger', base, '--service', 'gateway']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /\/api\/traces\?service=gateway.*query answered HTTP 503: storage is warming up/,
    );
    noStack(r);
    const missingService = await cli(['plan', '--zipkin', base]);
    assert.equal(missingService.code, 2);
    assert.match(missingService.stderr, /--zipkin needs --service NAME/);
  });
});
