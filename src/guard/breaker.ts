// A circuit breaker per backend and route: closed → open → half-open → closed.
// Outcomes go into a sliding window of time buckets (a ring of counters in a
// typed array), so tryAcquire() and record() in the closed state allocate
// nothing and cost a few field reads. The caller is a callback-style dispatch
// handler, hence tryAcquire()/record() rather than a wrapper around a promise
// (docs/decisions.md, "Circuit breaker").
//
// Contract with the caller:
// - call tryAcquire() before sending; send only when it returns true;
// - call record() exactly once for every request that tryAcquire() admitted,
//   and never for one it refused: the breaker's own rejections are not
//   failures of the backend; call release() instead when the request ended
//   saying nothing of the backend (client gone, refused by the gateway);
// - ok is the attempt's outcome as telemetry/outcome.ts decides it (false for
//   5xx, connect errors, resets and timeouts; a 4xx is ok).
import type { BreakerConfig } from '../config/index.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';
export type ForcedBreakerState = 'open' | 'closed';

export interface BreakerTransition {
  readonly backend: string;
  readonly route: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Why, in words: `errors 10/20 ≥ 50% in 10000ms`, `probe 1 of 3 failed`, ... */
  readonly reason: string;
  /** Failed / all calls in the window when the change happened (0 with no calls). */
  readonly errorRatio: number;
  /** Slow / all calls in the window when the change happened (0 with no calls). */
  readonly slowRatio: number;
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  readonly windowMs: number;
  /** Clock time of the change, ms. */
  readonly at: number;
}

export interface BreakerOptions {
  readonly backend: string;
  readonly route: string;
  /** Clock in ms; Date.now by default (read at each call, so fake timers work). */
  readonly now?: () => number;
  readonly onTransition?: (transition: BreakerTransition) => void;
}

export interface BreakerSnapshot {
  readonly backend: string;
  readonly route: string;
  /** The effective state: the forced one when forced. */
  readonly state: BreakerState;
  readonly forced: ForcedBreakerState | null;
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  readonly errorRatio: number;
  readonly slowRatio: number;
  readonly windowMs: number;
  /** When the breaker last opened, or null while closed. */
  readonly openedAt: number | null;
  /** Probe permits not yet handed out (half-open only, else 0). */
  readonly halfOpenPermits: number;
  readonly probesInFlight: number;
  readonly probeSuccesses: number;
}

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const STATE_NAMES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

const AUTOMATIC = 0;
const FORCED_OPEN = 1;
const FORCED_CLOSED = 2;

/** Ten buckets: a call leaves the window between 0.9 and 1 window after it was counted. */
const BUCKETS = 10;
/** Ring layout: [calls, failures, slow] per bucket. */
const FIELDS = 3;

const defaultNow = (): number => Date.now();

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function percent(r: number): string {
  return `${Math.round(r * 1000) / 10}%`;
}

export class CircuitBreaker {
  readonly backend: string;
  readonly route: string;
  readonly #config: BreakerConfig;
  readonly #now: () => number;
  readonly #onTransition: ((transition: BreakerTransition) => void) | undefined;
  readonly #bucketMs: number;
  readonly #slowCall: number;
  /** Created on the first recorded call: a route nobody calls holds no ring (issue 10). */
  #ring: Uint32Array | null;
  /** Absolute number of the newest bucket (clock / bucketMs), and its place in the ring. */
  #head: number;
  #slot: number;
  #calls = 0;
  #failures = 0;
  #slow = 0;
  #state = CLOSED;
  #forced = AUTOMATIC;
  #openedAt = 0;
  #permitsLeft = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  /** Last time a probe was handed out or reported, or an active probe was due. */
  #lastProbeAt = 0;

  constructor(config: BreakerConfig, options: BreakerOptions) {
    this.backend = options.backend;
    this.route = options.route;
    this.#config = config;
    this.#now = options.now ?? defaultNow;
    this.#onTransition = options.onTransition;
    this.#bucketMs = Math.max(1, config.window / BUCKETS);
    this.#slowCall = config.slowCall;
    this.#ring = null;
    this.#head = Math.floor(this.#now() / this.#bucketMs);
    this.#slot = this.#head % BUCKETS;
  }

  /** The effective state: the forced one when forced, else the automatic one. */
  get state(): BreakerState {
    if (this.#forced === FORCED_OPEN) return 'open';
    if (this.#forced === FORCED_CLOSED) return 'closed';
    return STATE_NAMES[this.#state];
  }

  get forced(): ForcedBreakerState | undefined {
    if (this.#forced === FORCED_OPEN) return 'open';
    if (this.#forced === FORCED_CLOSED) return 'closed';
    return undefined;
  }

  /**
   * May a request be sent now? Open turns half-open on the first call after
   * `openFor` (as resilience4j without its automatic-transition thread), and
   * half-open hands out at most `probes` permits until they report.
   */
  tryAcquire(): boolean {
    if (this.#forced !== AUTOMATIC) return this.#forced === FORCED_CLOSED;
    if (this.#state === CLOSED) return true;
    return this.#acquireSlow();
  }

  /** The outcome of a request tryAcquire() admitted; never call it for a refused one. */
  record(ok: boolean, durationMs: number): void {
    const now = this.#now();
    const bucket = Math.floor(now / this.#bucketMs);
    if (bucket > this.#head) this.#slide(bucket);
    const slow = durationMs >= this.#slowCall;
    const at = this.#slot * FIELDS;
    this.#ring ??= new Uint32Array(BUCKETS * FIELDS);
    const ring = this.#ring;
    ring[at]++;
    this.#calls++;
    if (!ok) {
      ring[at + 1]++;
      this.#failures++;
    }
    if (slow) {
      ring[at + 2]++;
      this.#slow++;
    }
    // Forced: the window keeps counting (the admin API shows live ratios) but
    // the state is the operator's. Open: a straggler admitted before the trip.
    if (this.#forced !== AUTOMATIC || this.#state === OPEN) return;
    if (this.#state === CLOSED) {
      const reason = this.#tripReason();
      if (reason !== '') this.#open(now, reason);
    } else this.#probeReported(ok, slow, now);
  }

  /**
   * A request tryAcquire() admitted ended with no news of the backend (the
   * client went away, the gateway itself could not send it): instead of
   * record(). A half-open probe permit it held goes back, so such requests can
   * neither close nor keep the breaker half-open.
   */
  release(): void {
    if (this.#forced !== AUTOMATIC || this.#state !== HALF_OPEN || this.#probesInFlight === 0) {
      return;
    }
    this.#probesInFlight--;
    this.#permitsLeft++;
  }

  /**
   * True when the breaker has been open or half-open for 2 × openFor without
   * any probe traffic, so its owner should run an active health check and
   * report it with probeResult(). A true answer counts as that probe starting:
   * the next one is due only after another 2 × openFor of silence.
   */
  idleProbeDue(): boolean {
    if (this.#forced !== AUTOMATIC || this.#state === CLOSED) return false;
    const now = this.#now();
    if (now - this.#lastProbeAt < 2 * this.#config.openFor) return false;
    this.#lastProbeAt = now;
    return true;
  }

  /** An active health probe's result: ok closes an open or half-open breaker, a failure reopens it. */
  probeResult(ok: boolean): void {
    if (this.#forced !== AUTOMATIC || this.#state === CLOSED) return;
    const now = this.#now();
    if (ok) this.#close(now, 'active health probe passed');
    else this.#open(now, 'active health probe failed');
  }

  /**
   * The manual kill switch: 'open' refuses everything, 'closed' admits
   * everything, undefined returns to automatic. While forced, outcomes still
   * fill the window but never change the state. Back in automatic the breaker
   * starts closed and judges the window at once, so a backend that failed while
   * forced closed trips straight away.
   */
  force(state: ForcedBreakerState | undefined): void {
    const now = this.#now();
    const from = this.state;
    const forced = state === 'open' ? FORCED_OPEN : state === 'closed' ? FORCED_CLOSED : AUTOMATIC;
    if (forced === this.#forced) return;
    this.#forced = forced;
    this.#state = CLOSED;
    this.#resetProbes(now);
    if (forced === FORCED_OPEN) this.#openedAt = now;
    const to = this.state;
    if (from !== to)
      this.#report(from, to, forced === AUTOMATIC ? 'automatic' : `forced ${to}`, now);
    if (forced === AUTOMATIC) {
      this.#slideTo(now);
      this.#checkTrip(now);
    }
  }

  snapshot(): BreakerSnapshot {
    const now = this.#now();
    this.#slideTo(now);
    const state = this.state;
    const halfOpen = state === 'half-open';
    return {
      backend: this.backend,
      route: this.route,
      state,
      forced: this.forced ?? null,
      calls: this.#calls,
      failures: this.#failures,
      slow: this.#slow,
      errorRatio: ratio(this.#failures, this.#calls),
      slowRatio: ratio(this.#slow, this.#calls),
      windowMs: this.#config.window,
      openedAt: state === 'closed' ? null : this.#openedAt,
      halfOpenPermits: halfOpen ? this.#permitsLeft : 0,
      probesInFlight: halfOpen ? this.#probesInFlight : 0,
      probeSuccesses: halfOpen ? this.#probeSuccesses : 0,
    };
  }

  #acquireSlow(): boolean {
    const now = this.#now();
    if (this.#state === OPEN) {
      if (now - this.#openedAt < this.#config.openFor) return false;
      this.#state = HALF_OPEN;
      this.#resetProbes(now);
      this.#report('open', 'half-open', `open for ${this.#config.openFor}ms`, now);
    }
    // Probes handed out but not reported within openFor are lost (a caller
    // that never called record(), a request that hangs): hand them out again
    // so the breaker cannot stay half-open for ever.
    if (
      this.#permitsLeft === 0 &&
      this.#probesInFlight > 0 &&
      now - this.#lastProbeAt >= this.#config.openFor
    ) {
      this.#permitsLeft = this.#probesInFlight;
      this.#probesInFlight = 0;
    }
    if (this.#permitsLeft === 0) return false;
    this.#permitsLeft--;
    this.#probesInFlight++;
    this.#lastProbeAt = now;
    return true;
  }

  /**
   * A request that finished while half-open. Probes cannot be told apart from
   * requests admitted before the trip that finish late; either is fresh news
   * of the backend, so both count.
   */
  #probeReported(ok: boolean, slow: boolean, now: number): void {
    if (this.#probesInFlight > 0) this.#probesInFlight--;
    this.#lastProbeAt = now;
    const probes = this.#config.probes;
    if (!ok || slow) {
      const n = this.#probeSuccesses + 1;
      this.#open(now, `probe ${n} of ${probes} ${ok ? 'was slow' : 'failed'}`);
      return;
    }
    this.#probeSuccesses++;
    if (this.#probeSuccesses >= probes) this.#close(now, `${probes} of ${probes} probes succeeded`);
  }

  /**
   * Why the window trips the breaker, or '' when it does not. Takes no clock
   * argument: a double passed to a call that is not inlined is boxed, and this
   * runs on every record() while closed.
   */
  #tripReason(): string {
    const c = this.#config;
    const calls = this.#calls;
    if (calls < c.minRequests) return '';
    // A ratio of 0 turns its trigger off rather than tripping on every window.
    const errors = c.errorRatio > 0 && this.#failures / calls >= c.errorRatio;
    const slow = c.slowRatio > 0 && this.#slow / calls >= c.slowRatio;
    if (errors)
      return `errors ${this.#failures}/${calls} ≥ ${percent(c.errorRatio)} in ${c.window}ms`;
    if (slow) {
      return `slow calls (≥ ${c.slowCall}ms) ${this.#slow}/${calls} ≥ ${percent(c.slowRatio)} in ${c.window}ms`;
    }
    return '';
  }

  #checkTrip(now: number): void {
    const reason = this.#tripReason();
    if (reason !== '') this.#open(now, reason);
  }

  #open(now: number, reason: string): void {
    const from = this.#state;
    this.#state = OPEN;
    this.#openedAt = now;
    this.#resetProbes(now);
    if (from !== OPEN) this.#report(STATE_NAMES[from], 'open', reason, now);
  }

  #close(now: number, reason: string): void {
    const from = this.#state;
    this.#state = CLOSED;
    this.#resetProbes(now);
    this.#report(STATE_NAMES[from], 'closed', reason, now);
    // A fresh start: the failures that tripped it are history.
    this.#ring?.fill(0);
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }

  #resetProbes(now: number): void {
    this.#permitsLeft = this.#state === HALF_OPEN ? this.#config.probes : 0;
    this.#probesInFlight = 0;
    this.#probeSuccesses = 0;
    this.#lastProbeAt = now;
  }

  #slideTo(now: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    if (bucket > this.#head) this.#slide(bucket);
  }

  /** Drop the buckets that left the window; a clock that steps back keeps the newest bucket. */
  #slide(bucket: number): void {
    const ring = this.#ring;
    const steps = bucket - this.#head;
    // No ring yet: nothing was counted, so no bucket to drop.
    if (ring !== null && steps >= BUCKETS) {
      ring.fill(0);
      this.#calls = 0;
      this.#failures = 0;
      this.#slow = 0;
    } else if (ring !== null) {
      for (let b = this.#head + 1; b <= bucket; b++) {
        const at = (b % BUCKETS) * FIELDS;
        this.#calls -= ring[at];
        this.#failures -= ring[at + 1];
        this.#slow -= ring[at + 2];
        ring[at] = 0;
        ring[at + 1] = 0;
        ring[at + 2] = 0;
      }
    }
    this.#head = bucket;
    this.#slot = bucket % BUCKETS;
  }

  #report(from: BreakerState, to: BreakerState, reason: string, now: number): void {
    const onTransition = this.#onTransition;
    if (!onTransition) return;
    onTransition({
      backend: this.backend,
      route: this.route,
      from,
      to,
      reason,
      errorRatio: ratio(this.#failures, this.#calls),
      slowRatio: ratio(this.#slow, this.#calls),
      calls: this.#calls,
      failures: this.#failures,
      slow: this.#slow,
      windowMs: this.#config.window,
      at: now,
    });
  }
}
