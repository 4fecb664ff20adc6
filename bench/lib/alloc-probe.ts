// Loaded into a Cutover process with `--import bench/lib/alloc-probe.ts`: the first
// SIGUSR2 starts V8's sampling heap profiler counting objects the GC has already
// collected too (what a request allocates, not what it keeps), the second stops it
// and writes the profile (.heapprofile, as --heap-prof writes) to BENCH_ALLOC_OUT.
// `node bench/profile-summary.ts <file>` sums it by function.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const out = process.env.BENCH_ALLOC_OUT;
if (out) {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', async () => {
    if (!sampling) {
      sampling = true;
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    sampling = false;
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(out, JSON.stringify(profile));
  });
}
