// Rollout series on /metrics, read from the controller at scrape time (no
// work between scrapes): state (one series per state, 1 for the current),
// weight, step, each gate's last value, and transitions counted as they happen.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RolloutStatus } from './target.ts';
import type { RolloutStateName } from './types.ts';

const STATES: readonly RolloutStateName[] = [
  'off',
  'shadow',
  'canary',
  'paused',
  'done',
  'rolled-back',
];

export class RolloutMetrics {
  readonly #transitions: Counter<'route' | 'from' | 'to'>;

  constructor(registry: Registry, statuses: () => RolloutStatus[]) {
    const registers = [registry];
    new Gauge({
      name: 'cutover_rollout_state',
      help: 'Rollout state per route: 1 on the current state, 0 on the others',
      labelNames: ['route', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) {
          for (const state of STATES)
            this.set({ route: s.route, state }, s.state === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'cutover_rollout_weight',
      help: 'Share of the route sent to the candidate, percent, as the rollout left it',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) this.set({ route: s.route }, s.weight);
      },
    });
    new Gauge({
      name: 'cutover_rollout_step',
      help: 'Current canary step, 1-based; 0 outside canary',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) this.set({ route: s.route }, s.step === null ? 0 : s.step + 1);
      },
    });
    new Gauge({
      name: 'cutover_rollout_gate_value',
      help: 'The value each gate of a running rollout sees now (ratio or ms); absent while it has no data',
      labelNames: ['route', 'gate'],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) {
          for (const g of s.gates)
            if (g.value !== null) this.set({ route: s.route, gate: g.name }, g.value);
        }
      },
    });
    this.#transitions = new Counter({
      name: 'cutover_rollout_transitions_total',
      help: 'Rollout state changes and step moves, by route, from and to',
      labelNames: ['route', 'from', 'to'],
      registers,
    });
  }

  transition(route: string, from: RolloutStateName, to: RolloutStateName): void {
    this.#transitions.inc({ route, from, to });
  }
}
