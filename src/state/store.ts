// The state store: small named values that must survive a restart (runtime
// weights now; breaker overrides and rollout state later). Async so that the
// Redis implementation (several instances) fits the same interface.

export interface StateStore {
  /** Where the state lives, for logs (`sqlite:/abs/path`, `memory`). */
  readonly description: string;
  get<T>(namespace: string, key: string): Promise<T | undefined>;
  set(namespace: string, key: string, value: unknown): Promise<void>;
  delete(namespace: string, key: string): Promise<boolean>;
  /** Every key of a namespace with its value. */
  list<T>(namespace: string): Promise<Map<string, T>>;
  close(): Promise<void>;
}
