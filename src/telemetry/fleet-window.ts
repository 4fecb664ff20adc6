// One route × side over the whole fleet: every instance's published seconds,
// merged (histograms add) when a gate reads them, through the same two calls
// a SlidingWindow answers (`snapshot(sinceMs)`, `countAbove(ms)`), so the
// rollout's gates read the fleet exactly as they read one process.
//
// The seconds of the instance running this view may also be read live from
// its own SlidingWindow: the current second (not published yet) and any
// second whose publication has not come back from the store. For a second
// the live window holds, the live one is used and this instance's stored copy
// is skipped; for older ones the stored copy is used. Never both.
import { SlotMerge, type WindowSlot, type WindowSnapshot } from './window-merge.ts';
import type { SlidingWindow } from './windows.ts';

export interface FleetWindowOptions {
  /** Whole seconds kept before the current one, as SlidingWindow's; older seconds are dropped. */
  retainSeconds: number;
  /** Epoch ms; Date.now by default. Pass the clock the live window records with (request-stats.ts `statsNow`). */
  clock?: () => number;
  /** The id this instance publishes under: its stored seconds give way to the live window's. */
  localInstance?: string;
}

const defaultClock = (): number => Date.now();

export class FleetWindow {
  readonly #retainSeconds: number;
  readonly #clock: () => number;
  readonly #localInstance: string | undefined;
  /** Epoch second → instance → its slot of that second. */
  readonly #seconds = new Map<number, Map<string, WindowSlot>>();
  #live: SlidingWindow | undefined = undefined;
  #merge: SlotMerge | null = null;

  constructor(options: FleetWindowOptions) {
    const { retainSeconds, clock = defaultClock, localInstance } = options;
    if (!Number.isInteger(retainSeconds) || retainSeconds < 1) {
      throw new RangeError(`retainSeconds must be a positive integer, got ${retainSeconds}`);
    }
    this.#retainSeconds = retainSeconds;
    this.#clock = clock;
    this.#localInstance = localInstance;
  }

  get retainSeconds(): number {
    return this.#retainSeconds;
  }

  /** One instance's slot for an epoch second; a second added again for the same instance replaces the first. */
  add(instance: string, second: number, slot: WindowSlot): void {
    let instances = this.#seconds.get(second);
    if (instances === undefined) {
      instances = new Map();
      this.#seconds.set(second, instances);
    }
    instances.set(instance, slot);
  }

  /** This instance's own window, read live (see the file's head); undefined to stop. */
  setLive(window: SlidingWindow | undefined): void {
    this.#live = window;
  }

  /** Drops every second of `instance` (it went silent: it leaves every figure). */
  forget(instance: string): void {
    for (const [second, instances] of this.#seconds) {
      instances.delete(instance);
      if (instances.size === 0) this.#seconds.delete(second);
    }
  }

  /** Seconds held from any instance, oldest first (for tests and the status page). */
  heldSeconds(): number[] {
    return [...this.#seconds.keys()].sort((a, b) => a - b);
  }

  /**
   * Merges every instance's seconds >= floor(sinceMs / 1000), up to now and
   * no older than retainSeconds, as SlidingWindow.snapshot does for one.
   * Seconds after now (an instance whose clock runs ahead by more than the
   * publication delay) wait until the clock reaches them.
   */
  snapshot(sinceMs: number): WindowSnapshot {
    const now = this.#clock();
    const nowSecond = Math.floor(now / 1000);
    const oldest = nowSecond - this.#retainSeconds;
    this.#dropBefore(oldest);
    const from = Math.max(Math.floor(sinceMs / 1000), oldest);
    this.#merge ??= new SlotMerge();
    const merge = this.#merge;
    merge.reset();
    const live = this.#live;
    const local = this.#localInstance;
    for (let second = from; second <= nowSecond; second++) {
      const heldLive = live?.mergeSecond(merge, second) === true;
      const instances = this.#seconds.get(second);
      if (instances === undefined) continue;
      for (const [instance, slot] of instances) {
        if (heldLive && instance === local) continue;
        merge.addSlot(second, slot);
      }
    }
    return merge.snapshot(now);
  }

  /** Requests of the last snapshot()'s span slower than `ms`, as SlidingWindow.countAbove. */
  countAbove(ms: number): number {
    return this.#merge ? this.#merge.countAbove(ms) : 0;
  }

  #dropBefore(second: number): void {
    for (const held of this.#seconds.keys()) if (held < second) this.#seconds.delete(held);
  }
}
