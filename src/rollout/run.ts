// One rolling route's process-local state for the phase it is in: where the
// step's and the shadow phase's counts began, the last check's gates and what
// the rollout waits for, and its confirm-webhook flow. The controller replaces
// the run on every move, so nothing here is ever cleared by hand; only the
// shadow pairs' base crosses a pause (a resumed shadow phase goes on counting).
// Nothing here is persisted: after a restart (or, with a fleet, a change of
// leader) a run starts empty and fills in at its first check.
import type { Config, RolloutConfig } from '../config/index.ts';
import type { ConfirmFlow } from './confirm.ts';
import type { CheckFacts } from './decide.ts';
import { evaluateGates, type QueryFigure, type SideFigures } from './gates.ts';
import type { RolloutRecord } from './state.ts';
import { figuresOf, type RouteFigures } from './target.ts';
import type { GateResult, ShadowTally } from './types.ts';

const EMPTY: SideFigures = { requests: 0, errors: 0, p95: 0, p99: 0, countAbove: () => 0 };

const inShadow = (rec: RolloutRecord): boolean =>
  rec.state === 'shadow' || (rec.state === 'paused' && rec.pausedFrom === 'shadow');

/** The age past which a Prometheus answer counts as none: three checks (or three timeouts). */
export function queryMaxAge(config: Config): number {
  return 3 * Math.max(config.rollouts.checkEvery, config.rollouts.prometheus?.timeoutMs ?? 0);
}

export class RolloutRun {
  readonly route: string;
  /** Candidate requests counted when the step began (set at the step's first check). */
  #stepBase: number | undefined;
  /** Shadow pairs counted when shadow began (set at the phase's first check). */
  #shadowBase: ShadowTally | undefined;
  /** The last check's gate outcomes, to write only changes to the ledger. */
  #gateSig: string | undefined;
  #gates: readonly GateResult[];
  #waitingFor: string | null;
  #confirm: ConfirmFlow | undefined;

  constructor(route: string, shadowBase?: ShadowTally) {
    this.route = route;
    this.#stepBase = undefined;
    this.#shadowBase = shadowBase;
    this.#gateSig = undefined;
    this.#gates = [];
    this.#waitingFor = null;
    this.#confirm = undefined;
  }

  /** The run after a move from `from` to `to`; undefined once the rollout stopped running. */
  static after(
    route: string,
    previous: RolloutRun | undefined,
    from: RolloutRecord,
    to: RolloutRecord,
  ): RolloutRun | undefined {
    if (to.state !== 'shadow' && to.state !== 'canary' && to.state !== 'paused') return undefined;
    const keepsShadow =
      previous !== undefined && (to.state === 'paused' || from.state === 'paused');
    return new RolloutRun(route, keepsShadow ? previous.#shadowBase : undefined);
  }

  /** The gates of the last check ([] before the run's first). */
  get gates(): readonly GateResult[] {
    return this.#gates;
  }

  /** What the rollout waits for, as the last check or the confirm flow said; null when not waiting. */
  get waitingFor(): string | null {
    return this.#waitingFor;
  }

  wait(reason: string | null): void {
    this.#waitingFor = reason;
  }

  /** The run's confirm flow, made on first use. */
  confirmFlow(create: () => ConfirmFlow): ConfirmFlow {
    this.#confirm ??= create();
    return this.#confirm;
  }

  /**
   * The gates over the last `window`, never from before the phase began, kept
   * as the last check's. The only place a route's figures are read: every read
   * of the rollout (status, /metrics) serves these.
   */
  evaluate(
    rc: RolloutConfig,
    rec: RolloutRecord,
    figures: RouteFigures,
    queries: ReadonlyMap<string, QueryFigure>,
    now: number,
  ): readonly GateResult[] {
    const since = Math.max(now - rc.window, rec.dataSince);
    const shadow = inShadow(rec);
    this.#gates = evaluateGates(
      rc,
      {
        candidate: shadow ? EMPTY : figuresOf(figures.candidate, since),
        legacy: shadow ? EMPTY : figuresOf(figures.legacy, since),
        shadow: shadow ? this.shadowSince(figures) : undefined,
        queries,
      },
      shadow ? 'shadow' : 'canary',
    );
    return this.#gates;
  }

  /** True when the last evaluation's outcomes differ from the one before (a ledger entry is due). */
  gatesChanged(): boolean {
    const sig = this.#gates.map((g) => `${g.name}:${g.status}`).join(',');
    if (this.#gateSig === sig) return false;
    this.#gateSig = sig;
    return true;
  }

  /** What `decide` needs besides the gates. */
  facts(rec: RolloutRecord, figures: RouteFigures, now: number): CheckFacts {
    this.#stepBase ??= figures.candidateCount;
    return {
      state: rec.state as 'shadow' | 'canary',
      failures: rec.failures,
      heldMs: now - rec.since,
      stepRequests: figures.candidateCount - this.#stepBase,
      shadowCompared: this.shadowSince(figures)?.compared ?? 0,
      candidateBreakerOpen: figures.candidateBreakerOpen,
    };
  }

  /**
   * The shadow pairs since shadow began, judged by the noise known now (a
   * tally, not a subtraction: mismatches go down as noise is learned). A
   * route whose shadow was removed and added again counts its new pairs.
   */
  shadowSince(figures: RouteFigures): ShadowTally | undefined {
    const now = figures.shadow;
    if (now === undefined) return undefined;
    this.#shadowBase ??= now;
    return now.since(this.#shadowBase);
  }
}
