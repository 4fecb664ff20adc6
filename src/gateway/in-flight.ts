// What the gateway is serving right now: one count for readiness, the
// shutdown drain, the cli's messages and the in-flight gauge. Before, the
// gateway, the metrics and the tunnels each counted on their own, and the
// drain saw neither the tunnels nor the gauge's figure.
import type { RouteTunnelMetrics } from '../telemetry/index.ts';

export class InFlight {
  /** Requests and upgrade handshakes, from admission to their access line. */
  #requests = 0;
  /** Tunnels from their 101 until either side closes. */
  #tunnels = 0;
  /** Set while a drain waits: told of every end, and whether all is done. */
  #drain: ((idle: boolean) => void) | undefined = undefined;

  get requests(): number {
    return this.#requests;
  }

  get tunnels(): number {
    return this.#tunnels;
  }

  /** Everything a graceful shutdown waits for. */
  get total(): number {
    return this.#requests + this.#tunnels;
  }

  requestStarted(): void {
    this.#requests++;
  }

  requestFinished(): void {
    this.#requests--;
    this.#ended();
  }

  /**
   * A route's tunnel series that also count here: an upgrade's tunnel opens
   * before its handshake finishes, so the total never passes through 0 between them.
   */
  countTunnels(series: RouteTunnelMetrics): RouteTunnelMetrics {
    return {
      opened: () => {
        this.#tunnels++;
        series.opened();
      },
      closed: (reason) => {
        this.#tunnels--;
        series.closed(reason);
        this.#ended();
      },
    };
  }

  /**
   * Resolves true once nothing is in flight, or false when `graceMs` passes
   * first. `onEnd` is called after each request or tunnel that ends meanwhile
   * (the listener closes connections that became idle then). One drain at a time.
   */
  drained(graceMs: number, onEnd: () => void = () => {}): Promise<boolean> {
    if (this.total === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), graceMs);
      const finish = (idle: boolean) => {
        clearTimeout(timer);
        this.#drain = undefined;
        resolve(idle);
      };
      this.#drain = (idle) => {
        if (idle) finish(true);
        else onEnd();
      };
    });
  }

  #ended(): void {
    this.#drain?.(this.total === 0);
  }
}
