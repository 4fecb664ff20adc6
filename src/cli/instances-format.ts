// `cutover instances`: the fleet as GET /api/instances lists it.
import { table } from './diffs-format.ts';
import { formatTime } from './rollout-format.ts';

/** One element of GET /api/instances. */
export interface InstanceView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly startedAt: string;
  readonly lastSeen: string;
  readonly leader: boolean;
  readonly admin?: string;
}

export function formatInstances(list: readonly InstanceView[]): string {
  if (list.length === 0) return 'no instance is registered (is the state store reachable?)';
  const rows = [
    ['INSTANCE', 'LEADER', 'HOST', 'PID', 'VERSION', 'STARTED', 'LAST SEEN', 'ADMIN'],
    ...list.map((i) => [
      i.id,
      i.leader ? 'yes' : '',
      i.host,
      String(i.pid),
      i.version,
      formatTime(i.startedAt),
      formatTime(i.lastSeen),
      i.admin ?? '',
    ]),
  ];
  return table(rows);
}
