import type { StateConfig } from '../config/index.ts';
import { isRedisUrl } from '../config/index.ts';
import { StateError } from '../errors.ts';
import type { FleetStore } from './fleet.ts';
import { MemoryStore } from './memory.ts';
import { RedisFleet, type RedisFleetOptions } from './redis/fleet.ts';
import { LocalFleet } from './sqlite.ts';

export type {
  Change,
  ChangesSince,
  CommitGuard,
  CommitResult,
  FigureSlot,
  FleetOp,
  FleetStore,
  HistoryRow,
  InstanceInfo,
  InstanceSeen,
  LeaseHold,
  TokenGrant,
  Versioned,
} from './fleet.ts';
export {
  type FeedFollower,
  type FleetLogger,
  FleetMember,
  type MemberOptions,
  type MemberTimings,
  type StoreHealth,
} from './member.ts';
export {
  BREAKER_NS,
  CONTROLLER_LEASE,
  ledgerNs,
  REVOKED_SESSION_NS,
  ROLLOUT_NS,
  WEIGHT_NS,
} from './namespaces.ts';
export type { ConnectionListener, RedisFleetOptions } from './redis/fleet.ts';
export type { LocalFleetOptions } from './sqlite.ts';
export type { StateStore } from './store.ts';
export { unavailable } from './unavailable.ts';
export { LocalFleet, MemoryStore, RedisFleet };

/** Timeouts for a Redis fleet given as a URL string (the object form carries its own). */
export type OpenFleetOptions = Pick<RedisFleetOptions, 'commandTimeout' | 'tokenTimeout'>;

/**
 * The fleet named by the config's `state` field: `memory`, `sqlite:PATH`,
 * `redis://…` / `rediss://…` / `redis+sentinel://…` / `redis+cluster://…`, or
 * `{ url, prefix?, commandTimeout?, tokenTimeout? }` (several fleets on one
 * Redis). A Redis fleet connects in the background; its calls reject while
 * Redis is unreachable (fail static is the caller's: member.ts).
 */
export function openFleet(
  spec: StateConfig | RedisFleetOptions,
  options: OpenFleetOptions = {},
): FleetStore {
  if (typeof spec !== 'string') return new RedisFleet({ ...options, ...spec });
  if (isRedisUrl(spec)) return new RedisFleet({ ...options, url: spec });
  if (spec === 'memory') return new MemoryStore();
  if (spec.startsWith('sqlite:')) return new LocalFleet(spec.slice('sqlite:'.length));
  throw new StateError(
    `unknown state store "${spec}"; expected sqlite:PATH, memory or a redis:// URL`,
  );
}
