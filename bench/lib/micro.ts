// The harness the micro benches share: each case in its own process (call
// sites stay monomorphic, as in the gateway), a JIT warm-up, ROUNDS timed
// runs, best and median per operation, and the garbage collections seen
// while timing (none: the code under test allocates nothing).
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';

/**
 * In the parent (no CASE in the environment): prints `banner`, runs `file`
 * once per case with CASE set, and exits. In a child: answers its case.
 */
export function caseToRun(file: string, cases: readonly string[], banner: string): string {
  const name = process.env.CASE;
  if (name !== undefined) {
    if (!cases.includes(name)) throw new Error(`unknown CASE ${name}; one of ${cases.join(', ')}`);
    return name;
  }
  console.log(banner);
  for (const c of cases) {
    execFileSync(process.execPath, [file], { env: { ...process.env, CASE: c }, stdio: 'inherit' });
  }
  process.exit(0);
}

let gcs = 0;
let observer: PerformanceObserver | undefined;

/** GC entries are delivered asynchronously: give the observer a turn before reading. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface TimeOptions {
  readonly label: string;
  /** Operations one call of the loop makes. */
  readonly ops: number;
  readonly rounds: number;
  /** Per operation in ns (the default) or µs. */
  readonly unit?: 'ns' | 'µs';
  /** The label's column width. */
  readonly width?: number;
}

/**
 * Runs `loop` once to warm up, then `rounds` times timed, and prints best and
 * median per operation with the GCs seen. `loop` returns a number the
 * harness keeps (so the JIT cannot drop the work).
 */
export async function timeRounds(options: TimeOptions, loop: () => number): Promise<void> {
  const { label, ops, rounds, unit = 'ns', width = 46 } = options;
  if (!observer) {
    observer = new PerformanceObserver((list) => {
      gcs += list.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  let sink = loop();
  await settle();
  const perOp: number[] = [];
  let collections = 0;
  for (let round = 0; round < rounds; round++) {
    gcs = 0;
    const start = process.hrtime.bigint();
    sink += loop();
    const ns = Number(process.hrtime.bigint() - start) / ops;
    perOp.push(unit === 'ns' ? ns : ns / 1000);
    await settle();
    collections += gcs;
  }
  perOp.sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(unit === 'ns' ? 1 : 2).padStart(7);
  console.log(
    `${label.padEnd(width)} best ${f(perOp[0])} ${unit}/op   median ${f(perOp[Math.floor(perOp.length / 2)])} ${unit}/op   GCs ${collections}${Number.isNaN(sink) ? '!' : ''}`,
  );
}

/** Stops counting GCs (the case is done; lets the process exit). */
export function doneTiming(): void {
  observer?.disconnect();
}
