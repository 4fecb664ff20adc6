// The overview (GET /api/overview, then the stream's `overview` events) as a
// hook, shared by the routes table and the instances page.
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.ts';
import { onActionDone } from './confirm.ts';
import { on } from './live.ts';
import type { Overview } from './types.ts';

export function useOverview(): { overview: Overview | undefined; error: string | undefined } {
  const [overview, setOverview] = useState<Overview | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const load = () =>
      get<Overview>('/api/overview')
        .then((o) => {
          setOverview(o);
          setError(undefined);
        })
        .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    load();
    const offLive = on('overview', setOverview);
    const offDone = onActionDone(load);
    return () => {
      offLive();
      offDone();
    };
  }, []);
  return { overview, error };
}

/** The time now, once a second: "time in state" counts up between overview events. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}
