// Wrong dashboard sign-ins per client address: after MAX_FAILURES wrong
// tokens inside WINDOW_MS, that address's sign-ins are refused (429, with
// Retry-After) until the window that began with its first failure is over —
// the right token too, or a guesser would learn when it hit. Argo CD does the
// same with its defaults (ARGOCD_SESSION_MAX_FAIL_COUNT 5,
// ARGOCD_SESSION_FAILURE_WINDOW_SECONDS 300). A right token before the limit
// clears the address's count. Only sign-in is throttled: a bearer token is a
// machine's, and a guesser there gets nothing more than a 401 per request.
// Behind a proxy every client shares the proxy's address (docs/security.md).
/** Wrong tokens allowed inside one window. */
export const MAX_FAILURES = 5;
export const WINDOW_MS = 5 * 60_000;
/** Addresses remembered; past this the longest-known is forgotten (sign-in is no hot path: a Map will do). */
const ADDRESSES = 10_000;

interface Failures {
  count: number;
  /** When the window began: the first failure's time, epoch ms. */
  since: number;
}

export class SignInThrottle {
  readonly #clock: () => number;
  readonly #byAddress = new Map<string, Failures>();

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Seconds this address must wait before it may sign in again; 0 when it may now. */
  waitSeconds(address: string): number {
    const f = this.#current(address);
    if (f === undefined || f.count < MAX_FAILURES) return 0;
    return Math.max(1, Math.ceil((f.since + WINDOW_MS - this.#clock()) / 1000));
  }

  failed(address: string): void {
    const f = this.#current(address);
    if (f !== undefined) {
      f.count++;
      return;
    }
    if (this.#byAddress.size >= ADDRESSES) {
      const oldest = this.#byAddress.keys().next().value;
      if (oldest !== undefined) this.#byAddress.delete(oldest);
    }
    this.#byAddress.set(address, { count: 1, since: this.#clock() });
  }

  succeeded(address: string): void {
    this.#byAddress.delete(address);
  }

  /** The address's failures in a window not yet over; a finished window is forgotten. */
  #current(address: string): Failures | undefined {
    const f = this.#byAddress.get(address);
    if (f !== undefined && this.#clock() - f.since >= WINDOW_MS) {
      this.#byAddress.delete(address);
      return undefined;
    }
    return f;
  }
}
