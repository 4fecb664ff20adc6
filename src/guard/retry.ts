// Retries without retry storms: a budget caps retries in flight at a share of
// the requests in flight (Envoy's retry budget), and each retry waits a
// random time under an exponential ceiling ("full jitter", AWS Architecture
// Blog, "Exponential Backoff And Jitter"), so clients that failed together do
// not come back together.
import type { RetryConfig } from '../config/index.ts';

export interface RetryBudgetSnapshot {
  readonly inFlight: number;
  /** Retries started since start. */
  readonly started: number;
  /** Retries refused by the budget since start. */
  readonly denied: number;
}

export class RetryBudget {
  readonly #budget: number;
  readonly #minConcurrent: number;
  #inFlight = 0;
  #started = 0;
  #denied = 0;

  constructor(config: RetryConfig) {
    this.#budget = config.budget;
    this.#minConcurrent = config.minConcurrent;
  }

  /**
   * Whether one more retry may start: retries in flight stay below
   * max(minConcurrent, ⌊budget × activeRequests⌋), where `activeRequests` is
   * the route's requests in flight, retries included. Rounded down as Envoy
   * does, so 20% of 4 requests allows no retry beyond the minimum. A refusal
   * is counted.
   */
  canRetry(activeRequests: number): boolean {
    // The epsilon keeps 0.29 × 100 (28.999…96 in binary) at 29.
    const share = Math.floor(this.#budget * activeRequests + 1e-9);
    const allowed = this.#inFlight < Math.max(share, this.#minConcurrent);
    if (!allowed) this.#denied++;
    return allowed;
  }

  retryStarted(): void {
    this.#inFlight++;
    this.#started++;
  }

  retryFinished(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  snapshot(): RetryBudgetSnapshot {
    return { inFlight: this.#inFlight, started: this.#started, denied: this.#denied };
  }
}

/**
 * Milliseconds to wait before retry number `attempt` (1 for the first
 * retry): uniform in [0, min(cap, base × 2^(attempt − 1))).
 */
export function backoffDelay(
  attempt: number,
  base: number,
  cap: number,
  random: () => number = Math.random,
): number {
  const exponent = attempt > 1 ? attempt - 1 : 0;
  const ceiling = base * 2 ** exponent;
  return random() * Math.min(ceiling, cap);
}

const DELTA_SECONDS = /^\d+$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)';
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`,
);
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`,
);
const ASCTIME_DATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ( \\d|\\d\\d) ${TIME} (\\d{4})$`,
);

/**
 * Milliseconds a `Retry-After` header (RFC 9110 §10.2.3: delta-seconds or an
 * HTTP-date) asks to wait, at most `cap`; a date in the past means 0.
 * Undefined when the header is absent or not one of those forms.
 */
export function retryAfterMs(
  header: string | string[] | undefined,
  now: number,
  cap: number,
): number | undefined {
  const raw = typeof header === 'string' ? header : header?.[0];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  let ms: number;
  if (DELTA_SECONDS.test(value)) {
    ms = Number(value) * 1000;
  } else {
    const date = httpDate(value, now);
    if (date === undefined) return undefined;
    ms = date - now;
    if (ms < 0) ms = 0;
  }
  return Math.min(ms, cap);
}

/** An HTTP-date in milliseconds since the epoch, or undefined. */
function httpDate(text: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC850_DATE.exec(text);
  if (m) return utc(fullYear(Number(m[3]), now), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1], Number(m[2]), m[3], m[4], m[5]);
  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the
 * future is the most recent past year with those digits.
 */
function fullYear(twoDigits: number, now: number): number {
  const current = new Date(now).getUTCFullYear();
  let year = current - (current % 100) + twoDigits;
  if (year > current + 50) year -= 100;
  return year;
}

function utc(
  year: number,
  month: string,
  day: number,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  if (h > 23 || min > 59 || s > 60) return undefined;
  // 60 is a leap second; read it as 59 rather than roll into the next day.
  const ms = Date.UTC(year, monthIndex, day, h, min, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; such a date is not a date.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms;
}
