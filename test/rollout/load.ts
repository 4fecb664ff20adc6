// A steady background load for rollout tests: `concurrency` loops sending
// requests one after another until stopped, counting what clients saw.
import { Agent, request } from 'undici';

export interface Load {
  readonly sent: number;
  /** Responses by status. */
  readonly statuses: Map<number, number>;
  /** Responses that carried x-cutover-backend: candidate. */
  readonly fromCandidate: number;
  /** Milliseconds each answered request took as the client saw it, by the side x-cutover-backend named. */
  readonly latencies: { readonly legacy: number[]; readonly candidate: number[] };
  stop(): Promise<void>;
}

export function startLoad(url: string, concurrency = 4, path = '/items'): Load {
  const agent = new Agent({ connections: concurrency });
  const statuses = new Map<number, number>();
  let sent = 0;
  let fromCandidate = 0;
  const latencies = { legacy: [] as number[], candidate: [] as number[] };
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const started = performance.now();
        const res = await request(`${url}${path}`, { dispatcher: agent });
        await res.body.dump();
        const side = res.headers['x-cutover-backend'];
        if (side === 'legacy' || side === 'candidate') {
          latencies[side].push(performance.now() - started);
        }
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (side === 'candidate') fromCandidate++;
      } catch {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    get sent() {
      return sent;
    },
    statuses,
    get fromCandidate() {
      return fromCandidate;
    },
    latencies,
    async stop() {
      if (!running) return;
      running = false;
      await Promise.all(loops);
      await agent.close();
    },
  };
}
