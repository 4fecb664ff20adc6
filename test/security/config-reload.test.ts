// Issue 9, finding 6: config parsing stalled traffic. A reload of a file of
// 20,000 keys blocked every request for 7 s; a 50 MB file hung the gateway;
// a config path replaced by a FIFO hung the watcher; SIGTERM was ignored while
// a reload ran. Clients are raw TCP sockets; the gateway and its upstreams are
// real, on 127.0.0.1.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/index.ts';
import { ConfigTimeoutError } from '../../src/errors.ts';
import { childEnv, cli, MAIN, ROOT } from '../helpers/cli.ts';
import { startGateway, type TestGateway, tempDir, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

/** Keys in the large config: twice the 20,000 of the report. */
const MANY_KEYS = 40_000;

/** A valid config whose only webhook carries `keys` headers: inert keys, all parsed and checked. */
function largeYaml(legacyUrl: string, rewriteUrl: string, weight: number, keys: number): string {
  const headers: string[] = [];
  for (let i = 0; i < keys; i++) headers.push(`        x-key-${i}: v${i}`);
  return twoBackendYaml(legacyUrl, rewriteUrl, {
    weight,
    top: `rollouts:
  webhooks:
    - url: http://127.0.0.1:9/hook
      headers:
${headers.join('\n')}`,
  });
}

/** One request over a raw socket; resolves to the side that answered (x-cutover-backend: legacy or candidate). */
function servedBy(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.setEncoding('latin1');
    socket.on('connect', () =>
      socket.write(
        'GET /who HTTP/1.1\r\nHost: gateway\r\nx-user-id: u1\r\nConnection: close\r\n\r\n',
      ),
    );
    socket.on('data', (d: string) => {
      data += d;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const backend = /\r\nx-cutover-backend: ([^\r]+)/i.exec(data)?.[1];
      if (backend) resolve(backend);
      else reject(new Error(`no answer from a backend: ${JSON.stringify(data.slice(0, 200))}`));
    });
  });
}

function logged(gw: TestGateway, msg: string): Record<string, unknown>[] {
  return gw.logs().filter((l) => l.msg === msg);
}

describe('security: config reloads never stall traffic', () => {
  let legacy: Upstream;
  let rewrite: Upstream;
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
    rewrite = await startUpstream({ name: 'rewrite' });
  });
  after(async () => {
    await legacy?.close();
    await rewrite?.close();
  });

  test(`requests sent while a ${MANY_KEYS}-key config is parsed are answered before the reload ends`, {
    timeout: 120_000,
  }, async () => {
    const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url), { watch: true });
    try {
      assert.equal(await servedBy(gw.url), 'legacy');
      writeFileSync(gw.file, largeYaml(legacy.url, rewrite.url, 100, MANY_KEYS));
      await eventually(
        'the reload starts',
        () => logged(gw, 'config reload started').length > 0,
        30_000,
      );

      // Requests issued now, one after another, while the reload runs.
      let answeredDuringReload = 0;
      while (logged(gw, 'config reloaded').length === 0 && answeredDuringReload < 20) {
        const backend = await servedBy(gw.url);
        const reloaded = logged(gw, 'config reloaded').length > 0;
        if (!reloaded) {
          assert.equal(backend, 'legacy', 'the old config serves until the new one is applied');
          answeredDuringReload++;
        }
      }
      assert.ok(
        answeredDuringReload > 0,
        'no request issued after the reload started was answered before it ended',
      );
      await eventually(
        'the large config is applied',
        () => logged(gw, 'config reloaded').length > 0,
        60_000,
      );
      assert.equal(await servedBy(gw.url), 'candidate');
      assert.deepEqual(logged(gw, 'config rejected; keeping the running config'), []);
    } finally {
      await gw.close();
    }
  });

  test('a file over the size limit is refused with a clear error; the running config keeps serving', {
    timeout: 60_000,
  }, async () => {
    const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url), {
      watch: true,
      env: { CUTOVER_CONFIG_MAX_BYTES: '64KiB' },
    });
    try {
      // Valid YAML, padded with a comment to 100 KiB: only its size is wrong.
      const padded = `${twoBackendYaml(legacy.url, rewrite.url, { weight: 100 })}#${'x'.repeat(100 * 1024)}\n`;
      writeFileSync(gw.file, padded);
      await eventually(
        'the large file is refused',
        () => logged(gw, 'config rejected; keeping the running config').length > 0,
        30_000,
      );
      const [refused] = logged(gw, 'config rejected; keeping the running config');
      assert.match(String(refused.err), /over the limit of 65536 bytes .*CUTOVER_CONFIG_MAX_BYTES/);
      assert.equal(await servedBy(gw.url), 'legacy');
      assert.deepEqual(logged(gw, 'config reloaded'), []);

      writeFileSync(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight: 100 }));
      await eventually(
        'a later good file is applied',
        () => logged(gw, 'config reloaded').length > 0,
        30_000,
      );
      assert.equal(await servedBy(gw.url), 'candidate');
    } finally {
      await gw.close();
    }
  });

  test('a FIFO, a directory and a symlink loop in place of the file are refused; the watcher goes on', {
    timeout: 90_000,
  }, async () => {
    const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url), { watch: true });
    try {
      const cases: [string, () => void, RegExp][] = [
        [
          'FIFO',
          () => execFileSync('mkfifo', [gw.file]),
          /FIFO \(named pipe\), not a regular file/,
        ],
        ['directory', () => mkdirSync(gw.file), /it is a directory/],
        ['symlink loop', () => symlinkSync(gw.file, gw.file), /symbolic link loop/],
      ];
      let weight = 0;
      for (const [what, replace, reason] of cases) {
        rmSync(gw.file, { recursive: true, force: true });
        replace();
        await eventually(
          `the ${what} is refused`,
          () =>
            logged(gw, 'config rejected; keeping the running config').some((l) =>
              reason.test(String(l.err)),
            ),
          30_000,
        );
        const [line] = logged(gw, 'config rejected; keeping the running config').filter((l) =>
          reason.test(String(l.err)),
        );
        assert.ok(String(line.err).includes(gw.file), `the message names the file: ${line.err}`);
        assert.equal(await servedBy(gw.url), weight === 100 ? 'candidate' : 'legacy');

        // The watcher is still there: a good file is applied again.
        rmSync(gw.file, { recursive: true, force: true });
        weight = weight === 100 ? 0 : 100;
        const reloads = logged(gw, 'config reloaded').length;
        writeFileSync(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight }));
        await eventually(
          `a good file after the ${what} is applied`,
          () => logged(gw, 'config reloaded').length > reloads,
          30_000,
        );
        assert.equal(await servedBy(gw.url), weight === 100 ? 'candidate' : 'legacy');
      }
    } finally {
      rmSync(gw.file, { recursive: true, force: true });
      await gw.close();
    }
  });

  test('a config that takes longer than the time limit to check is refused', {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    const file = join(dir, 'large.yaml');
    writeFileSync(file, largeYaml(legacy.url, rewrite.url, 0, MANY_KEYS));
    // 1 ms: no worker thread even starts that fast, so the limit is always met.
    await assert.rejects(
      loadConfigFile(file, {}, { limits: { maxBytes: 10 * 1024 * 1024, timeoutMs: 1 } }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigTimeoutError);
        assert.equal(err.code, 'CUTOVER_ERR_CONFIG_TIMEOUT');
        assert.match(err.message, /took longer than 1 ms/);
        return true;
      },
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('security: cutover validate goes through the same reader', () => {
  test('a FIFO given to cutover validate is refused at once, not read forever', {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    const fifo = join(dir, 'cutover.yaml');
    execFileSync('mkfifo', [fifo]);
    try {
      const r = await cli(['validate', '-c', fifo], { timeout: 30_000 });
      assert.equal(r.signal, null, 'validate had to be killed');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot read config .*cutover\.yaml: it is a FIFO/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('security: SIGTERM during a reload', () => {
  let legacy: Upstream;
  let child: ChildProcess | undefined;
  before(async () => {
    legacy = await startUpstream({ name: 'legacy' });
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await legacy?.close();
  });

  test('ends the process within server.shutdownGrace plus a second', {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const file = join(dir, 'cutover.yaml');
    const grace = 'server: { shutdownGrace: 1s }';
    writeFileSync(file, twoBackendYaml(legacy.url, legacy.url, { top: grace }));
    const proc = spawn(process.execPath, [MAIN, 'start', '-c', file], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    await eventually('the gateway listens', () => stdout.includes('cutover listening'), 30_000);

    // Twice the report's key count with the same webhook headers: a long parse.
    const large = largeYaml(legacy.url, legacy.url, 0, 2 * MANY_KEYS).replace(
      'listen: 127.0.0.1:0',
      `listen: 127.0.0.1:0\n${grace}`,
    );
    writeFileSync(file, large);
    await eventually('the reload starts', () => stdout.includes('config reload started'), 30_000);
    proc.kill('SIGTERM');

    // shutdownGrace (1 s) + 1 s is the promise; 10 s bounds the wait without timing it.
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      exited,
      new Promise<'still running'>((resolve) => {
        timer = setTimeout(() => resolve('still running'), 10_000);
      }),
    ]);
    clearTimeout(timer);
    assert.notEqual(result, 'still running', `no exit after SIGTERM\nstderr: ${stderr}`);
    assert.deepEqual(result, { code: 0, signal: null }, stderr);
    assert.match(stdout, /"msg":"stopped"/);
    rmSync(dir, { recursive: true, force: true });
  });
});
