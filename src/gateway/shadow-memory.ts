// The process-wide budget of bytes shadow copies may hold (issue 9): the kept
// request body, legacy's answer, the candidate's answer (and a noise probe's)
// of every copy in flight, and the copies of bodies handed to the compare
// pool until its result is back. Per-pair limits (shadow.maxBodyBytes) and the
// in-flight count (shadow.maxInFlight) bound one route; 400 copies of 1 MiB
// answers still reached 700+ MiB RSS, so the sum is bounded here too.
//
// Bytes are reserved as they arrive, not for a copy's worst case up front: a
// route of 2 KiB answers with maxBodyBytes 1 MiB would otherwise be limited
// to budget / 2 MiB copies at once. A copy whose next chunk does not fit is
// abandoned whole (its bytes released, its candidate request cancelled) and
// counted as `skipped_memory`; legacy's answer to the client is never touched.
// This is Envoy's buffer accounting with its overload action
// `envoy.overload_actions.reset_high_memory_stream`, applied to copies only:
// a shadow is a sample, so it yields first.
import type { Metrics } from '../telemetry/index.ts';

export class ShadowMemory {
  #limit: number;
  #held: number;
  #peak: number;

  /** `metrics` shows the figures (cutover_shadow_buffered_bytes and friends). */
  constructor(limit: number, metrics: Metrics) {
    this.#limit = limit;
    this.#held = 0;
    this.#peak = 0;
    metrics.shadowMemory(this);
  }

  get limit(): number {
    return this.#limit;
  }

  /** Bytes reserved now. */
  get held(): number {
    return this.#held;
  }

  /** Most bytes reserved at once since start. */
  get peak(): number {
    return this.#peak;
  }

  /**
   * A new limit from a reloaded config. Reservations already made stay; a
   * lower limit only refuses new ones until enough are released.
   */
  resize(limit: number): void {
    this.#limit = limit;
  }

  /** Reserve `bytes`, or false (nothing reserved) when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.#held + bytes > this.#limit) return false;
    this.#held += bytes;
    if (this.#held > this.#peak) this.#peak = this.#held;
    return true;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }
}
