// Request ids for requests that arrive without one. Envoy and nginx use a
// random UUID per request; Node's randomUUID() cost ≈ 0.45 µs of CPU per
// request here (a crypto buffer refill every 128 ids, plus formatting; CPU
// profile in bench/RESULTS.md, issue 10). An id needs to be unique, not
// secret: no decision reads its bits. So each process draws 74 random bits
// once, and each id adds a 48-bit counter, still in UUID v4 form (version and
// variant bits set) for tools that parse them.
import { randomBytes } from 'node:crypto';

/** 2^48: the counter's span, in the last 12 hex digits. */
const COUNTER_SPAN = 0x1_0000_0000_0000;

export class RequestIds {
  #prefix: string;
  #counter: number;

  constructor() {
    this.#prefix = '';
    this.#counter = 0;
    this.#draw();
  }

  /** The next id: `xxxxxxxx-xxxx-4xxx-yxxx-` drawn once, then 12 hex digits of a counter. */
  next(): string {
    const n = this.#counter++;
    if (this.#counter === COUNTER_SPAN) this.#draw();
    return this.#prefix + n.toString(16).padStart(12, '0');
  }

  /** A fresh random prefix (at start, and if 2^48 ids were ever used up). */
  #draw(): void {
    const h = randomBytes(10).toString('hex');
    // RFC 9562 §4.1: variant 10xx in the first digit of the fourth group.
    const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    this.#prefix = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-${variant}${h.slice(17, 20)}-`;
    this.#counter = 0;
  }
}
