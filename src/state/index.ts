import { StateError } from '../errors.ts';
import type { FleetStore } from './fleet.ts';
import { MemoryStore } from './memory.ts';
import { LocalFleet, SqliteStore } from './sqlite.ts';
import type { StateStore } from './store.ts';

export type {
  Change,
  ChangesSince,
  CommitGuard,
  CommitResult,
  FigureSlot,
  FleetOp,
  FleetStore,
  InstanceInfo,
  InstanceSeen,
  LeaseHold,
  TokenGrant,
  Versioned,
} from './fleet.ts';
export {
  DEFAULT_TIMINGS,
  type FeedFollower,
  type FleetLogger,
  FleetMember,
  type MemberOptions,
  type MemberTimings,
  type StoreHealth,
} from './member.ts';
export { BREAKER_NS, CONTROLLER_LEASE, ledgerNs, ROLLOUT_NS, WEIGHT_NS } from './namespaces.ts';
export type { LocalFleetOptions } from './sqlite.ts';
export type { StateStore } from './store.ts';
export { LocalFleet, MemoryStore, SqliteStore };

/** The fleet store named by the config's `state` field. */
export function openFleet(spec: string): FleetStore {
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('sqlite:')) return new LocalFleet(spec.slice('sqlite:'.length));
  throw new StateError(`unknown state store "${spec}"; expected sqlite:PATH or memory`);
}

/** The store named by the config's `state` field. */
export function openStateStore(spec: string): StateStore {
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('sqlite:')) return new LocalFleet(spec.slice('sqlite:'.length));
  throw new StateError(`unknown state store "${spec}"; expected sqlite:PATH or memory`);
}
