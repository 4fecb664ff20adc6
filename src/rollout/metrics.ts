// Rollout series on /metrics, read from the controller at scrape time (no
// work between scrapes): state (one series per state, 1 for the current),
// weight, step, each gate's value at the last check, and transitions and
// checks counted as they happen. A scrape reads each route's status once and
// the status is the controller's cache: a scrape evaluates no gate.
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
  readonly #checks: Counter<'route'>;

  constructor(registry: Registry, statuses: () => RolloutStatus[]) {
    const registers = [registry];
    const weight = new Gauge({
      name: 'cutover_rollout_weight',
      help: 'Share of the route sent to the candidate, percent, as the rollout left it',
      labelNames: ['route'],
      registers: [],
    });
    const step = new Gauge({
      name: 'cutover_rollout_step',
      help: 'Current canary step, 1-based; 0 outside canary',
      labelNames: ['route'],
      registers: [],
    });
    const gate = new Gauge({
      name: 'cutover_rollout_gate_value',
      help: 'The value each gate of a running or paused rollout saw at its last check (ratio or ms); absent while it has no data',
      labelNames: ['route', 'gate'],
      registers: [],
    });
    // One read of the statuses per scrape fills all four gauges: registered
    // first, this collect runs before the registry reads the other three.
    new Gauge({
      name: 'cutover_rollout_state',
      help: 'Rollout state per route: 1 on the current state, 0 on the others',
      labelNames: ['route', 'state'],
      registers,
      collect() {
        this.reset();
        weight.reset();
        step.reset();
        gate.reset();
        for (const s of statuses()) {
          for (const state of STATES)
            this.set({ route: s.route, state }, s.state === state ? 1 : 0);
          weight.set({ route: s.route }, s.weight);
          step.set({ route: s.route }, s.step === null ? 0 : s.step + 1);
          for (const g of s.gates)
            if (g.value !== null) gate.set({ route: s.route, gate: g.name }, g.value);
        }
      },
    });
    for (const gauge of [weight, step, gate]) registry.registerMetric(gauge);
    this.#transitions = new Counter({
      name: 'cutover_rollout_transitions_total',
      help: 'Rollout state changes and step moves, by route, from and to',
      labelNames: ['route', 'from', 'to'],
      registers,
    });
    this.#checks = new Counter({
      name: 'cutover_rollout_checks_total',
      help: "Gate evaluations by route, each reading the route's sliding windows once: one per rollouts.checkEvery while a rollout runs or is paused, none on a read",
      labelNames: ['route'],
      registers,
    });
  }

  transition(route: string, from: RolloutStateName, to: RolloutStateName): void {
    this.#transitions.inc({ route, from, to });
  }

  checked(route: string): void {
    this.#checks.inc({ route });
  }
}
