// Shared by the rollout suites: reading a rollout and its history through
// the admin API, and a config with one route `main` and a rollout block.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { request } from 'undici';
import type { TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

export interface Gate {
  name: string;
  status: string;
  value: number | null;
  threshold: number;
}

export interface Status {
  state: string;
  step: number | null;
  steps: number[];
  weight: number;
  timeInStateMs: number;
  reason: string;
  waitingFor: string | null;
  gates: Gate[];
}

export interface Entry {
  kind: string;
  from: string;
  to: string;
  weight: number;
  previousWeight: number;
  reason: string;
  by: string;
  gates: Gate[];
}

export async function adminGet<T>(gw: TestGateway, path: string): Promise<T> {
  const res = await request(`${gw.adminUrl}${path}`);
  return (await res.body.json()) as T;
}

export async function rollout(gw: TestGateway, route = 'main'): Promise<Status> {
  return (await adminGet<{ rollout: Status }>(gw, `/api/routes/${route}`)).rollout;
}

export async function history(gw: TestGateway, route = 'main'): Promise<Entry[]> {
  return (await adminGet<{ history: Entry[] }>(gw, `/api/routes/${route}/history`)).history;
}

export const transitions = (h: Entry[]): Entry[] => h.filter((e) => e.kind === 'transition');

export function found<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} not found`);
  return value;
}

/** The gate values recorded when the route stepped up to `weight`. */
export function gateAtStep(h: Entry[], weight: number, gate: string): Gate {
  const step = found(
    transitions(h).find((e) => e.to === 'canary' && e.weight === weight),
    `the step to ${weight}%`,
  );
  return found(
    step.gates.find((g) => g.name === gate),
    `gate ${gate}`,
  );
}

/** The test upstreams echo request headers, which differ between a request and its shadow copy. */
export const SAME_BODIES = `    shadow: { compare: { ignore: ['$.headers'] } }`;

export interface YamlOptions {
  /** Route-level lines (4-space indent); SAME_BODIES unless given. */
  route?: string;
  /** Appended inside the rewrite backend's flow mapping (`, breaker: false`). */
  rewrite?: string;
  /** The `state` field; memory unless given. */
  state?: string;
  /** Inside the top-level `rollouts` mapping, after checkEvery. */
  rollouts?: string;
  /** `rollouts.checkEvery`; 100ms unless given. */
  checkEvery?: string;
}

export function rolloutYaml(
  legacy: Upstream,
  rewrite: Upstream,
  rolloutBlock: string,
  o: YamlOptions = {},
): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: ${o.state ?? 'memory'}
log: { access: false }
rollouts:
  checkEvery: ${o.checkEvery ?? '100ms'}
${o.rollouts ?? ''}
backends:
  legacy: { url: ${legacy.url} }
  rewrite: { url: ${rewrite.url}${o.rewrite ?? ''} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
    candidate: rewrite
${o.route ?? SAME_BODIES}
    rollout:
${rolloutBlock
  .trim()
  .split('\n')
  .map((l) => `      ${l.trim()}`)
  .join('\n')}
`;
}

export interface Pair {
  legacy: Upstream;
  rewrite: Upstream;
}

/**
 * A legacy and a rewrite upstream that answer alike (the same name, so the
 * same body): started before the suite's tests, closed after. Read its
 * fields inside tests, not at the top of the suite.
 */
export function sameAnswerPair(): Pair {
  const pair = {} as Pair;
  before(async () => {
    pair.legacy = await startUpstream({ name: 'svc' });
    pair.rewrite = await startUpstream({ name: 'svc' });
  });
  after(async () => {
    await pair.legacy.close();
    await pair.rewrite.close();
  });
  return pair;
}

/** Polls the route's rollout until `done` accepts it; fails naming `what` after `ms`. */
export function rolloutUntil(
  gw: TestGateway,
  what: string,
  done: (s: Status) => boolean,
  ms = 10_000,
): Promise<Status> {
  return waitFor(what, ms, () => rollout(gw), done);
}
