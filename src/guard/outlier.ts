// Passive outlier ejection, after Envoy's: an instance that answers with
// `consecutiveErrors` 5xx or connect errors in a row is taken out of the
// balancer for ejectFor × (times ejected before + 1), at most maxEjectFor. It
// comes back by itself; every ejectFor it then stays in, its multiplier drops
// by one (Envoy decrements it each interval a host is not ejected).
//
// How many may be out at once: floor(instances × maxEjectedPercent / 100),
// but at least one when maxEjectedPercent > 0 (as Envoy, which ejects one host
// whatever the percentage), and never all of them: one instance always stays
// in, so a single-instance backend is never ejected. When every instance is
// failing, sending the traffic somewhere is better than answering 503 from
// the gateway, and the breaker is the guard for a backend that fails as a whole.
import type { OutlierConfig } from '../config/index.ts';

export interface OutlierOptions {
  /** Clock in ms; Date.now by default (read at each call, so fake timers work). */
  readonly now?: () => number;
  /** `consecutive`: the errors in a row that caused it; `ejections`: this one included. */
  readonly onEject?: (
    index: number,
    untilMs: number,
    consecutive: number,
    ejections: number,
  ) => void;
  readonly onReturn?: (index: number) => void;
}

export interface OutlierInstanceSnapshot {
  readonly index: number;
  readonly ejected: boolean;
  /** When an ejected instance comes back, else null. */
  readonly ejectedUntil: number | null;
  readonly consecutiveErrors: number;
  /** The multiplier of the next ejection's length, less one. */
  readonly ejections: number;
}

export interface OutlierSnapshot {
  readonly ejected: number;
  readonly maxEjected: number;
  readonly instances: readonly OutlierInstanceSnapshot[];
}

const defaultNow = (): number => Date.now();

/** How many of `instances` may be ejected at once (see the file comment). */
export function maxEjectedOf(instances: number, maxEjectedPercent: number): number {
  if (instances < 2 || maxEjectedPercent <= 0) return 0;
  const share = Math.floor((instances * maxEjectedPercent) / 100);
  return Math.min(instances - 1, Math.max(1, share));
}

export class OutlierDetector {
  readonly #config: OutlierConfig;
  readonly #count: number;
  readonly #maxEjected: number;
  readonly #now: () => number;
  readonly #onEject: OutlierOptions['onEject'];
  readonly #onReturn: OutlierOptions['onReturn'];
  readonly #consecutive: Uint32Array;
  /** Ejections not yet forgiven: the next one lasts ejectFor × (this + 1). */
  readonly #ejections: Uint32Array;
  /** When an ejected instance comes back; 0 when it is in. */
  readonly #until: Float64Array;
  /** Since when an instance's multiplier has been decaying (it came back, or last decayed). */
  readonly #decayFrom: Float64Array;
  #ejected = 0;

  constructor(config: OutlierConfig, instanceCount: number, options: OutlierOptions = {}) {
    this.#config = config;
    this.#count = instanceCount;
    this.#maxEjected = maxEjectedOf(instanceCount, config.maxEjectedPercent);
    this.#now = options.now ?? defaultNow;
    this.#onEject = options.onEject;
    this.#onReturn = options.onReturn;
    this.#consecutive = new Uint32Array(instanceCount);
    this.#ejections = new Uint32Array(instanceCount);
    this.#until = new Float64Array(instanceCount);
    this.#decayFrom = new Float64Array(instanceCount);
  }

  /** Instances ejected now (those whose time is up but were not yet noticed included). */
  get ejectedCount(): number {
    return this.#ejected;
  }

  /** The outcome of a request to instance `index`: ok false for 5xx and connect errors only. */
  record(index: number, ok: boolean): void {
    // Requests that were in flight when it was ejected tell nothing new.
    if (this.#until[index] !== 0 && this.isEjected(index)) return;
    if (ok) {
      this.#consecutive[index] = 0;
      return;
    }
    const consecutive = ++this.#consecutive[index];
    // Errors past the threshold keep counting, so an instance refused for
    // the cap is ejected on its next error once there is room.
    if (consecutive >= this.#config.consecutiveErrors) this.#eject(index, consecutive);
  }

  /** Is instance `index` out of the balancer now? It comes back by itself when its time is up. */
  isEjected(index: number): boolean {
    const until = this.#until[index];
    if (until === 0) return false;
    if (this.#now() < until) return true;
    this.#return(index, until);
    return false;
  }

  snapshot(): OutlierSnapshot {
    const now = this.#now();
    this.#returnDue(now);
    const instances: OutlierInstanceSnapshot[] = [];
    for (let i = 0; i < this.#count; i++) {
      this.#decay(i, now);
      const until = this.#until[i];
      instances.push({
        index: i,
        ejected: until !== 0,
        ejectedUntil: until === 0 ? null : until,
        consecutiveErrors: this.#consecutive[i],
        ejections: this.#ejections[i],
      });
    }
    return { ejected: this.#ejected, maxEjected: this.#maxEjected, instances };
  }

  #eject(index: number, consecutive: number): void {
    const now = this.#now();
    this.#returnDue(now);
    if (this.#ejected >= this.#maxEjected) return;
    this.#decay(index, now);
    const c = this.#config;
    const ejections = ++this.#ejections[index];
    const until = now + Math.min(c.ejectFor * ejections, c.maxEjectFor);
    this.#until[index] = until;
    this.#consecutive[index] = 0;
    this.#ejected++;
    this.#onEject?.(index, until, consecutive, ejections);
  }

  #returnDue(now: number): void {
    if (this.#ejected === 0) return;
    const until = this.#until;
    for (let i = 0; i < this.#count; i++)
      if (until[i] !== 0 && until[i] <= now) this.#return(i, until[i]);
  }

  #return(index: number, until: number): void {
    this.#until[index] = 0;
    this.#consecutive[index] = 0;
    this.#decayFrom[index] = until;
    this.#ejected--;
    this.#onReturn?.(index);
  }

  /** Forgive one ejection per ejectFor the instance has been back. */
  #decay(index: number, now: number): void {
    const ejections = this.#ejections[index];
    if (ejections === 0 || this.#until[index] !== 0) return;
    const ejectFor = this.#config.ejectFor;
    const periods =
      ejectFor > 0 ? Math.floor((now - this.#decayFrom[index]) / ejectFor) : ejections;
    if (periods <= 0) return;
    const forgiven = Math.min(periods, ejections);
    this.#ejections[index] = ejections - forgiven;
    this.#decayFrom[index] += forgiven * ejectFor;
  }
}
