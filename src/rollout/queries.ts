// Prometheus gates are asked in the background, each at most once at a time,
// so a slow or dead Prometheus never delays a check of the built-in gates
// (and so never delays a rollback). The controller reads the last answer.
import type { Config } from '../config/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { QueryFigure } from './gates.ts';
import { queryPrometheus } from './prometheus.ts';

interface Slot {
  figure: QueryFigure;
  /** Epoch ms of the last answer (or error). */
  at: number;
  busy: boolean;
  lastProblem: string | undefined;
}

export class PrometheusQueries {
  readonly #logger: Logger;
  readonly #slots = new Map<string, Slot>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Starts a refresh of every Prometheus gate of `routes` whose last one has finished. */
  refresh(config: Config, routes: readonly string[]): void {
    const prom = config.rollouts.prometheus;
    if (!prom) return;
    for (const name of routes) {
      const route = config.routes.find((r) => r.name === name);
      for (const gate of route?.rollout?.gates.prometheus ?? []) {
        const key = `${name}\u0000${gate.name}`;
        let slot = this.#slots.get(key);
        if (!slot) {
          slot = {
            figure: { value: undefined, problem: 'no answer yet' },
            at: 0,
            busy: false,
            lastProblem: undefined,
          };
          this.#slots.set(key, slot);
        }
        if (slot.busy) continue;
        slot.busy = true;
        const s = slot;
        queryPrometheus(prom.url, gate.query, { timeoutMs: prom.timeoutMs })
          .then(
            (value) => {
              s.figure = {
                value,
                problem: value === undefined ? 'the query returned no data' : undefined,
              };
            },
            (error: Error) => {
              s.figure = { value: undefined, problem: error.message };
              if (s.lastProblem !== error.message) {
                this.#logger.warn(
                  { route: name, gate: gate.name, err: error.message },
                  'prometheus gate query failed',
                );
              }
            },
          )
          .finally(() => {
            s.busy = false;
            s.at = Date.now();
            s.lastProblem = s.figure.problem;
          });
      }
    }
  }

  /** The last answers of a route's gates; an answer older than `maxAgeMs` counts as none. */
  figures(route: string, maxAgeMs: number, now: number): Map<string, QueryFigure> {
    const out = new Map<string, QueryFigure>();
    const prefix = `${route}\u0000`;
    for (const [key, slot] of this.#slots) {
      if (!key.startsWith(prefix)) continue;
      const stale = slot.at > 0 && now - slot.at > maxAgeMs;
      out.set(
        key.slice(prefix.length),
        stale
          ? { value: undefined, problem: `no answer for ${Math.round((now - slot.at) / 1000)} s` }
          : slot.figure,
      );
    }
    return out;
  }
}
