// The dashboard's reads (issue 14) on a real gateway with many routes: the
// time and size of GET /api/overview, and what one open event stream
// receives a second (one `point` per route, an `overview` when it changed),
// with CPU time of the process over a few idle-traffic seconds with and
// without a stream open. ROUTES=1000 SECONDS=5 node bench/dashboard-api.ts
import http from 'node:http';
import { request } from 'undici';
import { startGateway } from '../test/helpers/gateway.ts';
import { startUpstream } from '../test/helpers/upstream.ts';

const ROUTES = Number(process.env.ROUTES ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 5);

const upstream = await startUpstream({ name: 'legacy' });
const routes = Array.from(
  { length: ROUTES },
  (_, i) =>
    `  - { name: r${i}, match: { path: /r${i}/* }, legacy: legacy, candidate: rewrite, weight: 10 }`,
).join('\n');
const gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
log: { access: false }
backends:
  legacy: { url: ${upstream.url} }
  rewrite: { url: ${upstream.url} }
routes:
${routes}
`);
// Traffic on every route once, so every side has its ring.
for (let i = 0; i < ROUTES; i++) await (await request(`${gw.url}/r${i}/x`)).body.dump();

const times: number[] = [];
let size = 0;
for (let i = 0; i < 20; i++) {
  const start = process.hrtime.bigint();
  const res = await request(`${gw.adminUrl}/api/overview`);
  size = (await res.body.text()).length;
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
times.sort((a, b) => a - b);
console.log(
  `routes=${ROUTES} GET /api/overview: median ${times[10].toFixed(1)} ms, ${(size / 1024).toFixed(0)} KiB`,
);

const cpu = async (withStream: boolean): Promise<{ cpuMs: number; bytes: number }> => {
  let bytes = 0;
  let req: http.ClientRequest | undefined;
  if (withStream) {
    await new Promise<void>((resolve) => {
      req = http.get(`${gw.adminUrl}/api/events`, (res) => {
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        resolve();
      });
    });
  }
  const before = process.cpuUsage();
  const b0 = bytes;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const used = process.cpuUsage(before);
  const got = bytes - b0;
  req?.destroy();
  return { cpuMs: (used.user + used.system) / 1000 / SECONDS, bytes: got / SECONDS };
};
const idle = await cpu(false);
const streaming = await cpu(true);
console.log(
  `routes=${ROUTES} process CPU per second: ${idle.cpuMs.toFixed(1)} ms without a stream (the sampler alone), ${streaming.cpuMs.toFixed(1)} ms with one stream (receiving ${(streaming.bytes / 1024).toFixed(0)} KiB/s in this same process)`,
);
await gw.close();
await upstream.close();
