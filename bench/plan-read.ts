// Writes a Zipkin v2 export of SPANS spans (1,000,000 by default) to a temp
// file, reads it back with readSpans and prints one JSON line: spans read,
// file size, read time and how far the RSS grew while reading (the reader
// must stay bounded however large the file is).
// Run: flock /tmp/bench.lock npm exec -- node bench/plan-read.ts
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpans } from '../src/plan/index.ts';

const SPANS = Number(process.env.SPANS ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'cutover-plan-bench-'));
const file = join(dir, 'zipkin.json');

const SERVICES = ['gateway', 'orders', 'payments'];
const out = createWriteStream(file);
out.write('[');
for (let i = 0; i < SPANS; i++) {
  const trace = (Math.floor(i / 4) + 1).toString(16).padStart(32, '0');
  const span = {
    traceId: trace,
    id: (i + 1).toString(16).padStart(16, '0'),
    ...(i % 4 === 0 ? {} : { parentId: (i - (i % 4) + 1).toString(16).padStart(16, '0') }),
    kind: i % 4 === 0 ? 'SERVER' : 'CLIENT',
    name: 'GET /orders',
    timestamp: 1_700_000_000_000_000 + i,
    duration: 1000,
    localEndpoint: { serviceName: SERVICES[i % 3] },
    tags: { 'http.method': 'GET', 'db.system': 'postgresql' },
  };
  const text = `${i === 0 ? '' : ','}${JSON.stringify(span)}\n`;
  if (!out.write(text)) await once(out, 'drain');
}
out.end(']');
await once(out, 'finish');

const bytes = statSync(file).size;
const rssBefore = process.memoryUsage.rss();
let rssPeak = rssBefore;
let seen = 0;
const summary = await readSpans([file], {
  onSpan: () => {
    seen++;
    if ((seen & 0x3fff) === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  },
});
rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    spans: summary.spans,
    bytes,
    elapsedMs: Math.round(summary.elapsedMs),
    rssGrowthMB: Math.round((rssPeak - rssBefore) / 1e6),
  }),
);
