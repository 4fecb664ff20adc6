// The rollout controller: the only writer of rollout state. Every
// `rollouts.checkEvery` it reads each rolling route's figures, evaluates the
// gates, and moves the route on (shadow → steps → done), holds it, or rolls
// it back. Manual actions go through the same transitions, so the ledger and
// the webhooks see every change whoever made it.
import type { Config, RolloutConfig, RouteConfig } from '../config/index.ts';
import { NotFoundError, RolloutConflictError } from '../errors.ts';
import type { StateStore } from '../state/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { describeGate, evaluateGates, type ShadowFigures, type SideFigures } from './gates.ts';
import { Ledger, type LedgerEntry, type LedgerKind } from './ledger.ts';
import { RolloutMetrics } from './metrics.ts';
import { PrometheusQueries } from './queries.ts';
import { firstPhase, OFF, ROLLOUT_NAMESPACE, type RolloutRecord, stepOfWeight } from './state.ts';
import type { Actor, GateResult, RolloutEvent, RolloutStateName } from './types.ts';
import type { Webhooks } from './webhooks.ts';

/** A side's sliding window, as telemetry keeps it. */
export interface WindowView {
  snapshot(sinceMs: number): Omit<SideFigures, 'countAbove'>;
  /** Requests of the last snapshot's span slower than `ms`. */
  countAbove(ms: number): number;
}

/** The figures of a window since `sinceMs`; `countAbove` reads this snapshot until the next one. */
function figuresOf(window: WindowView, sinceMs: number): SideFigures {
  const s = window.snapshot(sinceMs);
  return {
    requests: s.requests,
    errors: s.errors,
    p95: s.p95,
    p99: s.p99,
    countAbove: (ms) => window.countAbove(ms),
  };
}

/** What the controller reads of one route in the running gateway. */
export interface RouteFigures {
  readonly weight: number;
  readonly legacy: WindowView;
  readonly candidate: WindowView;
  /** Candidate requests since the process started (a step counts its own from a base). */
  readonly candidateCount: number;
  /** Shadow pairs compared since the process started; undefined without shadow. */
  readonly shadow: ShadowFigures | undefined;
  readonly candidateBreakerOpen: boolean;
}

/** The gateway as the controller sees it (cli/run.ts adapts the real one). */
export interface RolloutTarget {
  config(): Config;
  /** Undefined when the route does not exist or has no candidate. */
  figures(route: string, windowMs: number): RouteFigures | undefined;
  setWeight(route: string, weight: number): Promise<void>;
  /** Back to the config file's weight. */
  resetWeight(route: string): Promise<void>;
}

export type RolloutAction = 'start' | 'pause' | 'resume' | 'promote' | 'rollback' | 'reset';
export const ROLLOUT_ACTIONS: readonly RolloutAction[] = [
  'start',
  'pause',
  'resume',
  'promote',
  'rollback',
  'reset',
];

export interface RolloutStatus {
  readonly route: string;
  /** False when the route has a recorded rollout but no `rollout` block now. */
  readonly configured: boolean;
  readonly state: RolloutStateName;
  readonly step: number | null;
  readonly steps: readonly number[];
  readonly weight: number;
  readonly since: string | null;
  readonly timeInStateMs: number;
  readonly failures: number;
  readonly failureLimit: number;
  readonly reason: string;
  /** What the rollout waits for before it moves on; null when it is not waiting. */
  readonly waitingFor: string | null;
  readonly gates: readonly GateResult[];
}

export interface ControllerOptions {
  readonly target: RolloutTarget;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly webhooks: Webhooks;
  /** Where the rollout series go (/metrics); none in tests that do not read them. */
  readonly metrics?: Metrics;
  readonly clock?: () => number;
}

/**
 * Where a new phase's data begins: the next whole second. The windows keep
 * 1-second slots, so data from earlier in the current second (the failures
 * that caused a rollback, say) would otherwise count against a fresh start.
 */
function freshData(now: number): number {
  return Math.ceil(now / 1000) * 1000;
}

const EMPTY: SideFigures = { requests: 0, errors: 0, p95: 0, p99: 0, countAbove: () => 0 };

export class RolloutController {
  readonly #target: RolloutTarget;
  readonly #store: StateStore;
  readonly #logger: Logger;
  readonly #webhooks: Webhooks;
  readonly #clock: () => number;
  readonly #ledger: Ledger;
  readonly #queries: PrometheusQueries;
  readonly #metrics: RolloutMetrics | undefined;
  readonly #records = new Map<string, RolloutRecord>();
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Per route: counts at the start of the step / shadow phase (process-local). */
  readonly #stepBase = new Map<string, number>();
  readonly #shadowBase = new Map<string, ShadowFigures>();
  readonly #lastGates = new Map<string, readonly GateResult[]>();
  readonly #waiting = new Map<string, string>();
  /** The gate outcomes of the last check, to write only changes to the ledger. */
  readonly #gateSig = new Map<string, string>();
  /** Routes with a confirm request in flight, and when the last one was refused. */
  readonly #confirming = new Set<string>();
  readonly #refusedAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #every = 0;
  #ticking = false;
  #closed = false;

  private constructor(options: ControllerOptions, records: Map<string, RolloutRecord>) {
    this.#target = options.target;
    this.#store = options.store;
    this.#logger = options.logger;
    this.#webhooks = options.webhooks;
    this.#clock = options.clock ?? Date.now;
    this.#ledger = new Ledger(options.store);
    this.#queries = new PrometheusQueries(options.logger);
    this.#metrics = options.metrics
      ? new RolloutMetrics(options.metrics.registry, () => this.statusAll())
      : undefined;
    for (const [k, v] of records) this.#records.set(k, v);
  }

  /** Loads the persisted rollouts, re-applies their weights, starts configured ones, and begins checking. */
  static async create(options: ControllerOptions): Promise<RolloutController> {
    const records = await options.store.list<RolloutRecord>(ROLLOUT_NAMESPACE);
    const controller = new RolloutController(options, records);
    await controller.reconcile();
    return controller;
  }

  get ledger(): Ledger {
    return this.#ledger;
  }

  /** After a load or reload: start new rollouts, follow edited steps, restore weights, reset the timer. */
  async reconcile(): Promise<void> {
    const config = this.#target.config();
    for (const route of config.routes) {
      const rc = route.rollout;
      if (!rc || !route.candidate) continue;
      await this.#serial(route.name, async () => {
        const rec = this.#records.get(route.name);
        if (!rec) {
          if (rc.autoStart) await this.#start(route.name, rc, 'config', 'rollout block loaded');
          return;
        }
        await this.#follow(route.name, rc, rec);
      });
    }
    if (this.#every !== config.rollouts.checkEvery && !this.#closed) {
      clearInterval(this.#timer);
      this.#every = config.rollouts.checkEvery;
      this.#timer = setInterval(() => void this.tick(), this.#every);
      this.#timer.unref();
    }
  }

  /** An edited block continues from the current weight; a restart puts the recorded weight back. */
  async #follow(name: string, rc: RolloutConfig, rec: RolloutRecord): Promise<void> {
    let next = rec;
    if (rec.step !== null && rc.steps[rec.step] !== rec.weight) {
      next = { ...rec, step: stepOfWeight(rc.steps, rec.weight) };
      await this.#store.set(ROLLOUT_NAMESPACE, name, next);
      this.#records.set(name, next);
    }
    const live = this.#target.figures(name, rc.window);
    if (rec.state !== 'off' && live && live.weight !== rec.weight) {
      await this.#target.setWeight(name, rec.weight);
    }
  }

  /** One check of every rolling route. Overlapping checks are skipped, never queued. */
  async tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      const config = this.#target.config();
      const rolling = config.routes.filter((r) => {
        const s = this.#records.get(r.name)?.state;
        return r.rollout && (s === 'shadow' || s === 'canary');
      });
      this.#queries.refresh(
        config,
        rolling.map((r) => r.name),
      );
      for (const route of rolling) {
        try {
          await this.#serial(route.name, () => this.#check(route, config));
        } catch (error) {
          this.#logger.error(
            { route: route.name, err: (error as Error).message },
            'rollout check failed',
          );
        }
      }
    } finally {
      this.#ticking = false;
    }
  }

  async #check(route: RouteConfig, config: Config): Promise<void> {
    const rc = route.rollout as RolloutConfig;
    const rec = this.#records.get(route.name);
    const figures = this.#target.figures(route.name, rc.window);
    if (!rec || !figures) return;
    const now = this.#clock();
    if (rec.state === 'canary' && figures.candidateBreakerOpen) {
      await this.#rollback(
        route.name,
        rec,
        'controller',
        'hard trip: the candidate breaker opened',
        [],
      );
      return;
    }
    const gates = this.#gates(route.name, rc, rec, figures, config, now);
    const failed = gates.filter((g) => g.status === 'failed');
    await this.#noteGateChange(route.name, rec, gates);
    if (rec.state === 'shadow') {
      await this.#checkShadow(route.name, rc, rec, figures, gates, now);
      return;
    }
    if (failed.length > 0) {
      const failures = rec.failures + 1;
      const why = failed.map(describeGate).join('; ');
      if (failures >= rc.failureLimit) {
        await this.#rollback(
          route.name,
          rec,
          'controller',
          `gates failed ${failures} checks in a row: ${why}`,
          gates,
        );
      } else {
        await this.#save(route.name, { ...rec, failures });
        this.#waiting.set(route.name, `failing (${failures} of ${rc.failureLimit}): ${why}`);
      }
      return;
    }
    if (rec.failures > 0)
      await this.#save(route.name, { ...this.#records.get(route.name)!, failures: 0 });
    const held = now - rec.since;
    const stepRequests =
      figures.candidateCount - (this.#stepBase.get(route.name) ?? figures.candidateCount);
    if (!this.#stepBase.has(route.name)) this.#stepBase.set(route.name, figures.candidateCount);
    const waiting = gates.filter((g) => g.status === 'waiting');
    let reason: string | undefined;
    if (waiting.length > 0) reason = `gates waiting: ${waiting.map(describeGate).join('; ')}`;
    else if (stepRequests < rc.minRequests)
      reason = `${stepRequests} of ${rc.minRequests} candidate requests on this step (low traffic: waiting rather than promoting on too little data)`;
    else if (held < rc.interval)
      reason = `holding the step for ${Math.ceil((rc.interval - held) / 1000)} s more`;
    if (reason) {
      this.#waiting.set(route.name, reason);
      return;
    }
    await this.#stepUp(route.name, rc, this.#records.get(route.name)!, gates, config);
  }

  async #checkShadow(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    figures: RouteFigures,
    gates: readonly GateResult[],
    now: number,
  ): Promise<void> {
    const shadow = this.#shadowSince(name, figures);
    const held = now - rec.since;
    const failed = gates.filter((g) => g.status === 'failed');
    const waiting = gates.filter((g) => g.status === 'waiting');
    let reason: string | undefined;
    if (failed.length > 0) reason = `held in shadow: ${failed.map(describeGate).join('; ')}`;
    else if (waiting.length > 0) reason = `gates waiting: ${waiting.map(describeGate).join('; ')}`;
    else if (shadow.compared < rc.minRequests)
      reason = `${shadow.compared} of ${rc.minRequests} compared pairs`;
    else if (held < rc.shadowFor)
      reason = `shadowing for ${Math.ceil((rc.shadowFor - held) / 1000)} s more`;
    if (reason) {
      this.#waiting.set(name, reason);
      return;
    }
    await this.#stepUp(name, rc, rec, gates, this.#target.config());
  }

  #shadowSince(name: string, figures: RouteFigures): ShadowFigures {
    const now = figures.shadow ?? { compared: 0, mismatched: 0 };
    let base = this.#shadowBase.get(name);
    // A reload that changed the shadow settings starts its counts again.
    if (!base || base.compared > now.compared) {
      base = now;
      this.#shadowBase.set(name, base);
    }
    return { compared: now.compared - base.compared, mismatched: now.mismatched - base.mismatched };
  }

  #gates(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    figures: RouteFigures,
    config: Config,
    now: number,
  ): GateResult[] {
    const since = Math.max(now - rc.window, rec.dataSince);
    const phase =
      rec.state === 'shadow' || (rec.state === 'paused' && rec.pausedFrom === 'shadow')
        ? 'shadow'
        : 'canary';
    const gates = evaluateGates(
      rc,
      {
        candidate: phase === 'canary' ? figuresOf(figures.candidate, since) : EMPTY,
        legacy: phase === 'canary' ? figuresOf(figures.legacy, since) : EMPTY,
        shadow: phase === 'shadow' ? this.#shadowSince(name, figures) : undefined,
        queries: this.#queries.figures(
          name,
          Math.max(
            3 * config.rollouts.checkEvery,
            3 * (config.rollouts.prometheus?.timeoutMs ?? 0),
          ),
          now,
        ),
      },
      phase,
    );
    this.#lastGates.set(name, gates);
    return gates;
  }

  /** A check whose gate outcomes differ from the last one goes in the ledger. */
  async #noteGateChange(
    name: string,
    rec: RolloutRecord,
    gates: readonly GateResult[],
  ): Promise<void> {
    const sig = gates.map((g) => `${g.name}:${g.status}`).join(',');
    if (this.#gateSig.get(name) === sig) return;
    this.#gateSig.set(name, sig);
    const changed = gates.filter((g) => g.status !== 'waiting').map(describeGate);
    await this.#append(
      'gates',
      name,
      rec,
      rec,
      'controller',
      changed.join('; ') || 'gates waiting for data',
      gates,
    );
  }

  /** The next step (or shadow → first step, or the end), after any confirm webhook said yes. */
  async #stepUp(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    gates: readonly GateResult[],
    config: Config,
  ): Promise<void> {
    const nextStep = rec.state === 'shadow' ? 0 : (rec.step ?? -1) + 1;
    if (nextStep >= rc.steps.length) {
      await this.#finish(name, rc, rec, 'controller', 'every step passed its gates', gates);
      return;
    }
    const hooks = [...rc.webhooks, ...config.rollouts.webhooks].filter((h) => h.kind === 'confirm');
    if (hooks.length === 0) {
      await this.#toStep(name, rc, rec, nextStep, 'controller', 'gates passed', gates);
      return;
    }
    if (this.#confirming.has(name)) return;
    const refused = this.#refusedAt.get(name);
    if (refused !== undefined && this.#clock() - refused < rc.interval) {
      this.#waiting.set(name, 'the confirm webhook said no; asking again after the interval');
      return;
    }
    this.#confirming.add(name);
    this.#waiting.set(name, 'waiting for the confirm webhook');
    const toWeight = rc.steps[nextStep];
    void this.#webhooks
      .confirm(hooks, {
        type: 'confirm',
        route: name,
        step: nextStep,
        fromWeight: rec.weight,
        toWeight,
        gates,
        at: new Date(this.#clock()).toISOString(),
      })
      .then((outcome) =>
        this.#serial(name, async () => {
          this.#confirming.delete(name);
          const now = this.#records.get(name);
          // The rollout moved (rolled back, paused) while the hook was asked: its answer is moot.
          if (!now || now.state !== rec.state || now.step !== rec.step || now.since !== rec.since)
            return;
          if (outcome.approved) {
            this.#refusedAt.delete(name);
            await this.#toStep(
              name,
              rc,
              now,
              nextStep,
              'webhook',
              `confirmed by ${outcome.url ?? 'webhook'}`,
              gates,
            );
          } else {
            this.#refusedAt.set(name, this.#clock());
            this.#waiting.set(name, `the confirm webhook said no: ${outcome.reason}`);
            await this.#append(
              'confirm',
              name,
              now,
              now,
              'webhook',
              `step up to ${toWeight}% refused: ${outcome.reason}`,
              gates,
            );
          }
        }),
      )
      .catch((error: Error) => {
        this.#confirming.delete(name);
        this.#logger.error({ route: name, err: error.message }, 'confirm webhook handling failed');
      });
  }

  async #toStep(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    step: number,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
  ): Promise<void> {
    const now = this.#clock();
    const fromShadow = rec.state !== 'canary';
    await this.#transition(
      name,
      rec,
      {
        state: 'canary',
        step,
        weight: rc.steps[step],
        since: now,
        dataSince: fromShadow ? freshData(now) : rec.dataSince,
        pausedFrom: null,
        failures: 0,
        reason: `step ${step + 1} of ${rc.steps.length} (${rc.steps[step]}%): ${reason}`,
        by,
      },
      gates,
    );
  }

  async #finish(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
  ): Promise<void> {
    const now = this.#clock();
    if (rc.onSuccess === 'pause' && by === 'controller') {
      await this.#transition(
        name,
        rec,
        {
          ...rec,
          state: 'paused',
          pausedFrom: 'canary',
          since: now,
          failures: 0,
          reason: `${reason}; paused for a manual promote (onSuccess: pause)`,
          by,
        },
        gates,
      );
      return;
    }
    await this.#transition(
      name,
      rec,
      {
        state: 'done',
        step: null,
        weight: 100,
        since: now,
        dataSince: freshData(now),
        pausedFrom: null,
        failures: 0,
        reason,
        by,
      },
      gates,
    );
  }

  async #rollback(
    name: string,
    rec: RolloutRecord,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
  ): Promise<void> {
    const now = this.#clock();
    await this.#transition(
      name,
      rec,
      {
        state: 'rolled-back',
        step: null,
        weight: 0,
        since: now,
        dataSince: freshData(now),
        pausedFrom: null,
        failures: 0,
        reason,
        by,
      },
      gates,
    );
  }

  async #start(name: string, rc: RolloutConfig, by: Actor, reason: string): Promise<void> {
    const now = this.#clock();
    const rec = this.#records.get(name) ?? OFF;
    const first = firstPhase(rc);
    await this.#transition(
      name,
      rec,
      {
        ...first,
        since: now,
        dataSince: freshData(now),
        pausedFrom: null,
        failures: 0,
        reason: `started: ${reason}`,
        by,
      },
      [],
    );
  }

  /** Weight first (a rollback must take effect before anything else), then the record, the ledger and the webhooks. */
  async #transition(
    name: string,
    from: RolloutRecord,
    to: RolloutRecord,
    gates: readonly GateResult[],
  ): Promise<void> {
    const config = this.#target.config();
    const rc = config.routes.find((r) => r.name === name)?.rollout;
    // The live weight, not the record's: a rollout starts from whatever weight the file gave the route.
    const live = this.#target.figures(name, rc?.window ?? 0)?.weight ?? from.weight;
    if (to.weight !== live) await this.#target.setWeight(name, to.weight);
    const previous: RolloutRecord = { ...from, weight: live };
    await this.#save(name, to);
    this.#stepBase.delete(name);
    this.#metrics?.transition(name, from.state, to.state);
    if (to.state === 'shadow' && from.state !== 'paused') this.#shadowBase.delete(name);
    this.#waiting.delete(name);
    this.#gateSig.delete(name);
    const level = to.state === 'rolled-back' ? 'warn' : 'info';
    this.#logger[level](
      {
        route: name,
        from: from.state,
        to: to.state,
        step: to.step,
        weight: to.weight,
        by: to.by,
        reason: to.reason,
      },
      `rollout ${name}: ${from.state} → ${to.state} at ${to.weight}%`,
    );
    const event: RolloutEvent = {
      type: 'rollout',
      route: name,
      from: from.state,
      to: to.state,
      step: to.step,
      previousWeight: live,
      weight: to.weight,
      reason: to.reason,
      by: to.by,
      gates,
      at: new Date(this.#clock()).toISOString(),
    };
    const hooks = [...(rc?.webhooks ?? []), ...config.rollouts.webhooks].filter(
      (h) => h.kind === 'event',
    );
    if (hooks.length > 0) void this.#webhooks.notify(hooks, event);
    await this.#append('transition', name, previous, to, to.by, to.reason, gates);
  }

  async #save(name: string, rec: RolloutRecord): Promise<void> {
    this.#records.set(name, rec);
    await this.#store.set(ROLLOUT_NAMESPACE, name, rec);
  }

  #append(
    kind: LedgerKind,
    name: string,
    from: RolloutRecord,
    to: RolloutRecord,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
  ): Promise<void> {
    const entry: LedgerEntry = {
      at: new Date(this.#clock()).toISOString(),
      route: name,
      kind,
      from: from.state,
      to: to.state,
      step: to.step,
      previousWeight: from.weight,
      weight: to.weight,
      by,
      reason,
      failures: to.failures,
      gates,
    };
    return this.#ledger.append(entry);
  }

  /** A manual action (admin API, CLI). `full`: promote straight to done. */
  async act(
    name: string,
    action: RolloutAction,
    by: Actor = 'api',
    options: { full?: boolean } = {},
  ): Promise<RolloutStatus> {
    const route = this.#target.config().routes.find((r) => r.name === name);
    if (!route) throw new NotFoundError(`route "${name}"`);
    const rc = route.rollout;
    if (!rc) throw new RolloutConflictError(`route "${name}" has no rollout block in its config`);
    await this.#serial(name, () => this.#act(name, rc, action, by, options.full === true));
    return this.status(name) as RolloutStatus;
  }

  async #act(
    name: string,
    rc: RolloutConfig,
    action: RolloutAction,
    by: Actor,
    full: boolean,
  ): Promise<void> {
    const rec = this.#records.get(name) ?? OFF;
    const s = rec.state;
    const conflict = (what: string): never => {
      throw new RolloutConflictError(
        `cannot ${action} the rollout of "${name}": ${what} (state ${s})`,
      );
    };
    const now = this.#clock();
    switch (action) {
      case 'start':
        if (s === 'shadow' || s === 'canary') conflict('it is already running');
        if (s === 'paused') conflict('it is paused; use resume');
        return this.#start(name, rc, by, `by ${by}`);
      case 'pause':
        if (s !== 'shadow' && s !== 'canary') conflict('only a running rollout can be paused');
        return this.#transition(
          name,
          rec,
          {
            ...rec,
            state: 'paused',
            pausedFrom: s as 'shadow' | 'canary',
            since: now,
            failures: 0,
            reason: `paused by ${by}`,
            by,
          },
          this.#lastGates.get(name) ?? [],
        );
      case 'resume':
        if (s !== 'paused') conflict('only a paused rollout can be resumed');
        return this.#resume(name, rc, rec, by);
      case 'promote': {
        if (s === 'off' || s === 'rolled-back' || s === 'done') conflict('start it first');
        const gates = this.#lastGates.get(name) ?? [];
        const running: RolloutRecord =
          s === 'paused' ? { ...rec, state: rec.pausedFrom ?? 'canary' } : rec;
        if (full) return this.#finish(name, rc, rec, by, `promoted to 100% by ${by}`, gates);
        const next = running.state === 'shadow' ? 0 : (running.step ?? -1) + 1;
        if (next >= rc.steps.length)
          return this.#finish(name, rc, rec, by, `promoted past the last step by ${by}`, gates);
        return this.#toStep(
          name,
          rc,
          { ...rec, state: running.state },
          next,
          by,
          `promoted by ${by}`,
          gates,
        );
      }
      case 'rollback':
        if (s === 'off' || s === 'rolled-back') conflict('nothing to roll back');
        return this.#rollback(
          name,
          rec,
          by,
          `rolled back by ${by}`,
          this.#lastGates.get(name) ?? [],
        );
      case 'reset': {
        await this.#target.resetWeight(name);
        const weight = this.#target.figures(name, rc.window)?.weight ?? 0;
        const off: RolloutRecord = {
          ...OFF,
          weight,
          since: now,
          dataSince: freshData(now),
          reason: `reset by ${by}`,
          by,
        };
        await this.#save(name, off);
        this.#waiting.delete(name);
        await this.#append('transition', name, rec, off, by, off.reason, []);
        return;
      }
    }
  }

  /** Back to where the pause came from, continuing from the route's weight now (it may have been set by hand). */
  async #resume(name: string, rc: RolloutConfig, rec: RolloutRecord, by: Actor): Promise<void> {
    const now = this.#clock();
    const weight = this.#target.figures(name, rc.window)?.weight ?? rec.weight;
    const state = rec.pausedFrom ?? 'canary';
    const step = state === 'canary' ? stepOfWeight(rc.steps, weight) : null;
    await this.#transition(
      name,
      rec,
      {
        ...rec,
        state,
        step,
        weight,
        pausedFrom: null,
        since: now,
        dataSince: freshData(now),
        failures: 0,
        reason: `resumed by ${by}`,
        by,
      },
      [],
    );
  }

  /** Throws when a manual weight would fight the controller (a rollout in shadow or canary). */
  assertManualWeight(name: string): void {
    const rec = this.#records.get(name);
    const configured = this.#target.config().routes.find((r) => r.name === name)?.rollout;
    if (configured && rec && (rec.state === 'shadow' || rec.state === 'canary')) {
      throw new RolloutConflictError(
        `route "${name}" is under a rollout (state ${rec.state}); pause it before setting a weight by hand`,
      );
    }
  }

  /** Undefined when the route neither has a rollout block nor a recorded rollout. */
  status(name: string): RolloutStatus | undefined {
    const config = this.#target.config();
    const route = config.routes.find((r) => r.name === name);
    const rc = route?.rollout;
    const rec = this.#records.get(name);
    if (!route || (!rc && !rec)) return undefined;
    const r = rec ?? OFF;
    const figures = this.#target.figures(name, rc?.window ?? 0);
    const now = this.#clock();
    const running = r.state === 'shadow' || r.state === 'canary' || r.state === 'paused';
    // Gates of a finished or stopped rollout would judge traffic it no longer decides on.
    const gates = rc && figures && running ? this.#gates(name, rc, r, figures, config, now) : [];
    return {
      route: name,
      configured: rc !== undefined,
      state: r.state,
      step: r.step !== null && r.step >= 0 ? r.step : null,
      steps: rc?.steps ?? [],
      weight: figures?.weight ?? r.weight,
      since: r.since > 0 ? new Date(r.since).toISOString() : null,
      timeInStateMs: r.since > 0 ? now - r.since : 0,
      failures: r.failures,
      failureLimit: rc?.failureLimit ?? 0,
      reason: r.reason,
      waitingFor: running ? (this.#waiting.get(name) ?? null) : null,
      gates,
    };
  }

  statusAll(): RolloutStatus[] {
    return this.#target
      .config()
      .routes.map((r) => this.status(r.name))
      .filter((s): s is RolloutStatus => s !== undefined);
  }

  async history(name: string, limit?: number): Promise<LedgerEntry[]> {
    if (!this.#target.config().routes.some((r) => r.name === name) && !this.#records.has(name)) {
      throw new NotFoundError(`route "${name}"`);
    }
    return this.#ledger.history(name, limit);
  }

  /** Runs `fn` after every earlier action on the same route. */
  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.allSettled([...this.#locks.values()]);
    await this.#ledger.flush();
    await this.#webhooks.close();
  }
}
