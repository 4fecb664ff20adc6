// GET /api/overview: one row per route with what an operator scans for
// (argo-rollouts#2278, #4344: what waits for promotion) — state, step,
// weight, time in state, what it waits for, legacy vs candidate figures of
// the last seconds and the shadow mismatch rate — plus the fleet's instances
// and which one leads. Built from reads that cost no store call but the
// instance list, which is kept a few seconds.
import type { RolloutStatus } from '../rollout/index.ts';
import type { SideSummary } from '../telemetry/index.ts';
import type { AdminContext } from './context.ts';

/** Seconds the table's rates and p99 cover: long enough to be steady at a few requests a second, short enough to see a change at once. */
export const OVERVIEW_SECONDS = 10;

/** How long the instance list is reused: it is a store read, and the fleet's heartbeats are seconds apart anyway. */
const INSTANCES_TTL_MS = 5000;

export interface OverviewRoute {
  readonly name: string;
  readonly state: RolloutStatus['state'];
  readonly step: number | null;
  readonly weight: number;
  /** ISO 8601: when the state (or step) began; null without a rollout. */
  readonly since: string | null;
  /** In words; null when nothing is awaited (no rollout, done, rolled back). */
  readonly waitingFor: string | null;
  readonly legacy: SideSummary | null;
  readonly candidate: SideSummary | null;
  /** Shadow pairs that differ / compared, since each instance started (every instance of the fleet); null without shadow or pairs. */
  readonly mismatchRate: number | null;
}

export interface Overview {
  readonly routes: OverviewRoute[];
  readonly instances: unknown[];
  /** The id of the instance holding the controller lease; null alone or when none holds it. */
  readonly leader: string | null;
}

function waitingFor(status: RolloutStatus | undefined): string | null {
  if (!status) return null;
  if (status.state === 'paused') return 'an operator to resume or promote (paused)';
  if (status.state === 'shadow' || status.state === 'canary') return status.waitingFor;
  return null;
}

const empty: SideSummary = { rps: 0, errorRate: null, p99: null };

export function overviewRoutes(ctx: AdminContext): OverviewRoute[] {
  const { gateway, rollouts, series } = ctx;
  return gateway.routes().map((r) => {
    const status = rollouts.status(r.name);
    // The fleet's pairs when other instances count some; this instance's own otherwise.
    const tally = ctx.fleet?.shadow(r.name) ?? gateway.shadowTally(r.name);
    return {
      name: r.name,
      state: status?.state ?? 'off',
      step: status?.step ?? null,
      weight: r.weight,
      since: status?.since ?? null,
      waitingFor: waitingFor(status),
      legacy: series.summary(r.name, 'legacy', OVERVIEW_SECONDS) ?? empty,
      candidate: r.candidate
        ? (series.summary(r.name, 'candidate', OVERVIEW_SECONDS) ?? empty)
        : null,
      mismatchRate: tally && tally.compared > 0 ? tally.mismatched / tally.compared : null,
    };
  });
}

/** The instance list, read from the store at most every INSTANCES_TTL_MS. */
export class InstanceCache {
  #at = Number.NEGATIVE_INFINITY;
  #value: Promise<{ instances: unknown[]; leader: string | null }> | undefined;

  read(ctx: AdminContext): Promise<{ instances: unknown[]; leader: string | null }> {
    const now = Date.now();
    if (this.#value && now - this.#at < INSTANCES_TTL_MS) return this.#value;
    this.#at = now;
    const member = ctx.member;
    this.#value = member
      ? member.instances().then(
          (list) => ({ instances: list, leader: list.find((i) => i.leader)?.id ?? null }),
          // The store away: the table still shows the routes.
          () => ({ instances: [], leader: null }),
        )
      : Promise.resolve({ instances: [], leader: null });
    return this.#value;
  }
}

export async function overview(ctx: AdminContext, cache: InstanceCache): Promise<Overview> {
  const { instances, leader } = await cache.read(ctx);
  return { routes: overviewRoutes(ctx), instances, leader };
}
