// One EventSource for the whole page (GET /api/events): the overview once a
// second when it changed, one series point per route per second, ledger
// entries and breaker transitions. The browser reconnects by itself after
// the server's `retry: 1000`; pages subscribe to the event types they show.
import type { LedgerEntry, Overview, SeriesPoint } from './types.ts';

export interface LiveEvents {
  overview: Overview;
  point: { route: string; point: SeriesPoint };
  ledger: LedgerEntry;
  breaker: { backend: string; instance?: string; state: string };
}

export type LiveStatus = 'connecting' | 'open' | 'closed';

type Listener<K extends keyof LiveEvents> = (data: LiveEvents[K]) => void;

const listeners = new Map<keyof LiveEvents, Set<Listener<keyof LiveEvents>>>();
const statusListeners = new Set<(s: LiveStatus) => void>();
let source: EventSource | undefined;
let status: LiveStatus = 'closed';

function setStatus(s: LiveStatus): void {
  status = s;
  for (const l of statusListeners) l(s);
}

function dispatch(type: keyof LiveEvents, e: MessageEvent<string>): void {
  const data = JSON.parse(e.data) as LiveEvents[typeof type];
  for (const l of listeners.get(type) ?? []) l(data);
}

/** Opens the stream once (after sign-in); later calls keep the one already open. */
export function connect(): void {
  if (source) return;
  setStatus('connecting');
  source = new EventSource('/api/events');
  source.onopen = () => setStatus('open');
  // readyState CONNECTING after an error: the browser retries by itself; CLOSED: it gave up.
  source.onerror = () =>
    setStatus(source?.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
  for (const type of ['overview', 'point', 'ledger', 'breaker'] as const) {
    source.addEventListener(type, (e) => dispatch(type, e as MessageEvent<string>));
  }
}

export function disconnect(): void {
  source?.close();
  source = undefined;
  setStatus('closed');
}

export function on<K extends keyof LiveEvents>(type: K, listener: Listener<K>): () => void {
  let set = listeners.get(type);
  if (!set) {
    set = new Set();
    listeners.set(type, set);
  }
  const l = listener as Listener<keyof LiveEvents>;
  set.add(l);
  return () => set.delete(l);
}

export function onStatus(listener: (s: LiveStatus) => void): () => void {
  statusListeners.add(listener);
  listener(status);
  return () => statusListeners.delete(listener);
}
