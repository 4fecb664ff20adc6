// One route's rollout work runs one piece at a time (a check, a manual action,
// a hard trip, a confirm answer), in the order it was queued; different routes
// do not wait for each other.
export class RouteQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier piece of work on the same route; its failure is the caller's. */
  run<T>(route: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(route) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#tails.set(route, tail);
    void tail.then(() => {
      if (this.#tails.get(route) === tail) this.#tails.delete(route);
    });
    return run;
  }

  /** Resolves once everything queued on the route so far has run. */
  async settled(route: string): Promise<void> {
    await this.#tails.get(route);
  }

  /** Resolves once everything queued so far, on any route, has run. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#tails.values()]);
  }
}
