// The two "was it worth it" figures of the report. Both return undefined
// rather than Infinity or NaN when a denominator is zero or an input is not
// a finite non-negative number: the report prints "n/a", never a made-up number.

function measured(x: number): boolean {
  return Number.isFinite(x) && x >= 0;
}

/**
 * (old − new) / old as a fraction: 0.25 means the new P99 is 25% lower;
 * negative means it got worse.
 */
export function p99DropRate(oldP99: number, newP99: number): number | undefined {
  if (!measured(oldP99) || !measured(newP99) || oldP99 === 0) return undefined;
  return (oldP99 - newP99) / oldP99;
}

export interface Throughput {
  /** Requests per second served by the whole fleet. */
  readonly tps: number;
  readonly instances: number;
}

/** (newTPS / newInstances) ÷ (oldTPS / oldInstances): 2 means each new instance serves twice as much. */
export function throughputPerInstanceRatio(
  oldFleet: Throughput,
  newFleet: Throughput,
): number | undefined {
  const inputs = [oldFleet.tps, oldFleet.instances, newFleet.tps, newFleet.instances];
  if (
    !inputs.every(measured) ||
    oldFleet.instances === 0 ||
    newFleet.instances === 0 ||
    oldFleet.tps === 0
  ) {
    return undefined;
  }
  return newFleet.tps / newFleet.instances / (oldFleet.tps / oldFleet.instances);
}
