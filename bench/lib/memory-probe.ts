// Loaded into a Cutover process with `--expose-gc --import bench/lib/memory-probe.ts`:
// on SIGUSR2 it runs a full GC and appends one JSON line (RSS, heap used and total,
// external, array buffers, in bytes) to the file named by BENCH_MEMORY_OUT, so the
// benchmark reads the heap after GC of a process it did not write. With
// BENCH_HEAP_SNAPSHOT=<dir> it also writes a heap snapshot there (see bench/heap-summary.ts).
import { appendFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const out = process.env.BENCH_MEMORY_OUT;
const gc = (globalThis as { gc?: () => void }).gc;
if (out && gc) {
  process.on('SIGUSR2', () => {
    gc();
    gc();
    const m = process.memoryUsage();
    const dir = process.env.BENCH_HEAP_SNAPSHOT;
    if (dir) writeHeapSnapshot(`${dir}/cutover-${process.pid}-${Date.now()}.heapsnapshot`);
    appendFileSync(
      out,
      `${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
    );
  });
}
