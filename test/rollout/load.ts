// A steady background load for rollout tests: `concurrency` loops sending
// requests one after another until stopped, counting what clients saw.
import { Agent, request } from 'undici';

export interface Load {
  readonly sent: number;
  /** Responses by status. */
  readonly statuses: Map<number, number>;
  /** Responses that carried x-cutover-backend: candidate. */
  readonly fromCandidate: number;
  stop(): Promise<void>;
}

export function startLoad(url: string, concurrency = 4, path = '/items'): Load {
  const agent = new Agent({ connections: concurrency });
  const statuses = new Map<number, number>();
  let sent = 0;
  let fromCandidate = 0;
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const res = await request(`${url}${path}`, { dispatcher: agent });
        await res.body.dump();
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.headers['x-cutover-backend'] === 'candidate') fromCandidate++;
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
    async stop() {
      if (!running) return;
      running = false;
      await Promise.all(loops);
      await agent.close();
    },
  };
}
