// Where a fleet keeps things in Redis. Everything of one fleet starts with its
// prefix, so fleets with different prefixes share one Redis without seeing
// each other.
//
// The versioned state (values, change feed, logs, leases, epochs, instances)
// lives under ONE hash tag, `{prefix}`: in a Redis Cluster every key with the
// same tag is in the same slot, and a Lua script may only touch keys of one
// slot. A commit must be atomic across namespaces (a rollout record, a
// weight and a ledger entry at once), check a lease and bump the one version
// counter, so all of that has to sit in one slot. The scripts are given
// `{prefix}:v` as KEYS[1] (which routes them to that slot) and build the
// other names from it (see scripts-store.ts for the names).
//
// Figures and token buckets are independent of each other and of the
// versioned state, so they use tags of their own and spread over the
// Cluster: figures under `{prefix:figures}` (one slot, so a range is read by
// one script), each token bucket as a key of its own. The minute history is
// under `{prefix:history}`, for the same reason.

export class FleetKeys {
  /** KEYS[1] of every versioned-state script; its hash tag is the state's slot. */
  readonly version: string;
  /** Pub/sub channel of the change hint (the commit script publishes on it). */
  readonly channel: string;
  /** Sorted set of the seconds that have figures; KEYS[1] of the figures scripts. */
  readonly figuresIndex: string;
  /** Sorted set of the minutes that have history rows; KEYS[1] of the history scripts. */
  readonly historyIndex: string;
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
    this.version = `{${prefix}}:v`;
    this.channel = `{${prefix}}:changes`;
    this.figuresIndex = `{${prefix}:figures}:index`;
    this.historyIndex = `{${prefix}:history}:index`;
  }

  /** Hash of one namespace: field = key, value = `<version>:<json>`. */
  values(ns: string): string {
    return `{${this.#prefix}}:kv:${ns}`;
  }

  /** Sorted set of one log's entries: score = seq, member = `<seq>:<json>`. */
  log(ns: string): string {
    return `{${this.#prefix}}:log:${ns}`;
  }

  /** One shared token bucket (a hash: tokens, at). */
  bucket(key: string): string {
    return `${this.#prefix}:bucket:${key}`;
  }
}
