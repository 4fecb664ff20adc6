// Hot reload of a running gateway: file edits in place and by rename, invalid
// edits that must change nothing, reloads under load that must fail no
// request, and routes that go away.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startGateway, type TestGateway, tempDir, twoBackendYaml } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { eventually } from '../helpers/wait.ts';

async function reloadCount(gw: TestGateway, result: 'ok' | 'failed'): Promise<number> {
  const res = await request(`${gw.adminUrl}/metrics`);
  assert.equal(res.statusCode, 200);
  const text = await res.body.text();
  const m = new RegExp(`^cutover_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(
    text,
  );
  assert.ok(m, `cutover_config_reloads_total{result="${result}"} is exported`);
  return Number(m[1]);
}

interface Answer {
  status: number;
  side: string | undefined;
  upstream: string | undefined;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  let upstream: string | undefined;
  try {
    upstream = (JSON.parse(text) as { upstream?: string }).upstream;
  } catch {
    upstream = undefined;
  }
  const side = res.headers['x-cutover-backend'];
  return { status: res.statusCode, side: typeof side === 'string' ? side : undefined, upstream };
}

async function routeStatus(gw: TestGateway, name: string): Promise<Record<string, unknown>> {
  const res = await request(`${gw.adminUrl}/api/routes/${name}`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, unknown>;
}

/** Writes a new file next to `file` and renames it over, as many editors save. */
function saveByRename(file: string, text: string): void {
  const temp = join(file, '..', `.cutover.yaml.${process.pid}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, file);
}

async function withUpstreams(
  body: (legacy: Upstream, rewrite: Upstream) => Promise<void>,
): Promise<void> {
  const legacy = await startUpstream({ name: 'legacy' });
  const rewrite = await startUpstream({ name: 'rewrite' });
  try {
    await body(legacy, rewrite);
  } finally {
    await legacy.close();
    await rewrite.close();
  }
}

describe('reload: watching the file', () => {
  for (const [how, save] of [
    ['written in place', (file: string, text: string) => writeFileSync(file, text)],
    ['replaced by rename', saveByRename],
  ] as const) {
    test(`a weight change ${how} moves the traffic and counts an ok reload`, () =>
      withUpstreams(async (legacy, rewrite) => {
        const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }), {
          watch: true,
        });
        try {
          const before = await get(`${gw.url}/x`, { 'x-user-id': 'u-1' });
          assert.equal(before.side, 'legacy');
          assert.equal(before.upstream, 'legacy');
          const okBefore = await reloadCount(gw, 'ok');

          save(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight: 100 }));

          await eventually('requests served by the candidate', async () => {
            const a = await get(`${gw.url}/x`, { 'x-user-id': 'u-1' });
            return a.side === 'candidate';
          });
          const after = await get(`${gw.url}/x`, { 'x-user-id': 'u-2' });
          assert.equal(after.status, 200);
          assert.equal(after.upstream, 'rewrite');
          assert.ok((await reloadCount(gw, 'ok')) > okBefore, 'reloads{result="ok"} went up');
          assert.ok(
            gw.logs().some((l) => l.msg === 'config reloaded'),
            'the reload is logged',
          );

          // The watch outlives the save: a second one is picked up too.
          save(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }));
          await eventually('requests back on legacy', async () => {
            const a = await get(`${gw.url}/x`, { 'x-user-id': 'u-1' });
            return a.side === 'legacy';
          });
        } finally {
          await gw.close();
        }
      }));
  }

  test('saving the same content again is not a reload', () =>
    withUpstreams(async (legacy, rewrite) => {
      const text = twoBackendYaml(legacy.url, rewrite.url, { weight: 0 });
      const gw = await startGateway(text, { watch: true });
      try {
        const okBefore = await reloadCount(gw, 'ok');
        const unchanged = () =>
          gw.logs().filter((l) => l.msg === 'config unchanged; nothing reloaded').length;
        const unchangedBefore = unchanged();
        saveByRename(gw.file, text);
        // The watcher saw that save on its own, and said so, before the real change.
        await eventually('the same-content save looked at', () => unchanged() > unchangedBefore);
        saveByRename(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight: 100 }));
        await eventually('the changed file applied', async () => {
          return (await get(`${gw.url}/x`, { 'x-user-id': 'u-1' })).side === 'candidate';
        });
        assert.equal(await reloadCount(gw, 'ok'), okBefore + 1, 'one reload, for the change');
      } finally {
        await gw.close();
      }
    }));

  test('an invalid edit keeps the running config, counts a failed reload and logs where the error is', () =>
    withUpstreams(async (legacy, rewrite) => {
      const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }), {
        watch: true,
      });
      try {
        const failedBefore = await reloadCount(gw, 'failed');
        const okBefore = await reloadCount(gw, 'ok');
        // A weight of 100 next to a bad timeout: nothing of this file may be applied.
        const invalid = twoBackendYaml(legacy.url, rewrite.url, {
          weight: 100,
          route: '    timeout: soon',
        });
        const badLine = invalid.split('\n').findIndex((l) => l.includes('timeout: soon')) + 1;
        writeFileSync(gw.file, invalid);

        await eventually('a failed reload counted', async () => {
          return (await reloadCount(gw, 'failed')) > failedBefore;
        });
        assert.equal(await reloadCount(gw, 'ok'), okBefore, 'no ok reload');

        for (let i = 0; i < 20; i++) {
          const a = await get(`${gw.url}/x`, { 'x-user-id': `u-${i}` });
          assert.equal(a.status, 200);
          assert.equal(a.side, 'legacy', 'the weight of the rejected file was not applied');
        }

        const rejected = gw.logs().find((l) => String(l.msg).startsWith('config rejected'));
        assert.ok(rejected, 'a "config rejected" log line');
        assert.equal(rejected.level, 'error');
        const errors = rejected.errors as string[];
        assert.ok(Array.isArray(errors), 'the line lists the errors');
        assert.ok(
          errors.some(
            (e) => e.startsWith(`${gw.file}:${badLine}:`) && e.includes('routes[0].timeout'),
          ),
          `an error at ${gw.file}:${badLine} naming routes[0].timeout, got ${JSON.stringify(errors)}`,
        );

        // A corrected file is picked up again.
        writeFileSync(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight: 100 }));
        await eventually('the corrected file applied', async () => {
          return (await get(`${gw.url}/x`, { 'x-user-id': 'u-1' })).side === 'candidate';
        });
      } finally {
        await gw.close();
      }
    }));
});

describe('reload: on request', () => {
  test('reload() of an invalid file resolves false and changes nothing', () =>
    withUpstreams(async (legacy, rewrite) => {
      const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }));
      try {
        writeFileSync(gw.file, 'routes: [\n');
        assert.equal(await gw.running.reload(), false);
        assert.equal(await reloadCount(gw, 'failed'), 1);
        assert.equal((await get(`${gw.url}/x`, { 'x-user-id': 'u-1' })).side, 'legacy');
      } finally {
        await gw.close();
      }
    }));

  test('reloads under load, swapping backend pools, fail no request', async () => {
    const legacy = await startUpstream({ name: 'legacy', behavior: 'slow:20' });
    const rewriteA = await startUpstream({ name: 'rewrite-a', behavior: 'slow:20' });
    const rewriteB = await startUpstream({ name: 'rewrite-b', behavior: 'slow:20' });
    const gw = await startGateway(twoBackendYaml(legacy.url, rewriteA.url, { weight: 0 }));
    // Going from A to B at weight 100 drops A's pool while its requests are in flight.
    const configs = [
      twoBackendYaml(legacy.url, rewriteA.url, { weight: 100 }),
      twoBackendYaml(legacy.url, rewriteB.url, { weight: 100 }),
      twoBackendYaml(legacy.url, rewriteB.url, { weight: 0 }),
      twoBackendYaml(legacy.url, rewriteB.url, { weight: 100 }),
      twoBackendYaml(legacy.url, rewriteA.url, { weight: 100 }),
    ];
    const RELOADS = 10;
    const LOOPS = 20;
    const LOAD_MS = 3_000;
    try {
      const statuses = new Map<number, number>();
      const byUpstream = new Map<string, number>();
      const failures: string[] = [];
      let count = 0;
      const end = Date.now() + LOAD_MS;
      const loop = async (n: number): Promise<void> => {
        for (let i = 0; Date.now() < end; i++) {
          try {
            const a = await get(`${gw.url}/load`, { 'x-user-id': `load-${n}-${i}` });
            count++;
            statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
            byUpstream.set(String(a.upstream), (byUpstream.get(String(a.upstream)) ?? 0) + 1);
          } catch (error) {
            failures.push((error as Error).message);
          }
        }
      };
      const reloader = async (): Promise<boolean[]> => {
        const results: boolean[] = [];
        for (let i = 0; i < RELOADS; i++) {
          await sleep(LOAD_MS / (RELOADS + 2));
          writeFileSync(gw.file, configs[i % configs.length]);
          results.push(await gw.running.reload());
        }
        return results;
      };
      const [, applied] = await Promise.all([
        Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n))),
        reloader(),
      ]);

      assert.deepEqual(applied, Array(RELOADS).fill(true), 'every reload applied');
      assert.deepEqual(failures, [], 'no request failed');
      assert.deepEqual(
        [...statuses.keys()],
        [200],
        `statuses seen: ${JSON.stringify([...statuses])}`,
      );
      assert.ok(count > 100, `only ${count} requests`);
      for (const up of [legacy, rewriteA, rewriteB]) {
        assert.ok((byUpstream.get(up.name) ?? 0) > 0, `${up.name} served requests`);
        assert.equal(up.aborted, 0, `no request in flight to ${up.name} was cut`);
        assert.equal(
          up.requests.length,
          byUpstream.get(up.name),
          `every request ${up.name} received was answered to the client`,
        );
      }
      assert.equal(await reloadCount(gw, 'ok'), RELOADS);
      // The last config (A at 100) is the one in force.
      const last = await get(`${gw.url}/load`, { 'x-user-id': 'after' });
      assert.equal(last.upstream, 'rewrite-a');
    } finally {
      await gw.close();
      await legacy.close();
      await rewriteA.close();
      await rewriteB.close();
    }
  });

  test('requests in flight on a backend whose pool a reload drops still complete', async () => {
    const legacy = await startUpstream({ name: 'legacy' });
    const rewriteA = await startUpstream({ name: 'rewrite-a' });
    const rewriteB = await startUpstream({ name: 'rewrite-b' });
    // requestBuffer 0: the upload streams (a buffered one would reach no backend before its end).
    const top = 'server: { requestBuffer: 0 }';
    const gw = await startGateway(twoBackendYaml(legacy.url, rewriteA.url, { weight: 100, top }));
    try {
      // One answer held back by the upstream, one upload still streaming its body.
      const slow = get(`${gw.url}/slow`, { 'x-test-behavior': 'slow:300' });
      await rewriteA.nextRequest();
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      async function* body(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(1000, 1);
        await released;
        yield Buffer.alloc(1000, 2);
      }
      const upload = request(`${gw.url}/upload`, {
        method: 'POST',
        body: Readable.from(body()),
        headers: { 'x-test-behavior': 'echo' },
      });
      const uploadSeen = await rewriteA.nextRequest();

      writeFileSync(gw.file, twoBackendYaml(legacy.url, rewriteB.url, { weight: 100, top }));
      assert.equal(await gw.running.reload(), true);
      assert.equal((await get(`${gw.url}/new`)).upstream, 'rewrite-b', 'new requests use B');
      release();

      const slowAnswer = await slow;
      assert.equal(slowAnswer.status, 200);
      assert.equal(slowAnswer.upstream, 'rewrite-a');
      const uploadRes = await upload;
      assert.equal(uploadRes.statusCode, 200);
      const echoed = Buffer.from(await uploadRes.body.arrayBuffer());
      assert.deepEqual(echoed, Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(1000, 2)]));
      await uploadSeen.closed;
      assert.equal(uploadSeen.bodyBytes, 2000);
      assert.equal(rewriteA.aborted, 0);
    } finally {
      await gw.close();
      await legacy.close();
      await rewriteA.close();
      await rewriteB.close();
    }
  });

  test('a reload that removes a route: its path answers 404, the others still work', async () => {
    const up = await startUpstream({ name: 'legacy' });
    const yaml = (withB: boolean) => `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends: { legacy: { url: ${up.url} } }
routes:
  - { name: a, match: { path: /a/* }, legacy: legacy }
${withB ? '  - { name: b, match: { path: /b/* }, legacy: legacy }\n' : ''}`;
    const gw = await startGateway(yaml(true));
    try {
      assert.equal((await get(`${gw.url}/b/x`)).status, 200);
      writeFileSync(gw.file, yaml(false));
      assert.equal(await gw.running.reload(), true);

      const res = await request(`${gw.url}/b/x`);
      assert.equal(res.statusCode, 404);
      const body = (await res.body.json()) as Record<string, unknown>;
      assert.equal(body.code, 'CUTOVER_ERR_NO_ROUTE');
      assert.equal((await get(`${gw.url}/a/x`)).status, 200);

      const api = await request(`${gw.adminUrl}/api/routes/b`);
      assert.equal(api.statusCode, 404);
      await api.body.dump();
      const list = await request(`${gw.adminUrl}/api/routes`);
      const names = ((await list.body.json()) as { routes: { name: string }[] }).routes.map(
        (r) => r.name,
      );
      assert.deepEqual(names, ['a']);
    } finally {
      await gw.close();
      await up.close();
    }
  });

  test('a route removed and added back by reloads has the weight a restart would give it', () =>
    withUpstreams(async (legacy, rewrite) => {
      const dir = tempDir();
      const yaml = (withB: boolean) => `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${join(dir, 'state.db')}
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url} }
routes:
  - { name: a, match: { path: /a/* }, legacy: legacy }
${withB ? '  - { name: b, match: { path: /b/* }, legacy: legacy, candidate: rewrite, weight: 50 }\n' : ''}`;
      let gw = await startGateway(yaml(true), { dir });
      try {
        // An operator rolls route b back to 0 at run time.
        const put = await request(`${gw.adminUrl}/api/routes/b/weight`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ weight: 0 }),
        });
        assert.equal(put.statusCode, 200);
        await put.body.dump();

        writeFileSync(gw.file, yaml(false));
        assert.equal(await gw.running.reload(), true);
        writeFileSync(gw.file, yaml(true));
        assert.equal(await gw.running.reload(), true);
        const afterReload = await routeStatus(gw, 'b');

        await gw.close();
        gw = await startGateway(yaml(true), { dir });
        const afterRestart = await routeStatus(gw, 'b');
        assert.deepEqual(
          { weight: afterReload.weight, weightSource: afterReload.weightSource },
          { weight: afterRestart.weight, weightSource: afterRestart.weightSource },
          'the same file and the same state give the same weight, reloaded or restarted',
        );
      } finally {
        await gw.close();
      }
    }));

  test('a weight set through the admin API survives a reload of the file', () =>
    withUpstreams(async (legacy, rewrite) => {
      const gw = await startGateway(twoBackendYaml(legacy.url, rewrite.url, { weight: 0 }));
      try {
        const put = await request(`${gw.adminUrl}/api/routes/main/weight`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ weight: 100 }),
        });
        assert.equal(put.statusCode, 200);
        await put.body.dump();
        writeFileSync(gw.file, twoBackendYaml(legacy.url, rewrite.url, { weight: 10 }));
        assert.equal(await gw.running.reload(), true);
        for (let i = 0; i < 10; i++) {
          assert.equal((await get(`${gw.url}/x`, { 'x-user-id': `u-${i}` })).side, 'candidate');
        }
        const route = await request(`${gw.adminUrl}/api/routes/main`);
        const status = (await route.body.json()) as Record<string, unknown>;
        assert.equal(status.weight, 100);
        assert.equal(status.configWeight, 10);
        assert.equal(status.weightSource, 'runtime');
      } finally {
        await gw.close();
      }
    }));
});

test('a reload that removes a route’s shadow drops its mismatch-ratio series (and lets its results go)', () =>
  withUpstreams(async (legacy, rewrite) => {
    const shadowed = twoBackendYaml(legacy.url, rewrite.url, {
      route: '    shadow: { percent: 100 }',
    });
    const gw = await startGateway(shadowed);
    const ratioRoutes = async () =>
      [
        ...(await gw.running.metrics.render()).matchAll(
          /^cutover_shadow_mismatch_ratio\{route="([^"]+)"\}/gm,
        ),
      ].map((m) => m[1]);
    try {
      assert.deepEqual(await ratioRoutes(), ['main']);
      writeFileSync(gw.file, twoBackendYaml(legacy.url, rewrite.url));
      assert.equal(await gw.running.reload(), true);
      assert.deepEqual(await ratioRoutes(), []);
      writeFileSync(gw.file, shadowed);
      assert.equal(await gw.running.reload(), true);
      assert.deepEqual(await ratioRoutes(), ['main'], 'back with the shadow');
    } finally {
      await gw.close();
    }
  }));
