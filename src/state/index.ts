import { StateError } from '../errors.ts';
import { MemoryStore } from './memory.ts';
import { LocalFleet, SqliteStore } from './sqlite.ts';
import type { StateStore } from './store.ts';

export type { LocalFleetOptions } from './sqlite.ts';
export type { StateStore } from './store.ts';
export { LocalFleet, MemoryStore, SqliteStore };

/** The store named by the config's `state` field. */
export function openStateStore(spec: string): StateStore {
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('sqlite:')) return new LocalFleet(spec.slice('sqlite:'.length));
  throw new StateError(`unknown state store "${spec}"; expected sqlite:PATH or memory`);
}
