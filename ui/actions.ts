// The operator's actions on a route or a backend, each with the sentence its
// confirmation shows: what changes, for how many users, in numbers.
import { request, seg } from './api.ts';
import type { ActionRequest } from './confirm.ts';
import { weight as pct } from './format.ts';
import type { RolloutStatus } from './types.ts';

export interface RouteFacts {
  readonly name: string;
  readonly weight: number;
  readonly configWeight: number;
  readonly rollout: RolloutStatus | null;
}

const rollout = (route: string, action: string, full = false): (() => Promise<unknown>) => {
  const q = full ? '?full=true' : '';
  return () => request('POST', `/api/routes/${seg(route)}/rollout/${action}${q}`);
};

/** The step a promote moves to: the first step from shadow, else the next one. */
function nextStep(r: RolloutStatus): number | undefined {
  if (r.state === 'shadow' || r.step === null) return r.steps[0];
  return r.steps[r.step + 1];
}

export function rollbackAction(f: RouteFacts): ActionRequest {
  const effect =
    f.weight > 0
      ? `${pct(f.weight)} of users of \`${f.name}\` will go back to legacy (weight ${pct(f.weight)} → 0%), and the rollout stops as rolled back.`
      : `No user of \`${f.name}\` is on the rewrite (weight 0%): its shadow copies stop and the rollout stops as rolled back.`;
  return { title: 'Roll back', effect, danger: true, run: rollout(f.name, 'rollback') };
}

export function promoteAction(f: RouteFacts, full: boolean): ActionRequest | undefined {
  const r = f.rollout;
  if (!r) return undefined;
  const to = full ? 100 : nextStep(r);
  if (to === undefined) return undefined;
  const more = Math.max(0, to - f.weight);
  return {
    title: full ? 'Promote to 100%' : `Promote to ${pct(to)}`,
    effect: `${pct(more)} more of the users of \`${f.name}\` will go to the rewrite (weight ${pct(f.weight)} → ${pct(to)})${full ? ', and the rollout is done' : ', skipping the gates of this step'}.`,
    run: rollout(f.name, 'promote', full),
  };
}

export function pauseAction(f: RouteFacts): ActionRequest {
  return {
    title: 'Pause',
    effect: `\`${f.name}\` stays at ${pct(f.weight)} of its users on the rewrite: the gates stop moving it on until it is resumed.`,
    run: rollout(f.name, 'pause'),
  };
}

export function resumeAction(f: RouteFacts): ActionRequest {
  return {
    title: 'Resume',
    effect: `The rollout of \`${f.name}\` goes on from ${pct(f.weight)}: its gates decide the next step again.`,
    run: rollout(f.name, 'resume'),
  };
}

export function startAction(f: RouteFacts): ActionRequest {
  return {
    title: 'Start rollout',
    effect: `\`${f.name}\` starts its rollout again from the beginning (shadow, then ${f.rollout?.steps.map(pct).join(' → ') ?? 'its steps'}); ${pct(f.weight)} of its users are on the rewrite now.`,
    run: rollout(f.name, 'start'),
  };
}

export function resetAction(f: RouteFacts): ActionRequest {
  return {
    title: 'Reset',
    effect: `The rollout record of \`${f.name}\` is cleared and its weight goes back to the file's ${pct(f.configWeight)} (now ${pct(f.weight)}).`,
    danger: true,
    run: rollout(f.name, 'reset'),
  };
}

export function setWeightAction(f: RouteFacts, to: number): ActionRequest {
  const moved = Math.abs(to - f.weight);
  const where = to >= f.weight ? 'from legacy to the rewrite' : 'from the rewrite back to legacy';
  return {
    title: `Set weight to ${pct(to)}`,
    effect: `${pct(moved)} of the users of \`${f.name}\` will move ${where} (weight ${pct(f.weight)} → ${pct(to)}).`,
    danger: to < f.weight,
    run: () => request('PUT', `/api/routes/${seg(f.name)}/weight`, { weight: to }),
  };
}

export function forceBreakerAction(
  backend: string,
  state: 'open' | 'closed' | 'auto',
  routes: readonly string[],
): ActionRequest {
  const on = `${routes.length} route${routes.length === 1 ? '' : 's'} (${routes.join(', ') || 'none'})`;
  const effect =
    state === 'open'
      ? `Every request to \`${backend}\` on ${on} is refused by its breaker; routes with a fallback send them to legacy.`
      : state === 'closed'
        ? `The breaker of \`${backend}\` on ${on} is held closed: requests go through even while it fails.`
        : `The breakers of \`${backend}\` on ${on} judge by their figures again (no forced state).`;
  return {
    title: state === 'auto' ? 'Release breaker' : `Force breaker ${state}`,
    effect,
    danger: state === 'open',
    run: () => request('POST', `/api/backends/${seg(backend)}/breaker`, { state }),
  };
}
