// Polling with a deadline, for effects that happen after a request returns
// (reloads, probes, shadow comparisons). No timing is asserted: only that the
// effect shows up before the deadline.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until `done` accepts its value; fails naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  ms: number,
  probe: () => Promise<T>,
  done: (v: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      assert.fail(`${what}: not reached in ${ms} ms; last ${JSON.stringify(last)}`);
    await sleep(20);
    last = await probe();
  }
  return last;
}

/** Polls `check` until it returns true; fails naming `what` after `ms`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  await waitFor(
    what,
    ms,
    async () => await check(),
    (ok) => ok,
  );
}
