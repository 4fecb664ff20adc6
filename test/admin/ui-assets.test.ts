// The dashboard's files as the admin listener serves them: the headers that
// keep the page safe (CSP without unsafe-inline, nosniff), the cache rules
// (index.html never cached, hashed assets for a year), gzip, and an
// index.html whose every script and stylesheet is a served file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { UI_CSP } from '../../src/admin/ui-assets.ts';
import { startGateway, type TestGateway, twoBackendYaml } from '../helpers/gateway.ts';

describe('dashboard files on the admin listener', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(
      twoBackendYaml('http://127.0.0.1:1', 'http://127.0.0.1:2').replace(
        'admin: { listen: 127.0.0.1:0 }',
        'admin: { listen: 127.0.0.1:0, token: s3cret }',
      ),
    );
  });
  after(() => gw.close());

  test('/ and /ui redirect to /ui/, which needs no token (the page signs in itself)', async () => {
    for (const path of ['/', '/ui']) {
      const res = await request(`${gw.adminUrl}${path}`);
      await res.body.dump();
      assert.equal(res.statusCode, 302, path);
      assert.equal(res.headers.location, '/ui/');
    }
    const api = await request(`${gw.adminUrl}/api/routes`);
    await api.body.dump();
    assert.equal(api.statusCode, 401, 'the API still needs the token');
  });

  test('index.html: never cached, CSP without unsafe-inline, no inline script or style', async () => {
    const res = await request(`${gw.adminUrl}/ui/`);
    const html = await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['content-security-policy'], UI_CSP);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(UI_CSP, /unsafe-inline|unsafe-eval|https?:/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
    assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
  });

  test('every file index.html names is served with a hashed name, immutable, gzipped on request', async () => {
    const html = await (await request(`${gw.adminUrl}/ui/`)).body.text();
    const paths = [...html.matchAll(/(?:href|src)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(
      paths.some((p) => /\/app\.[0-9a-f]{8}\.js$/.test(p)),
      html,
    );
    assert.ok(
      paths.some((p) => /\/uplot\.[0-9a-f]{8}\.css$/.test(p)),
      html,
    );
    for (const path of paths) {
      assert.match(path, /\.[0-9a-f]{8}\.(js|css|svg)$/);
      const res = await request(`${gw.adminUrl}${path}`, {
        headers: { 'accept-encoding': 'gzip' },
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      assert.equal(res.statusCode, 200, path);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.equal(res.headers['content-security-policy'], UI_CSP);
      const text = gunzipSync(body).toString('utf8');
      if (path.endsWith('.js')) {
        // Imports point at hashed files: no bare specifier and no .ts is left for the browser.
        for (const m of text.matchAll(/\bfrom\s*["']([^"']+)["']/g)) {
          assert.match(m[1], /^\/ui\/assets\/[\w-]+\.[0-9a-f]{8}\.js$/, `${path} imports ${m[1]}`);
        }
        assert.doesNotMatch(text, /sourceMappingURL/);
      }
    }
  });

  test('an unknown asset is a 404, a write to /ui a 405', async () => {
    const missing = await request(`${gw.adminUrl}/ui/assets/app.00000000.js`);
    await missing.body.dump();
    assert.equal(missing.statusCode, 404);
    const post = await request(`${gw.adminUrl}/ui/`, { method: 'POST' });
    await post.body.dump();
    assert.equal(post.statusCode, 405);
  });
});

test('building the files prints nothing to stderr (no ExperimentalWarning outside the JSON log)', () => {
  const url = new URL('../../src/admin/ui-build.ts', import.meta.url).href;
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(url)}); console.log(m.buildUi().assets.size);`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  assert.ok(Number(child.stdout) > 10, child.stdout);
  assert.equal(child.stderr, '');
});
