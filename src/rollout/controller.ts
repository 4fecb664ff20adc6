// The rollout controller. Every `rollouts.checkEvery` it reads each rolling
// route's figures, evaluates the gates and lets `decide` say what to do:
// move on (shadow → steps → done), hold, or roll back. Manual actions make
// the same moves through the same journal, so the ledger and the webhooks see
// every change whoever made it. One route's actions run one at a time.
//
// The controller is a scheduler over runs (run.ts): one RolloutRun per rolling
// route holds what this process knows of the phase (count bases, the last
// check's gates, the confirm flow) and is replaced on every move. Reads
// (status, /metrics, the admin API) serve the last check and never evaluate
// gates, so they cannot change a decision and cost no window snapshot.
//
// In a fleet only the lease holder checks; every instance follows the records
// through the change feed (so reads answer alike everywhere) and keeps its
// windows on for the figures the leader merges. While the store is away no
// one leads: each instance checks its own figures and acts only on a
// rollback (journal.ts says how that rollback is written later).
import type { Config, RolloutConfig, RouteConfig } from '../config/index.ts';
import { NotFoundError, RolloutConflictError } from '../errors.ts';
import {
  type FeedFollower,
  type FleetMember,
  type FleetStore,
  ROLLOUT_NS,
} from '../state/index.ts';
import type { Logger, Metrics } from '../telemetry/index.ts';
import { manualMove } from './actions.ts';
import { ConfirmFlow, confirmRequest } from './confirm.ts';
import { decide } from './decide.ts';
import { describeGate } from './gates.ts';
import { RolloutJournal, type Writer } from './journal.ts';
import type { Ledger, LedgerEntry } from './ledger.ts';
import { RolloutMetrics } from './metrics.ts';
import { PrometheusQueries } from './queries.ts';
import { RouteQueue } from './route-queue.ts';
import { queryMaxAge, RolloutRun } from './run.ts';
import {
  atStep,
  finished,
  nextStep,
  OFF,
  type RolloutRecord,
  resetTo,
  rolledBack,
  started,
  stepOfWeight,
} from './state.ts';
import { rolloutStatus, routeNamed } from './status.ts';
import type { RolloutAction, RolloutStatus, RolloutTarget } from './target.ts';
import type { Actor, ConfirmRequest, GateResult, Who } from './types.ts';
import type { ConfirmOutcome, Webhooks } from './webhooks.ts';

export interface ControllerOptions {
  readonly target: RolloutTarget;
  readonly store: FleetStore;
  /** This instance's membership of the fleet; without one the controller always leads (single-object tests). */
  readonly member?: FleetMember;
  readonly logger: Logger;
  readonly webhooks: Webhooks;
  /** Where the rollout series go (/metrics); none in tests that do not read them. */
  readonly metrics?: Metrics;
  readonly clock?: () => number;
}

/** Where in each second whole-second checks run: after the fleet's figures of the last second arrived. */
const CHECK_PHASE_MS = 150;

const isRunning = (s: RolloutRecord['state']): boolean => s === 'shadow' || s === 'canary';

export class RolloutController {
  readonly #target: RolloutTarget;
  readonly #logger: Logger;
  readonly #webhooks: Webhooks;
  readonly #clock: () => number;
  readonly #journal: RolloutJournal;
  readonly #queries: PrometheusQueries;
  readonly #metrics: RolloutMetrics | undefined;
  readonly #queue = new RouteQueue();
  readonly #member: FleetMember | undefined;
  /** A run for each route whose record is in shadow, canary or paused, and for no other. */
  readonly #runs = new Map<string, RolloutRun>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribeTrips: (() => void) | undefined;
  #every = 0;
  #ticking = false;
  #closed = false;

  private constructor(
    options: ControllerOptions,
    records: Map<string, { value: RolloutRecord; version: number }>,
  ) {
    this.#target = options.target;
    this.#member = options.member;
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
        member: options.member,
        logger: options.logger,
        webhooks: options.webhooks,
        clock: this.#clock,
        liveWeight: (route) => target.weight(route),
        applyWeight: (route, weight) => target.applyWeight(route, weight),
        eventHooks: (route) =>
          [...(this.#rollout(route)?.webhooks ?? []), ...target.config().rollouts.webhooks].filter(
            (h) => h.kind === 'event',
          ),
        metrics: () => this.#metrics,
      },
      records,
    );
    // Process-local: after a restart each rolling route starts a fresh run (its bases reset at its first check).
    for (const route of records.keys()) this.#syncRun(route);
    this.#member?.onReturn(() => this.#journal.flushPending());
    this.#member?.onLeadership((leader) => {
      if (leader) void this.#lead();
    });
    this.#unsubscribeTrips = target.onCandidateTrip?.((route) => {
      void this.#queue
        .run(route, () => this.#hardTrip(route))
        .catch((error: Error) =>
          this.#logger.error({ route, err: error.message }, 'rollout hard trip failed'),
        );
    });
  }

  /** A run for a running or paused record, none otherwise (windows stay on while a run exists). */
  #syncRun(route: string): void {
    const rec = this.#journal.get(route);
    const wants = rec !== undefined && (isRunning(rec.state) || rec.state === 'paused');
    if (wants && !this.#runs.has(route)) this.#runs.set(route, new RolloutRun(route));
    else if (!wants && this.#runs.has(route)) {
      this.#runs.delete(route);
      this.#target.dropWindows(route);
    }
  }

  /** This instance just took the lease: read the records afresh; every run starts over (as after a restart). */
  async #lead(): Promise<void> {
    try {
      await this.#journal.reload();
    } catch (error) {
      this.#logger.error(
        { err: (error as Error).message },
        'new leader could not read the rollouts',
      );
    }
    for (const route of this.#journal.routes()) {
      this.#runs.delete(route);
      this.#syncRun(route);
    }
  }

  /** What the fleet member calls with the records other instances committed. */
  follower(): FeedFollower {
    return {
      namespaces: [ROLLOUT_NS],
      apply: (change) => {
        const route = change.key;
        const before = this.#journal.get(route);
        if (
          this.#journal.applyRecord(
            route,
            change.value as RolloutRecord | undefined,
            change.version,
          )
        ) {
          const rec = this.#journal.get(route);
          // A move made elsewhere starts a new phase: a new run, as the mover's own.
          if (rec && this.#runs.has(route)) this.#runs.delete(route);
          this.#syncRun(route);
          // A move (or reset) begins a phase; a saved failure count is no move and has no entry.
          if (rec && (before?.since !== rec.since || before.state !== rec.state))
            void this.#tellMove(route);
        }
      },
      reload: async () => {
        await this.#journal.reload();
        for (const route of new Set([...this.#journal.routes(), ...this.#runs.keys()]))
          this.#syncRun(route);
      },
    };
  }

  /**
   * Another instance moved the route: its ledger entry landed in the same
   * commit as the record, so the newest entry is that move; this instance's
   * listeners (the dashboard's streams) hear of it as of their own.
   */
  async #tellMove(route: string): Promise<void> {
    try {
      const [entry] = await this.#journal.ledger.history(route, 1);
      if (entry) this.#journal.ledger.written(entry);
    } catch (error) {
      this.#logger.warn(
        { route, err: (error as Error).message },
        'ledger read after a move failed',
      );
    }
  }

  /** Whether this instance runs the checks now, and how: 'lead' | 'local' (store away: rollbacks only) | 'follow'. */
  #role(): 'lead' | 'local' | 'follow' {
    const m = this.#member;
    if (!m) return 'lead';
    if (!m.health.up) return 'local';
    return m.leader ? 'lead' : 'follow';
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
      this.#gatesOf(name),
      'rollback',
    );
  }

  /** Loads the persisted rollouts, re-applies their weights, starts configured ones, and begins checking. */
  static async create(options: ControllerOptions): Promise<RolloutController> {
    const records = await options.store.listVersioned<RolloutRecord>(ROLLOUT_NS);
    const controller = new RolloutController(options, records);
    await controller.reconcile();
    return controller;
  }

  get ledger(): Ledger {
    return this.#journal.ledger;
  }

  #rollout(route: string): RolloutConfig | undefined {
    return routeNamed(this.#target.config(), route)?.rollout;
  }

  /** The last check's gates of a route ([] without a run or before its first check). */
  #gatesOf(route: string): readonly GateResult[] {
    return this.#runs.get(route)?.gates ?? [];
  }

  /** After a load or reload: start new rollouts, follow edited steps, restore weights, reset the timer. */
  async reconcile(): Promise<void> {
    const config = this.#target.config();
    for (const route of config.routes) {
      const rc = route.rollout;
      if (!rc || !route.candidate) continue;
      await this.#queue.run(route.name, async () => {
        const rec = this.#journal.get(route.name);
        try {
          if (rec) await this.#follow(route.name, rc, rec);
          else if (rc.autoStart)
            await this.#move(
              route.name,
              OFF,
              started(rc, 'config', 'rollout block loaded', this.#clock()),
              [],
              'operator',
            );
        } catch (error) {
          // Another instance started or edited it first: the feed brings its record.
          if (!(error instanceof RolloutConflictError)) throw error;
        }
      });
    }
    if (this.#every !== config.rollouts.checkEvery && !this.#closed) {
      clearInterval(this.#timer);
      clearTimeout(this.#timer);
      this.#every = config.rollouts.checkEvery;
      const every = this.#every;
      const start = () => {
        this.#timer = setInterval(() => void this.tick(), every);
        this.#timer.unref();
      };
      // In a fleet the other instances publish each second 50 ms after it ends
      // (cli/fleet-figures.ts): whole-second checks run just after, so the
      // leader's gates are never a second behind the fleet's traffic.
      const phase =
        every % 1000 === 0 && this.#member
          ? (CHECK_PHASE_MS - (this.#clock() % 1000) + 1000) % 1000
          : 0;
      if (phase === 0) start();
      else {
        this.#timer = setTimeout(start, phase);
        this.#timer.unref();
      }
    }
  }

  /** An edited block continues from the current weight; a restart puts the recorded weight back. */
  async #follow(name: string, rc: RolloutConfig, rec: RolloutRecord): Promise<void> {
    if (rec.step !== null && rc.steps[rec.step] !== rec.weight) {
      const step = stepOfWeight(rc.steps, rec.weight);
      await this.#journal.save(name, { ...rec, step }, 'operator');
    }
    const live = this.#target.weight(name);
    if (rec.state !== 'off' && live !== undefined && live !== rec.weight) {
      this.#target.applyWeight(name, rec.weight);
    }
  }

  /** One check of every rolling route. Overlapping checks are skipped, never queued. */
  async tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      const config = this.#target.config();
      if (this.#role() === 'follow') {
        // The leader checks; this instance keeps its windows on for the figures it publishes.
        for (const r of config.routes)
          if (r.rollout && this.#runs.has(r.name)) this.#target.figures(r.name, r.rollout.window);
        return;
      }
      await this.#target.refreshFigures?.();
      // Paused rollouts are checked too (their gates stay current) but ask Prometheus nothing.
      const checked = config.routes.filter((r) => r.rollout && this.#runs.has(r.name));
      const running = checked.filter((r) => isRunning(this.#journal.get(r.name)?.state ?? 'off'));
      this.#queries.refresh(
        config,
        running.map((r) => r.name),
      );
      for (const route of checked) {
        try {
          await this.#queue.run(route.name, () => this.#check(route, config));
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

  /**
   * One check of a route: evaluate its gates (the last check every read
   * serves), note a change of outcomes, and for a running rollout act on what
   * `decide` says. A paused rollout's gates are kept current, nothing more.
   */
  async #check(route: RouteConfig, config: Config): Promise<void> {
    const name = route.name;
    const rc = route.rollout as RolloutConfig;
    const rec = this.#journal.get(name);
    const run = this.#runs.get(name);
    if (!rec || !run) return;
    const figures = this.#target.figures(name, rc.window);
    if (!figures) return;
    const now = this.#clock();
    const gates = run.evaluate(
      rc,
      rec,
      figures,
      this.#queries.figures(name, queryMaxAge(config), now),
      now,
    );
    this.#metrics?.checked(name);
    if (rec.state === 'paused') return;
    const local = this.#role() === 'local';
    if (run.gatesChanged() && !local) await this.#noteGates(name, rec, gates);
    const decision = decide(rc, run.facts(rec, figures, now), gates);
    if (decision.kind === 'rollback') {
      const why = local
        ? `${decision.reason} (decided alone: state store unreachable)`
        : decision.reason;
      await this.#move(name, rec, rolledBack('controller', why, now), gates, 'rollback');
      return;
    }
    const failures = decision.kind === 'hold' ? decision.failures : 0;
    if (local) {
      // Counted here only (the store cannot take it): failed checks in a row still lead to a rollback.
      if (failures !== rec.failures) this.#journal.keepLocally(name, { ...rec, failures });
      run.wait('state store unreachable: the rollout holds (it may still roll back)');
      return;
    }
    if (failures !== rec.failures) await this.#journal.save(name, { ...rec, failures }, 'leader');
    if (decision.kind === 'hold') run.wait(decision.waitingFor);
    else await this.#stepUp(run, rc, this.#journal.get(name) as RolloutRecord, gates, config);
  }

  /** A check whose gate outcomes differ from the last one goes in the ledger. */
  #noteGates(name: string, rec: RolloutRecord, gates: readonly GateResult[]): Promise<void> {
    const decided = gates.filter((g) => g.status !== 'waiting');
    const reason = decided.map(describeGate).join('; ') || 'gates waiting for data';
    return this.#journal.note('gates', name, rec, rec, 'controller', reason, gates);
  }

  /** The next step (or shadow → first step, or the end), after any confirm webhook said yes. */
  async #stepUp(
    run: RolloutRun,
    rc: RolloutConfig,
    rec: RolloutRecord,
    gates: readonly GateResult[],
    config: Config,
  ): Promise<void> {
    const name = run.route;
    const now = this.#clock();
    const step = nextStep(rec);
    if (step >= rc.steps.length) {
      const why = 'every step passed its gates';
      await this.#move(name, rec, finished(rc, rec, 'controller', why, now), gates, 'leader');
      return;
    }
    const hooks = [...rc.webhooks, ...config.rollouts.webhooks].filter((h) => h.kind === 'confirm');
    if (hooks.length === 0) {
      const to = atStep(rc, rec, step, 'controller', 'gates passed', now);
      await this.#move(name, rec, to, gates, 'leader');
      return;
    }
    const flow = run.confirmFlow(
      () =>
        new ConfirmFlow({
          webhooks: this.#webhooks,
          clock: this.#clock,
          retryAfterMs: rc.interval,
        }),
    );
    const ask = confirmRequest(name, step, rec.weight, rc.steps[step], gates, now);
    const { waitingFor, answer } = flow.request(hooks, ask);
    run.wait(waitingFor);
    void answer
      ?.then((outcome) => this.#queue.run(name, () => this.#confirmed(run, rc, ask, outcome)))
      .catch((error: Error) =>
        this.#logger.error({ route: name, err: error.message }, 'confirm webhook handling failed'),
      );
  }

  /** The confirm hooks answered: step up, or note the refusal; moot when the run moved meanwhile. */
  async #confirmed(
    run: RolloutRun,
    rc: RolloutConfig,
    ask: ConfirmRequest,
    outcome: ConfirmOutcome,
  ): Promise<void> {
    const name = run.route;
    const cur = this.#journal.get(name);
    if (this.#runs.get(name) !== run || !cur) return;
    if (outcome.approved) {
      const by = `confirmed by ${outcome.url ?? 'webhook'}`;
      const to = atStep(rc, cur, ask.step, 'webhook', by, this.#clock());
      await this.#move(name, cur, to, ask.gates, 'leader');
      return;
    }
    run.wait(`the confirm webhook said no: ${outcome.reason}`);
    const why = `step up to ${ask.toWeight}% refused: ${outcome.reason}`;
    await this.#journal.note('confirm', name, cur, cur, 'webhook', why, ask.gates);
  }

  /** A move, and a new run for the new phase (none once the rollout stopped). */
  async #move(
    name: string,
    from: RolloutRecord,
    to: RolloutRecord,
    gates: readonly GateResult[],
    writer: Writer,
    who?: Who,
  ): Promise<void> {
    if (!(await this.#journal.move(name, from, to, gates, writer, who))) return;
    const run = RolloutRun.after(name, this.#runs.get(name), from, to);
    if (run) this.#runs.set(name, run);
    else {
      this.#runs.delete(name);
      this.#target.dropWindows(name);
    }
  }

  /** A manual action (admin API, CLI). `full`: promote straight to done; `who`: the person, for the ledger. */
  async act(
    name: string,
    action: RolloutAction,
    by: Actor = 'api',
    options: { full?: boolean; who?: Who } = {},
  ): Promise<RolloutStatus> {
    const route = routeNamed(this.#target.config(), name);
    if (!route) throw new NotFoundError(`route "${name}"`);
    const rc = route.rollout;
    if (!rc) throw new RolloutConflictError(`route "${name}" has no rollout block in its config`);
    const full = options.full === true;
    await this.#queue.run(name, () => this.#act(name, rc, action, by, full, options.who));
    return this.status(name) as RolloutStatus;
  }

  async #act(
    name: string,
    rc: RolloutConfig,
    action: RolloutAction,
    by: Actor,
    full: boolean,
    who: Who | undefined,
  ): Promise<void> {
    await this.#journal.refresh(name);
    this.#syncRun(name);
    const rec = this.#journal.get(name) ?? OFF;
    if (action === 'reset') return this.#reset(name, rec, by, who);
    const liveWeight = this.#target.weight(name) ?? rec.weight;
    const now = this.#clock();
    const move = manualMove({ route: name, action, rc, rec, by, full, liveWeight, now });
    const gates = move.judged ? this.#gatesOf(name) : [];
    await this.#move(name, rec, move.to, gates, 'operator', who);
  }

  /** Back to `off` at the file's weight: no move of the state machine, but a ledger entry. */
  async #reset(name: string, rec: RolloutRecord, by: Actor, who: Who | undefined): Promise<void> {
    const off = resetTo(this.#target.fileWeight(name) ?? 0, by, this.#clock());
    if (!(await this.#journal.reset(name, rec, off, by, who))) return;
    this.#runs.delete(name);
    this.#target.dropWindows(name);
  }

  /**
   * An operator's change outside the state machine (a weight set or reset by
   * hand, a forced breaker), as a `note` in the route's ledger: `reason` names
   * what changed, the weights are the route's before and after.
   */
  async noteChange(
    name: string,
    change: { readonly reason: string; readonly previousWeight: number; readonly weight: number },
    who: Who,
  ): Promise<void> {
    const rec = this.#journal.get(name) ?? OFF;
    const from = { ...rec, weight: change.previousWeight };
    const to = { ...rec, weight: change.weight };
    await this.#queue.run(name, () =>
      this.#journal.note('note', name, from, to, 'api', change.reason, [], {
        who,
        writer: 'operator',
      }),
    );
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

  /**
   * Undefined when the route neither has a rollout block nor a recorded
   * rollout. A read: the last check's gates, no figures read, nothing written.
   */
  status(name: string): RolloutStatus | undefined {
    const route = routeNamed(this.#target.config(), name);
    const rc = route?.rollout;
    const rec = this.#journal.get(name);
    if (!route || (!rc && !rec)) return undefined;
    return rolloutStatus({
      route: name,
      rc,
      rec,
      // A rollout whose block was removed is checked no more: its last gates would be stale.
      run: rc ? this.#runs.get(name) : undefined,
      weight: this.#target.weight(name),
      now: this.#clock(),
    });
  }

  statusAll(): RolloutStatus[] {
    const out: RolloutStatus[] = [];
    for (const r of this.#target.config().routes) {
      const s = this.status(r.name);
      if (s) out.push(s);
    }
    return out;
  }

  async history(name: string, limit?: number): Promise<LedgerEntry[]> {
    if (!routeNamed(this.#target.config(), name) && !this.#journal.get(name)) {
      throw new NotFoundError(`route "${name}"`);
    }
    return this.#journal.ledger.history(name, limit);
  }

  /** Resolves once every action queued on the route so far has run (a check, a hard trip, a confirm answer). */
  settled(route: string): Promise<void> {
    return this.#queue.settled(route);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#timer);
    this.#unsubscribeTrips?.();
    await this.#queue.drain();
    await this.#webhooks.close();
  }
}
