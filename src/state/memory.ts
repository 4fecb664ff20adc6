import type { StateStore } from './store.ts';

/** State that lives as long as the process (`state: memory`), for tests and throwaway runs. */
export class MemoryStore implements StateStore {
  readonly description = 'memory';
  readonly #data = new Map<string, Map<string, string>>();

  #ns(namespace: string): Map<string, string> {
    let ns = this.#data.get(namespace);
    if (!ns) {
      ns = new Map();
      this.#data.set(namespace, ns);
    }
    return ns;
  }

  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    const text = this.#data.get(namespace)?.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async set(namespace: string, key: string, value: unknown): Promise<void> {
    this.#ns(namespace).set(key, JSON.stringify(value));
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return this.#data.get(namespace)?.delete(key) ?? false;
  }

  async list<T>(namespace: string): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const [k, v] of this.#data.get(namespace) ?? []) out.set(k, JSON.parse(v) as T);
    return out;
  }

  async close(): Promise<void> {}
}
