// Sums a CPU profile (--cpu-prof, .cpuprofile) or an allocation profile
// (bench/lib/alloc-probe.ts or --heap-prof, .heapprofile) by function: self and
// total (the function and what it calls), top N of each, optionally only frames
// whose "function file:line" matches a pattern (e.g. 'src/' for Cutover's own code).
//
//   node bench/profile-summary.ts cutover.cpuprofile [--top 30] [--match src/] [--per N]
//
// --per N divides every figure by N (say the requests served while profiling):
// µs or bytes per request.
import { readFileSync } from 'node:fs';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface HeapNode {
  callFrame: Frame;
  selfSize: number;
  children: HeapNode[];
}

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args.splice(at, 2)[1];
}
const top = Number(option('--top') ?? 30);
const match = option('--match');
const per = Number(option('--per') ?? 1);
const [file] = args;
if (!file)
  throw new Error(
    'usage: node bench/profile-summary.ts <profile> [--top N] [--match text] [--per N]',
  );
const profile = JSON.parse(readFileSync(file, 'utf8'));

const label = (f: Frame) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/|src\/)/, '$1')}:${f.lineNumber + 1}`;
const self = new Map<string, number>();
const total = new Map<string, number>();
/** Adds `amount` to the frame's self figure and once to every distinct frame on its stack. */
function charge(stack: readonly string[], amount: number): void {
  const leaf = stack.at(-1)!;
  self.set(leaf, (self.get(leaf) ?? 0) + amount);
  for (const key of new Set(stack)) total.set(key, (total.get(key) ?? 0) + amount);
}

let unit: string;
if (Array.isArray(profile.nodes)) {
  // CPU profile: samples[i] is a node id, timeDeltas[i] µs since the previous sample.
  unit = 'µs';
  const nodes = new Map<number, CpuNode>(profile.nodes.map((n: CpuNode) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes.values()) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<number, string[]>();
  const stackOf = (id: number): string[] => {
    let stack = stacks.get(id);
    if (!stack) {
      const up = parent.get(id);
      stack = [...(up === undefined ? [] : stackOf(up)), label(nodes.get(id)!.callFrame)];
      stacks.set(id, stack);
    }
    return stack;
  };
  const samples: number[] = profile.samples;
  for (let i = 0; i < samples.length; i++) charge(stackOf(samples[i]), profile.timeDeltas[i] ?? 0);
} else {
  unit = 'bytes';
  const walk = (node: HeapNode, stack: string[]): void => {
    const here = [...stack, label(node.callFrame)];
    if (node.selfSize > 0) charge(here, node.selfSize);
    for (const c of node.children) walk(c, here);
  };
  walk(profile.head, []);
}

function show(title: string, figures: Map<string, number>): void {
  process.stdout.write(`--- ${title} (${unit}${per === 1 ? '' : ` per ${per}`})\n`);
  const rows = [...figures]
    .filter(([key]) => !match || key.includes(match))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [key, value] of rows) {
    process.stdout.write(`${(value / per).toFixed(per === 1 ? 0 : 2).padStart(12)}  ${key}\n`);
  }
}
show('self', self);
show('total', total);
