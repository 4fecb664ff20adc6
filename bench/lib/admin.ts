// The few admin API calls the rollback benchmark makes, each bounded in time.
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RouteView {
  weight: number;
  rollout: { state: string; step: number | null; weight: number; reason: string } | null;
  breakers: { candidate: { state: string } | null };
}

export interface InstanceView {
  id: string;
  pid: number;
  admin?: string;
  leader: boolean;
}

export class Admin {
  readonly #base: string;

  constructor(port: number) {
    this.#base = `http://127.0.0.1:${port}`;
  }

  async route(name: string): Promise<RouteView> {
    const res = await fetch(`${this.#base}/api/routes/${name}`, {
      signal: AbortSignal.timeout(2000),
    });
    if (res.status !== 200) throw new Error(`GET /api/routes/${name}: ${res.status}`);
    return (await res.json()) as RouteView;
  }

  /** GET /api/instances: the fleet as this instance sees it. */
  async instances(): Promise<InstanceView[]> {
    const res = await fetch(`${this.#base}/api/instances`, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 200) throw new Error(`GET /api/instances: ${res.status}`);
    return (await res.json()) as InstanceView[];
  }

  async rollout(name: string, action: 'start' | 'reset'): Promise<void> {
    const path = `/api/routes/${name}/rollout/${action}`;
    const res = await fetch(`${this.#base}${path}`, {
      method: 'POST',
      signal: AbortSignal.timeout(2000),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${body}`);
  }

  /** Polls every `everyMs` until `done(route)`; the answer that satisfied it and when it arrived. */
  async until(
    name: string,
    done: (r: RouteView) => boolean,
    timeoutMs: number,
    everyMs = 100,
  ): Promise<{ route: RouteView; at: number } | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const asked = performance.now();
      const route = await this.route(name);
      const at = performance.now();
      if (done(route)) return { route, at };
      const wait = everyMs - (at - asked);
      if (wait > 0) await sleep(wait);
    }
    return undefined;
  }
}

/** Polls `url` until it answers 200, for at most `timeoutMs`; fails early if `child` exits. */
export async function waitFor200(
  url: string,
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `exited with ${child.signalCode ?? `code ${child.exitCode}`} before ${url} answered 200`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
}
