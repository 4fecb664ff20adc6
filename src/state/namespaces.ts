// The namespaces of the fleet's shared state, in one place: the gateway and
// the rollout controller write some of the same keys in one commit (a move
// sets the record, the weight and a ledger entry together).

/** Runtime weight of a route, by route name (a number). */
export const WEIGHT_NS = 'weight';
/** Forced breakers of a backend, by backend name ('open' | 'closed'). */
export const BREAKER_NS = 'breaker';
/** Rollout record of a route, by route name. */
export const ROLLOUT_NS = 'rollout';
/** Signed-out dashboard sessions, by session id: the cookie's expiry (epoch ms), when the key may go. */
export const REVOKED_SESSION_NS = 'session-revoked';
/** The ledger of a route: an append-only log with sequence numbers from the store. */
export const ledgerNs = (route: string): string => `ledger:${route}`;
/** The name of the lease the rollout controller runs under. */
export const CONTROLLER_LEASE = 'controller';
