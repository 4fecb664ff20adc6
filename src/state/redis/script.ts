// One Lua script, run by its SHA1 (EVALSHA) so only the hash travels; when
// Redis does not know it (first use, or a Redis restarted with an empty
// script cache) the source is sent once with EVAL, which also caches it.
import { createHash } from 'node:crypto';

/** What a script needs of a connection (ioredis's Redis and Cluster both fit). */
export interface ScriptRunner {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(lua: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export class Script {
  readonly name: string;
  readonly #lua: string;
  readonly #sha: string;

  constructor(name: string, lua: string) {
    this.name = name;
    this.#lua = lua;
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(
    conn: ScriptRunner,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await conn.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await conn.eval(this.#lua, keys.length, ...keys, ...args);
    }
  }
}
