// The report's minute history, recorded (issue 13, "History that outlives
// the process"): per route × side, one aggregate of the current minute —
// requests by status class (the class the gates count, outcome.ts) and a
// latency histogram in the windows' units — and per route the shadow pairs
// of the minute; flushed to the state store at each minute boundary and at
// stop() as rows of this instance (docs/report.md, "History").
//
// record() is on the request path: two minute buffers per side, reset in
// place, one comparison to see whether the minute moved on, and the latency
// in a histogram that holds only the bins in use (sparse-bins.ts: it
// allocates only to grow, in a side's first minutes). Every route is recorded,
// not only those a rollout reads: the report covers the whole migration.
// Encoding and writing happen in the flush, off the request path; a failed
// write keeps its rows for the next flush (bounded).
import {
  encodeRoutePayload,
  encodeShadowPayload,
  ROUTE_KIND,
  SHADOW_KIND,
  topFields,
} from './history-payload.ts';
import { countedClass } from './outcome.ts';
import { SparseBins } from './sparse-bins.ts';
import { CLASSES } from './window-histogram.ts';
import type { WindowSlot } from './window-merge.ts';

export const MINUTE_MS = 60_000;
/** After a minute ends, the wait before writing it (its last requests are recorded by then). */
const FLUSH_DELAY_MS = 1_000;
/** Rows kept for a store that is away (then the oldest go): two hours of 40 routes' rows. */
const MAX_PENDING_ROWS = 12_000;
/** Rows per store call: one Lua script or SQLite transaction stays short. */
const WRITE_BATCH = 500;
/** Differing field paths followed per route and minute; later new ones are not counted. */
const MAX_TRACKED_FIELDS = 200;

/** One row as the state store keeps it (state's HistoryRow, by shape: telemetry does not import state). */
export interface HistoryRowOut {
  readonly kind: string;
  readonly route: string;
  readonly side: string;
  readonly minute: number;
  readonly instance: string;
  readonly payload: string;
}

/** Where rows go (a FleetStore). */
export interface HistorySink {
  writeHistory(rows: readonly HistoryRowOut[], retainMs: number): Promise<void>;
}

/** One minute of requests: class counts and the bins in use of a latency histogram, reset in place. */
class MinuteCounts {
  minute = Number.NEGATIVE_INFINITY;
  readonly byClass = new Float64Array(CLASSES);
  requests = 0;
  breakerOpenings = 0;
  /** Created by the first request: a side never called holds none. */
  #latency: SparseBins | undefined = undefined;

  start(minute: number): void {
    this.minute = minute;
    if (this.requests > 0) {
      this.byClass.fill(0);
      this.#latency?.reset();
    }
    this.requests = 0;
    this.breakerOpenings = 0;
  }

  add(status: number, ms: number, failed: boolean): void {
    this.byClass[countedClass(status, failed)]++;
    this.requests++;
    this.#latency ??= new SparseBins();
    this.#latency.add(ms);
  }

  /** The minute as a WindowSlot, or undefined when it had no request. */
  slot(): WindowSlot | undefined {
    const latency = this.#latency;
    if (this.requests === 0 || latency === undefined) return undefined;
    const c = this.byClass;
    return {
      byClass: [c[0], c[1], c[2], c[3], c[4]],
      maxUnits: latency.maxUnits,
      ...latency.copy(),
    };
  }

  get empty(): boolean {
    return this.requests === 0 && this.breakerOpenings === 0;
  }
}

/** The minute history of one route × side: what a SideStats records into. */
export class MinuteSide {
  readonly route: string;
  readonly side: string;
  #current = new MinuteCounts();
  /** The minute before `#current`, until a flush writes it. */
  #sealed = new MinuteCounts();
  readonly #history: MinuteHistory;

  constructor(history: MinuteHistory, route: string, side: string) {
    this.#history = history;
    this.route = route;
    this.side = side;
  }

  /** One finished attempt at epoch ms `now` (the caller's clock read); `failed` counts as 5xx. */
  record(status: number, ms: number, failed: boolean, now: number): void {
    const minute = now - (now % MINUTE_MS);
    const counts = this.#current.minute === minute ? this.#current : this.#roll(minute);
    counts.add(status, ms, failed);
  }

  breakerOpened(now: number): void {
    const minute = now - (now % MINUTE_MS);
    const counts = this.#current.minute === minute ? this.#current : this.#roll(minute);
    counts.breakerOpenings++;
  }

  #roll(minute: number): MinuteCounts {
    // A clock stepped back: counted in the minute being recorded, never in a closed one.
    if (minute < this.#current.minute) return this.#current;
    // Not flushed for a whole minute (a stalled loop): its rows are made now, rarely.
    if (!this.#sealed.empty) this.#emit(this.#sealed);
    const sealed = this.#current;
    this.#current = this.#sealed;
    this.#sealed = sealed;
    this.#current.start(minute);
    return this.#current;
  }

  /** Rows of the minutes over by `nowMinute`, and of the current one too when `all`. */
  collect(nowMinute: number, all: boolean): void {
    if (!this.#sealed.empty) this.#emit(this.#sealed);
    const current = this.#current;
    if (current.empty) return;
    if (current.minute < nowMinute) this.#emit(current);
    else if (all) this.#history.queue(this.#row(current));
  }

  #emit(counts: MinuteCounts): void {
    this.#history.queue(this.#row(counts));
    counts.start(Number.NEGATIVE_INFINITY);
  }

  /** A minute with breaker openings but no request has no slot: the opening is not kept (docs/report.md). */
  #row(counts: MinuteCounts): Omit<HistoryRowOut, 'instance'> | undefined {
    const slot = counts.slot();
    if (!slot) return undefined;
    return {
      kind: ROUTE_KIND,
      route: this.route,
      side: this.side,
      minute: counts.minute,
      payload: encodeRoutePayload(slot, counts.breakerOpenings),
    };
  }
}

/** One minute of a route's shadow pairs. */
class ShadowCounts {
  minute = Number.NEGATIVE_INFINITY;
  compared = 0;
  mismatched = 0;
  readonly fields = new Map<string, number>();
  readonly legacy = new MinuteCounts();
  readonly candidate = new MinuteCounts();

  start(minute: number): void {
    this.minute = minute;
    this.compared = 0;
    this.mismatched = 0;
    this.fields.clear();
    this.legacy.start(minute);
    this.candidate.start(minute);
  }
}

/** One compared shadow pair, as the gateway reports it. */
export interface ShadowPairFigures {
  /** The verdict by the noise known when it was compared. */
  readonly match: boolean;
  /** Field patterns that differed and are not noise (each once). */
  readonly fields: Iterable<string>;
  readonly legacyMs: number;
  readonly candidateMs: number;
  readonly legacyStatus: number;
  readonly candidateStatus: number;
}

/** The minute history of one route's shadow pairs. */
export class MinuteShadow {
  readonly route: string;
  readonly #counts = new ShadowCounts();
  readonly #history: MinuteHistory;

  constructor(history: MinuteHistory, route: string) {
    this.#history = history;
    this.route = route;
  }

  pair(p: ShadowPairFigures, now: number = this.#history.now()): void {
    const minute = now - (now % MINUTE_MS);
    const c = this.#counts;
    // Shadow pairs are not the hot path: a new minute is written out at once.
    if (c.minute !== minute && minute > c.minute) {
      if (c.compared > 0) this.#history.queue(this.#row());
      c.start(minute);
    }
    c.compared++;
    if (!p.match) {
      c.mismatched++;
      for (const f of p.fields) {
        const n = c.fields.get(f);
        if (n !== undefined) c.fields.set(f, n + 1);
        else if (c.fields.size < MAX_TRACKED_FIELDS) c.fields.set(f, 1);
      }
    }
    if (Number.isFinite(p.legacyMs) && Number.isFinite(p.candidateMs)) {
      c.legacy.add(p.legacyStatus, p.legacyMs, false);
      c.candidate.add(p.candidateStatus, p.candidateMs, false);
    }
  }

  collect(nowMinute: number, all: boolean): void {
    const c = this.#counts;
    if (c.compared === 0) return;
    if (c.minute < nowMinute) {
      this.#history.queue(this.#row());
      c.start(Number.NEGATIVE_INFINITY);
    } else if (all) this.#history.queue(this.#row());
  }

  #row(): Omit<HistoryRowOut, 'instance'> {
    const c = this.#counts;
    return {
      kind: SHADOW_KIND,
      route: this.route,
      side: '',
      minute: c.minute,
      payload: encodeShadowPayload({
        compared: c.compared,
        mismatched: c.mismatched,
        fields: topFields(c.fields),
        legacy: c.legacy.slot(),
        candidate: c.candidate.slot(),
      }),
    };
  }
}

export interface MinuteHistoryOptions {
  /** Epoch ms: which minute a flush calls over; give the clock records are made with (Metrics gives statsNow). Default Date.now. */
  readonly clock?: () => number;
}

export interface HistoryFlushing {
  readonly sink: HistorySink;
  /** This instance's id: every row it writes carries it. */
  readonly instance: string;
  /** report.retention, ms. */
  readonly retainMs: number;
  /** A write failed (the rows are kept and written again at the next flush). */
  readonly onError?: (error: Error) => void;
}

/** Every route's minute history in this process, and its flush to the store. */
export class MinuteHistory {
  readonly #clock: () => number;
  readonly #sides = new Map<string, MinuteSide>();
  /** route + backend → the side it serves: a breaker names its backend, not its side. */
  readonly #byBackend = new Map<string, MinuteSide>();
  readonly #shadows = new Map<string, MinuteShadow>();
  /** Rows not yet in the store, by key (a newer row of the same key replaces an older). */
  readonly #pending = new Map<string, HistoryRowOut>();
  #flushing: HistoryFlushing | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #writing: Promise<void> = Promise.resolve();
  /** Writes that failed, and rows let go because the store was away too long. */
  failures = 0;
  dropped = 0;

  constructor(options: MinuteHistoryOptions = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  now(): number {
    return this.#clock();
  }

  /** The history of `route` × `side` (the same object for the same names); `backend` lets breaker openings find it. */
  side(route: string, side: string, backend?: string): MinuteSide {
    const key = `${route}\u0000${side}`;
    let s = this.#sides.get(key);
    if (!s) {
      s = new MinuteSide(this, route, side);
      this.#sides.set(key, s);
    }
    if (backend !== undefined) this.#byBackend.set(`${route}\u0000${backend}`, s);
    return s;
  }

  shadow(route: string): MinuteShadow {
    let s = this.#shadows.get(route);
    if (!s) {
      s = new MinuteShadow(this, route);
      this.#shadows.set(route, s);
    }
    return s;
  }

  /** The breaker of `route` on `backend` opened. */
  breakerOpened(route: string, backend: string, now: number = this.#clock()): void {
    this.#byBackend.get(`${route}\u0000${backend}`)?.breakerOpened(now);
  }

  /** A row to write at the next flush (its instance added then). */
  queue(row: Omit<HistoryRowOut, 'instance'> | undefined): void {
    if (!row) return;
    const key = `${row.kind}\u0000${row.route}\u0000${row.side}\u0000${row.minute}`;
    this.#pending.delete(key);
    this.#pending.set(key, { ...row, instance: this.#flushing?.instance ?? '' });
    while (this.#pending.size > MAX_PENDING_ROWS) {
      this.#pending.delete(this.#pending.keys().next().value as string);
      this.dropped++;
    }
  }

  /** Rows waiting for the store (tests, metrics). */
  get pendingRows(): number {
    return this.#pending.size;
  }

  /** Writes to `flushing.sink` just after each minute ends, from now until stop(). */
  start(flushing: HistoryFlushing): void {
    this.#flushing = flushing;
    this.#schedule();
  }

  /** A new retention (a reload). */
  retain(ms: number): void {
    if (this.#flushing) this.#flushing = { ...this.#flushing, retainMs: ms };
  }

  #schedule(): void {
    const wait = MINUTE_MS - (this.#clock() % MINUTE_MS) + FLUSH_DELAY_MS;
    this.#timer = setTimeout(() => {
      void this.flush();
      this.#schedule();
    }, wait);
    this.#timer.unref();
  }

  /**
   * Writes the minutes that are over (and, when `all`, the current minute so
   * far: a later flush rewrites it) with the rows a failed write left. One
   * flush at a time; never rejects.
   */
  flush(all = false): Promise<void> {
    this.#writing = this.#writing.then(() => this.#flushNow(all));
    return this.#writing;
  }

  async #flushNow(all: boolean): Promise<void> {
    const now = this.#clock();
    const nowMinute = now - (now % MINUTE_MS);
    for (const s of this.#sides.values()) s.collect(nowMinute, all);
    for (const s of this.#shadows.values()) s.collect(nowMinute, all);
    const flushing = this.#flushing;
    if (!flushing || this.#pending.size === 0) return;
    const taken = [...this.#pending];
    try {
      for (let i = 0; i < taken.length; i += WRITE_BATCH) {
        const batch = taken.slice(i, i + WRITE_BATCH);
        const rows = batch.map(([, r]) => (r.instance ? r : { ...r, instance: flushing.instance }));
        await flushing.sink.writeHistory(rows, flushing.retainMs);
        // A row queued again meanwhile (the minute so far, rewritten) stays for the next flush.
        for (const [key, row] of batch)
          if (this.#pending.get(key) === row) this.#pending.delete(key);
      }
    } catch (error) {
      this.failures++;
      flushing.onError?.(error as Error);
    }
  }

  /** Stops the timer and writes everything, the current minutes so far included. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush(true);
  }
}
