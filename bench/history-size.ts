// How much room the report's minute history takes (issue 13, docs/report.md
// "History"): DAYS days of ROUTES routes × 2 sides on one instance, each
// minute with REQUESTS requests of a long-tailed latency mix, written through
// a MinuteHistory into a fresh SQLite state file and into Redis when
// REDIS_URL is set (its `MEMORY USAGE` of the keys). Prints bytes per row.
// DAYS=1 ROUTES=2 REQUESTS=1000 node bench/history-size.ts
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LocalFleet, RedisFleet } from '../src/state/index.ts';
import { MINUTE_MS, MinuteHistory } from '../src/telemetry/index.ts';

const DAYS = Number(process.env.DAYS ?? 1);
const ROUTES = Number(process.env.ROUTES ?? 2);
const REQUESTS = Number(process.env.REQUESTS ?? 1000);

const dir = mkdtempSync(join(tmpdir(), 'cutover-history-size-'));
const file = join(dir, 'state.db');
const store = new LocalFleet(file, { checkpointMs: 0 });
const empty = statSync(file).size;
const minutes = DAYS * 1440;
const start = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - minutes * MINUTE_MS;
let payload = 0;
const history = new MinuteHistory({ clock: () => Date.now() });
history.start({ sink: store, instance: 'host-12345-abcdef', retainMs: (DAYS + 1) * 86_400_000 });
for (let m = 0; m < minutes; m++) {
  const t = start + m * MINUTE_MS;
  for (let r = 0; r < ROUTES; r++)
    for (const side of ['legacy', 'candidate']) {
      const s = history.side(`route-${r}`, side);
      for (let i = 0; i < REQUESTS; i++) {
        const u = (((m * REQUESTS + i) * 2654435761) >>> 0) / 4294967296;
        const ms = (side === 'legacy' ? 4 : 1) * (u < 0.95 ? 5 + u * 20 : 100 + (u - 0.95) * 4000);
        s.record(i % 100 === 0 ? 500 : 200, ms, i % 100 === 0, t);
      }
    }
  if (m % 60 === 59 || m === minutes - 1) await history.flush(true);
}
await history.stop();
const rows = await store.readHistory(0, Date.now());
for (const r of rows) payload += Buffer.byteLength(r.payload);
await store.close();
const { size } = statSync(file);
const wal = (() => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
})();
console.log(
  `${rows.length} rows (${DAYS} d × ${ROUTES} routes × 2 sides, ${REQUESTS} requests a minute each): ` +
    `payload ${(payload / rows.length).toFixed(0)} B/row, SQLite file ${((size - empty) / rows.length).toFixed(0)} B/row ` +
    `(${((size - empty) / 1024 / 1024).toFixed(1)} MiB; WAL left ${wal} B)`,
);
rmSync(dir, { recursive: true, force: true });

// The same rows in Redis (prefix `size`, emptied first): MEMORY USAGE of every history key.
const url = process.env.REDIS_URL;
if (url !== undefined) {
  const fleet = new RedisFleet({ url, prefix: 'size', commandTimeout: 10_000 });
  const redis = new Redis(url);
  const index = '{size:history}:index';
  const old = await redis.zrange(index, '0', '-1');
  if (old.length > 0) await redis.del(...old.map((m) => `{size:history}:${m}`), index);
  for (let i = 0; i < rows.length; i += 500)
    await fleet.writeHistory(rows.slice(i, i + 500), (DAYS + 1) * 86_400_000);
  let bytes = Number(await redis.call('MEMORY', 'USAGE', index));
  for (const m of await redis.zrange(index, '0', '-1'))
    bytes += Number(await redis.call('MEMORY', 'USAGE', `{size:history}:${m}`));
  console.log(
    `Redis: ${(bytes / rows.length).toFixed(0)} B/row (${(bytes / 1024 / 1024).toFixed(1)} MiB, MEMORY USAGE of the hashes and the index)`,
  );
  await fleet.close();
  redis.disconnect();
}
