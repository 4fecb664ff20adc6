// `cutover demo`'s gRPC route: unary demo.v1.Stock calls reach the gateway on
// its one port (h2c beside HTTP/1.1), split and overridden by metadata like
// the HTTP routes, a broken rewrite answers UNAVAILABLE, and the banner's
// example command (examples/grpc-call.ts) works as printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { demoBanner, type RunningDemo, startDemo } from '../../src/cli/demo.ts';
import { checkStock, type StockReply, stockClient } from '../../src/cli/demo-grpc.ts';
import { createLogger } from '../../src/telemetry/index.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('cutover demo: the gRPC route', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-demo-grpc-'));
  let demo: RunningDemo;
  let client: grpc.Client;
  let address: string;

  before(async () => {
    demo = await startDemo({
      port: 0,
      adminPort: 0,
      legacyPort: 0,
      rewritePort: 0,
      grpcLegacyPort: 0,
      grpcRewritePort: 0,
      env: { DEMO_STATE: `sqlite:${join(dir, 'demo.db')}` },
      trafficRps: 0,
      logger: createLogger({ level: 'silent' }),
    });
    address = new URL(demo.cutover.gatewayUrl).host;
    client = stockClient(address);
  });

  after(async () => {
    client.close();
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a unary call goes through the gateway; the override picks the side', async () => {
    const rewrite = await checkStock(client, 'SKU-1042', { 'x-release-stage': 'canary' });
    const legacy = await checkStock(client, 'SKU-1042', { 'x-release-stage': 'stable' });
    assert.equal(rewrite.servedBy, 'rewrite-go');
    assert.equal(legacy.servedBy, 'legacy-java');
    // The same stock on both sides: only who served it differs.
    const { servedBy: _r, ...r } = rewrite;
    const { servedBy: _l, ...l } = legacy;
    assert.deepEqual(r, l);
    assert.equal(r.sku, 'SKU-1042');
  });

  test('a user is sticky by its x-user-id metadata', async () => {
    for (const user of ['1', '2', '3', '4', '5']) {
      const sides = new Set<string>();
      for (let i = 0; i < 3; i++) {
        sides.add((await checkStock(client, 'SKU-1', { 'x-user-id': user })).servedBy);
      }
      assert.equal(sides.size, 1, `user ${user} saw ${[...sides].join(', ')}`);
    }
  });

  test('a broken rewrite answers UNAVAILABLE until healed', async () => {
    const breakIt = await fetch(`${demo.rewriteUrl}/__demo/break`, { method: 'POST' });
    assert.equal(breakIt.status, 200);
    try {
      await assert.rejects(
        checkStock(client, 'SKU-7', { 'x-release-stage': 'canary' }),
        (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE,
      );
      assert.equal(
        (await checkStock(client, 'SKU-7', { 'x-release-stage': 'stable' })).servedBy,
        'legacy-java',
      );
    } finally {
      assert.equal((await fetch(`${demo.rewriteUrl}/__demo/heal`, { method: 'POST' })).status, 200);
    }
    assert.equal(
      (await checkStock(client, 'SKU-7', { 'x-release-stage': 'canary' })).servedBy,
      'rewrite-go',
    );
  });

  test('the banner shows how to call it, and that command works', async () => {
    const banner = demoBanner(demo);
    assert.ok(banner.includes(`node examples/grpc-call.ts ${address} SKU-1042 42 canary`), banner);
    assert.match(banner, /stock\s+gRPC/);
    const { stdout } = await run(
      process.execPath,
      ['examples/grpc-call.ts', address, 'SKU-1042', '42', 'canary'],
      { cwd: ROOT },
    );
    const reply = JSON.parse(stdout) as StockReply;
    assert.deepEqual([reply.sku, reply.servedBy], ['SKU-1042', 'rewrite-go']);
  });
});
