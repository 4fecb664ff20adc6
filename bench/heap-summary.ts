// Sums a V8 heap snapshot's self sizes by constructor (node type + name), or the
// difference between two snapshots: what N more routes hold, class by class.
//
//   node bench/heap-summary.ts big.heapsnapshot [small.heapsnapshot] [--top 30]
//
// Snapshots come from bench/route-memory.ts with BENCH_HEAP_SNAPSHOT=<dir>.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Row {
  count: number;
  bytes: number;
}

function summarize(file: string): Map<string, Row> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, Row>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]];
    const name = snap.strings[snap.nodes[i + nameAt]];
    // Strings and code are grouped by type only: their names are their contents.
    const key = type === 'object' || type === 'native' ? `${type} ${name}` : type;
    const row = out.get(key) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += snap.nodes[i + sizeAt];
    out.set(key, row);
  }
  return out;
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt === -1 ? 30 : Number(args.splice(topAt, 2)[1]);
const [bigFile, smallFile] = args;
if (!bigFile)
  throw new Error('usage: node bench/heap-summary.ts big.heapsnapshot [small.heapsnapshot]');
const big = summarize(bigFile);
const small = smallFile ? summarize(smallFile) : new Map<string, Row>();
const rows = [...big.keys(), ...[...small.keys()].filter((k) => !big.has(k))].map((key) => {
  const a = big.get(key) ?? { count: 0, bytes: 0 };
  const b = small.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: a.count - b.count, bytes: a.bytes - b.bytes };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((s, r) => s + r.bytes, 0);
process.stdout.write(`total ${(total / 2 ** 20).toFixed(2)} MiB\n`);
for (const r of rows.slice(0, top)) {
  process.stdout.write(
    `${(r.bytes / 1024).toFixed(0).padStart(10)} KiB ${String(r.count).padStart(9)}  ${r.key}\n`,
  );
}
