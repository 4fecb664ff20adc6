// One latency mix for the micro benches, fixed so every run sees the same:
// 92% 2–22 ms, 8% 250 ms–1.85 s (a long tail), 4,096 values that repeat.
/** Milliseconds; index it with `i & 4095` (a hot loop reads the array itself, no call). */
export const LATENCY_MIX_MS = new Float64Array(4096);
for (let i = 0; i < LATENCY_MIX_MS.length; i++) {
  const u = ((i * 2654435761) >>> 0) / 4294967296;
  LATENCY_MIX_MS[i] = u < 0.92 ? 2 + u * 20 : 250 + (u - 0.92) * 20_000;
}

/** The `i`-th latency of the mix, in ms. */
export const latencyMs = (i: number): number => LATENCY_MIX_MS[i & 4095];
