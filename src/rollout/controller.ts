// The rollout controller. Every `rollouts.checkEvery` it reads each rolling
// route's figures, evaluates the gates and lets `decide` say what to do:
// move on (shadow → steps → done), hold, or roll back. Manual actions make
// the same moves through the same journal, so the ledger and the webhooks see
// every change whoever made it. One route's actions run one at a time.
import type { Config, RolloutConfig, RouteConfig } from '../config/index.ts';
import { NotFoundError, RolloutConflictError } from '../errors.ts';
import type { StateStore } from '../state/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { decide } from './decide.ts';
import { describeGate, evaluateGates, type SideFigures } from './gates.ts';
import { RolloutJournal } from './journal.ts';
import type { Ledger, LedgerEntry } from './ledger.ts';
import { RolloutMetrics } from './metrics.ts';
import { PrometheusQueries } from './queries.ts';
import {
  atStep,
  finished,
  nextStep,
  OFF,
  paused,
  ROLLOUT_NAMESPACE,
  type RolloutRecord,
  resetTo,
  resumed,
  rolledBack,
  started,
  stepOfWeight,
} from './state.ts';
import {
  figuresOf,
  type RolloutAction,
  type RolloutStatus,
  type RolloutTarget,
  type RouteFigures,
} from './target.ts';
import type { Actor, GateResult, ShadowTally } from './types.ts';
import type { Webhooks } from './webhooks.ts';

export interface ControllerOptions {
  readonly target: RolloutTarget;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly webhooks: Webhooks;
  /** Where the rollout series go (/metrics); none in tests that do not read them. */
  readonly metrics?: Metrics;
  readonly clock?: () => number;
}

const EMPTY: SideFigures = { requests: 0, errors: 0, p95: 0, p99: 0, countAbove: () => 0 };

const isRunning = (s: RolloutRecord['state']): boolean => s === 'shadow' || s === 'canary';

export class RolloutController {
  readonly #target: RolloutTarget;
  readonly #logger: Logger;
  readonly #webhooks: Webhooks;
  readonly #clock: () => number;
  readonly #journal: RolloutJournal;
  readonly #queries: PrometheusQueries;
  readonly #metrics: RolloutMetrics | undefined;
  readonly #locks = new Map<string, Promise<unknown>>();
  // Process-local per route, rebuilt after a restart:
  /** Candidate requests and shadow pairs counted when the step / shadow began. */
  readonly #stepBase = new Map<string, number>();
  readonly #shadowBase = new Map<string, ShadowTally>();
  readonly #lastGates = new Map<string, readonly GateResult[]>();
  readonly #waiting = new Map<string, string>();
  /** The gate outcomes of the last check, to write only changes to the ledger. */
  readonly #gateSig = new Map<string, string>();
  /** Routes with a confirm request in flight, and when the last one was refused. */
  readonly #confirming = new Set<string>();
  readonly #refusedAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribeTrips: (() => void) | undefined;
  #every = 0;
  #ticking = false;
  #closed = false;

  private constructor(options: ControllerOptions, records: Map<string, RolloutRecord>) {
    this.#target = options.target;
    this.#logger = options.logger;
    this.#webhooks = options.webhooks;
    this.#clock = options.clock ?? Date.now;
    this.#queries = new PrometheusQueries(options.logger);
    this.#metrics = options.metrics
      ? new RolloutMetrics(options.metrics.registry, () => this.statusAll())
      : undefined;
    const target = options.target;
    this.#journal = new RolloutJournal(
      {
        store: options.store,
        logger: options.logger,
        webhooks: options.webhooks,
        clock: this.#clock,
        liveWeight: (route) => target.weight(route),
        setWeight: (route, weight) => target.setWeight(route, weight),
        eventHooks: (route) =>
          [...(this.#rollout(route)?.webhooks ?? []), ...target.config().rollouts.webhooks].filter(
            (h) => h.kind === 'event',
          ),
        metrics: () => this.#metrics,
      },
      records,
    );
    this.#unsubscribeTrips = target.onCandidateTrip?.((route) => {
      void this.#serial(route, () => this.#hardTrip(route)).catch((error: Error) =>
        this.#logger.error({ route, err: error.message }, 'rollout hard trip failed'),
      );
    });
  }

  /** The candidate's breaker opened: a canary rolls back now, not at the next check. */
  async #hardTrip(name: string): Promise<void> {
    const rec = this.#journal.get(name);
    if (rec?.state !== 'canary' || !this.#rollout(name)) return;
    const reason = 'hard trip: the candidate breaker opened';
    await this.#move(
      name,
      rec,
      rolledBack('controller', reason, this.#clock()),
      this.#lastGates.get(name) ?? [],
    );
  }

  /** Loads the persisted rollouts, re-applies their weights, starts configured ones, and begins checking. */
  static async create(options: ControllerOptions): Promise<RolloutController> {
    const records = await options.store.list<RolloutRecord>(ROLLOUT_NAMESPACE);
    const controller = new RolloutController(options, records);
    await controller.reconcile();
    return controller;
  }

  get ledger(): Ledger {
    return this.#journal.ledger;
  }

  #rollout(route: string): RolloutConfig | undefined {
    return this.#target.config().routes.find((r) => r.name === route)?.rollout;
  }

  /** After a load or reload: start new rollouts, follow edited steps, restore weights, reset the timer. */
  async reconcile(): Promise<void> {
    const config = this.#target.config();
    for (const route of config.routes) {
      const rc = route.rollout;
      if (!rc || !route.candidate) continue;
      await this.#serial(route.name, async () => {
        const rec = this.#journal.get(route.name);
        if (rec) await this.#follow(route.name, rc, rec);
        else if (rc.autoStart)
          await this.#move(
            route.name,
            OFF,
            started(rc, 'config', 'rollout block loaded', this.#clock()),
            [],
          );
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
    if (rec.step !== null && rc.steps[rec.step] !== rec.weight) {
      await this.#journal.save(name, { ...rec, step: stepOfWeight(rc.steps, rec.weight) });
    }
    const live = this.#target.weight(name);
    if (rec.state !== 'off' && live !== undefined && live !== rec.weight) {
      await this.#target.setWeight(name, rec.weight);
    }
  }

  /** One check of every rolling route. Overlapping checks are skipped, never queued. */
  async tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      const config = this.#target.config();
      const rolling = config.routes.filter(
        (r) => r.rollout && isRunning(this.#journal.get(r.name)?.state ?? 'off'),
      );
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
    const name = route.name;
    const rc = route.rollout as RolloutConfig;
    const rec = this.#journal.get(name);
    const figures = this.#target.figures(name, rc.window);
    if (!rec || !figures || !isRunning(rec.state)) return;
    const now = this.#clock();
    const gates = this.#gates(name, rc, rec, figures, config, now);
    await this.#noteGateChange(name, rec, gates);
    if (!this.#stepBase.has(name)) this.#stepBase.set(name, figures.candidateCount);
    const decision = decide(
      rc,
      {
        state: rec.state as 'shadow' | 'canary',
        failures: rec.failures,
        heldMs: now - rec.since,
        stepRequests: figures.candidateCount - (this.#stepBase.get(name) as number),
        shadowCompared: this.#shadowSince(name, figures)?.compared ?? 0,
        candidateBreakerOpen: figures.candidateBreakerOpen,
      },
      gates,
    );
    if (decision.kind === 'rollback') {
      await this.#move(name, rec, rolledBack('controller', decision.reason, now), gates);
      return;
    }
    const failures = decision.kind === 'hold' ? decision.failures : 0;
    if (failures !== rec.failures) await this.#journal.save(name, { ...rec, failures });
    if (decision.kind === 'hold') this.#waiting.set(name, decision.waitingFor);
    else await this.#stepUp(name, rc, this.#journal.get(name) as RolloutRecord, gates, config);
  }

  /**
   * The shadow pairs since shadow began, judged by the noise known now (a
   * tally, not a subtraction: mismatches go down as noise is learned). A
   * route whose shadow was removed and added again counts its new pairs.
   */
  #shadowSince(name: string, figures: RouteFigures): ShadowTally | undefined {
    const now = figures.shadow;
    if (now === undefined) return undefined;
    let base = this.#shadowBase.get(name);
    if (base === undefined) {
      base = now;
      this.#shadowBase.set(name, base);
    }
    return now.since(base);
  }

  /** The gates over the last `window`, never from before the phase began. */
  #gates(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    figures: RouteFigures,
    config: Config,
    now: number,
  ): GateResult[] {
    const since = Math.max(now - rc.window, rec.dataSince);
    const inShadow =
      rec.state === 'shadow' || (rec.state === 'paused' && rec.pausedFrom === 'shadow');
    // A Prometheus answer older than three checks (or three timeouts) counts as none.
    const maxAge =
      3 * Math.max(config.rollouts.checkEvery, config.rollouts.prometheus?.timeoutMs ?? 0);
    const gates = evaluateGates(
      rc,
      {
        candidate: inShadow ? EMPTY : figuresOf(figures.candidate, since),
        legacy: inShadow ? EMPTY : figuresOf(figures.legacy, since),
        shadow: inShadow ? this.#shadowSince(name, figures) : undefined,
        queries: this.#queries.figures(name, maxAge, now),
      },
      inShadow ? 'shadow' : 'canary',
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
    const decided = gates.filter((g) => g.status !== 'waiting');
    const reason = decided.map(describeGate).join('; ') || 'gates waiting for data';
    await this.#journal.note('gates', name, rec, rec, 'controller', reason, gates);
  }

  /** The next step (or shadow → first step, or the end), after any confirm webhook said yes. */
  async #stepUp(
    name: string,
    rc: RolloutConfig,
    rec: RolloutRecord,
    gates: readonly GateResult[],
    config: Config,
  ): Promise<void> {
    const now = this.#clock();
    const step = nextStep(rec);
    if (step >= rc.steps.length) {
      await this.#move(
        name,
        rec,
        finished(rc, rec, 'controller', 'every step passed its gates', now),
        gates,
      );
      return;
    }
    const hooks = [...rc.webhooks, ...config.rollouts.webhooks].filter((h) => h.kind === 'confirm');
    if (hooks.length === 0) {
      await this.#move(name, rec, atStep(rc, rec, step, 'controller', 'gates passed', now), gates);
      return;
    }
    if (this.#confirming.has(name)) return;
    const refused = this.#refusedAt.get(name);
    if (refused !== undefined && now - refused < rc.interval) {
      this.#waiting.set(name, 'the confirm webhook said no; asking again after the interval');
      return;
    }
    this.#confirming.add(name);
    this.#waiting.set(name, 'waiting for the confirm webhook');
    const toWeight = rc.steps[step];
    const ask = {
      type: 'confirm',
      route: name,
      step,
      fromWeight: rec.weight,
      toWeight,
      gates,
      at: new Date(now).toISOString(),
    } as const;
    void this.#webhooks
      .confirm(hooks, ask)
      .then((outcome) =>
        this.#serial(name, async () => {
          this.#confirming.delete(name);
          const cur = this.#journal.get(name);
          // The rollout moved (rolled back, paused) while the hook was asked: its answer is moot.
          if (!cur || cur.state !== rec.state || cur.step !== rec.step || cur.since !== rec.since)
            return;
          if (outcome.approved) {
            this.#refusedAt.delete(name);
            const by = `confirmed by ${outcome.url ?? 'webhook'}`;
            await this.#move(name, cur, atStep(rc, cur, step, 'webhook', by, this.#clock()), gates);
          } else {
            this.#refusedAt.set(name, this.#clock());
            this.#waiting.set(name, `the confirm webhook said no: ${outcome.reason}`);
            const why = `step up to ${toWeight}% refused: ${outcome.reason}`;
            await this.#journal.note('confirm', name, cur, cur, 'webhook', why, gates);
          }
        }),
      )
      .catch((error: Error) => {
        this.#confirming.delete(name);
        this.#logger.error({ route: name, err: error.message }, 'confirm webhook handling failed');
      });
  }

  /** A move, and what it makes stale here: the step's base counts, the waiting reason, the gate outcomes. */
  async #move(
    name: string,
    from: RolloutRecord,
    to: RolloutRecord,
    gates: readonly GateResult[],
  ): Promise<void> {
    await this.#journal.move(name, from, to, gates);
    if (!isRunning(to.state) && to.state !== 'paused') this.#target.dropWindows(name);
    this.#stepBase.delete(name);
    if (to.state === 'shadow' && from.state !== 'paused') this.#shadowBase.delete(name);
    this.#waiting.delete(name);
    this.#gateSig.delete(name);
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
    const rec = this.#journal.get(name) ?? OFF;
    const s = rec.state;
    const conflict = (what: string): never => {
      throw new RolloutConflictError(
        `cannot ${action} the rollout of "${name}": ${what} (state ${s})`,
      );
    };
    const now = this.#clock();
    const gates = this.#lastGates.get(name) ?? [];
    switch (action) {
      case 'start':
        if (isRunning(s)) conflict('it is already running');
        if (s === 'paused') conflict('it is paused; use resume');
        return this.#move(name, rec, started(rc, by, `by ${by}`, now), []);
      case 'pause':
        if (!isRunning(s)) conflict('only a running rollout can be paused');
        return this.#move(name, rec, paused(rec, by, now), gates);
      case 'resume': {
        if (s !== 'paused') conflict('only a paused rollout can be resumed');
        const weight = this.#target.weight(name) ?? rec.weight;
        return this.#move(name, rec, resumed(rc, rec, weight, by, now), []);
      }
      case 'promote': {
        if (s === 'off' || s === 'rolled-back' || s === 'done') conflict('start it first');
        // Promoting a paused rollout moves it on from where it was paused.
        const from: RolloutRecord =
          s === 'paused' ? { ...rec, state: rec.pausedFrom ?? 'canary' } : rec;
        const step = nextStep(from);
        if (full || step >= rc.steps.length) {
          const why = full ? `promoted to 100% by ${by}` : `promoted past the last step by ${by}`;
          return this.#move(name, rec, finished(rc, rec, by, why, now), gates);
        }
        return this.#move(name, rec, atStep(rc, from, step, by, `promoted by ${by}`, now), gates);
      }
      case 'rollback':
        if (s === 'off' || s === 'rolled-back') conflict('nothing to roll back');
        return this.#move(name, rec, rolledBack(by, `rolled back by ${by}`, now), gates);
      case 'reset': {
        await this.#target.resetWeight(name);
        const off = resetTo(this.#target.weight(name) ?? 0, by, now);
        await this.#journal.save(name, off);
        this.#target.dropWindows(name);
        this.#waiting.delete(name);
        await this.#journal.note('transition', name, rec, off, by, off.reason, []);
        return;
      }
    }
  }

  /** Throws when a manual weight would fight the controller (a rollout in shadow or canary). */
  assertManualWeight(name: string): void {
    const rec = this.#journal.get(name);
    if (this.#rollout(name) && rec && isRunning(rec.state)) {
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
    const rec = this.#journal.get(name);
    if (!route || (!rc && !rec)) return undefined;
    const r = rec ?? OFF;
    const now = this.#clock();
    const running = isRunning(r.state) || r.state === 'paused';
    // Gates of a finished or stopped rollout would judge traffic it no longer decides on
    // (and reading them would keep its sliding windows recording).
    const figures = rc && running ? this.#target.figures(name, rc.window) : undefined;
    const gates = rc && figures ? this.#gates(name, rc, r, figures, config, now) : [];
    return {
      route: name,
      configured: rc !== undefined,
      state: r.state,
      step: r.step !== null && r.step >= 0 ? r.step : null,
      steps: rc?.steps ?? [],
      weight: this.#target.weight(name) ?? r.weight,
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
    if (!this.#target.config().routes.some((r) => r.name === name) && !this.#journal.get(name)) {
      throw new NotFoundError(`route "${name}"`);
    }
    return this.#journal.ledger.history(name, limit);
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
    this.#unsubscribeTrips?.();
    await Promise.allSettled([...this.#locks.values()]);
    await this.#journal.ledger.flush();
    await this.#webhooks.close();
  }
}
