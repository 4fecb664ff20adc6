// Who this process is in the fleet: an id unique across machines and
// restarts (host, pid and a random part), for /api/instances and the lease.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { InstanceInfo } from '../state/index.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export function instanceInfo(): InstanceInfo {
  const host = hostname();
  return {
    id: `${host}-${process.pid}-${randomBytes(3).toString('hex')}`,
    host,
    pid: process.pid,
    version: VERSION,
    startedAt: new Date().toISOString(),
  };
}
