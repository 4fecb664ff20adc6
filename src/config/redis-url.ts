// The Redis URL forms `state:` accepts, parsed once: by the config schema (so
// a bad URL is reported with the file and line) and by the state module when
// it opens the fleet. Pure: no connection is made here.
//
//   redis://[[user]:password@]host[:port][/db]          one server
//   rediss://…                                          the same over TLS
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/master[/db][?sentinelPassword=…]
//   redis+cluster://[[user]:password@]host[:port][,host[:port]…]
//   rediss+sentinel://…, rediss+cluster://…            the same over TLS
//
// The password in the userinfo is the data nodes' (the master's, the
// cluster's); Sentinels often run without one, so theirs is a separate
// query parameter. Percent-encode `@`, `:` and `/` in a password.

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

export interface RedisTarget {
  /** One server; Sentinels that name the master; or seed nodes of a Cluster. */
  readonly mode: 'standalone' | 'sentinel' | 'cluster';
  /** The server, the Sentinels or the Cluster's seed nodes. */
  readonly nodes: readonly RedisNode[];
  readonly tls: boolean;
  /** Database index; always 0 for a Cluster (it has no other). */
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Sentinel only: the master's name as the Sentinels know it. */
  readonly masterName: string | undefined;
  /** Sentinel only: the Sentinels' own password. */
  readonly sentinelPassword: string | undefined;
}

/** Ports Redis and Sentinel listen on unless told otherwise. */
const DEFAULT_PORT = { data: 6379, sentinel: 26379 } as const;

const URL_FORM =
  /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/;
const NODE = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/;

/** True for the schemes this parser handles (`redis://`, `rediss+cluster://`, …). */
export function isRedisUrl(text: string): boolean {
  return /^rediss?(?:\+(?:sentinel|cluster))?:\/\//.test(text);
}

/** The target a Redis URL names, or the reason it names none (said as "expected …"). */
export function parseRedisUrl(text: string): RedisTarget | { readonly error: string } {
  const m = URL_FORM.exec(text);
  if (!m) return { error: `expected ${FORMS}, got ${redactedJson(text)}` };
  const [, scheme, kind, userinfo, hostList, path = '', query = ''] = m;
  const mode = kind === 'sentinel' ? 'sentinel' : kind === 'cluster' ? 'cluster' : 'standalone';
  const nodes: RedisNode[] = [];
  for (const part of hostList.split(',')) {
    const n = NODE.exec(part);
    const port = n?.[3] === undefined ? undefined : Number(n[3]);
    if (!n || (port !== undefined && (port < 1 || port > 65535)))
      return { error: `expected host or host:port, got ${JSON.stringify(part)} in the URL` };
    const fallback = mode === 'sentinel' ? DEFAULT_PORT.sentinel : DEFAULT_PORT.data;
    nodes.push({ host: n[1] ?? n[2], port: port ?? fallback });
  }
  if (mode === 'standalone' && nodes.length > 1)
    return {
      error: `expected one host in a ${scheme}:// URL (several are for +sentinel or +cluster)`,
    };

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    const pass = colon === -1 ? undefined : userinfo.slice(colon + 1);
    const decodedUser = user === '' ? undefined : decode(user);
    const decodedPass = pass === undefined || pass === '' ? undefined : decode(pass);
    if (decodedUser === null || decodedPass === null)
      return { error: 'expected percent-encoding in the URL’s user and password' };
    username = decodedUser;
    password = decodedPass;
  }

  const segments = path.split('/').filter((s) => s !== '');
  let masterName: string | undefined;
  if (mode === 'sentinel') {
    masterName = segments.shift();
    if (masterName === undefined)
      return { error: 'expected the master’s name after the Sentinels: …/mymaster[/db]' };
  }
  const dbText = segments.shift() ?? '0';
  if (segments.length > 0 || !/^\d{1,5}$/.test(dbText))
    return { error: `expected a database number after the host, got ${JSON.stringify(path)}` };
  const db = Number(dbText);
  if (mode === 'cluster' && db !== 0)
    return { error: `a Redis Cluster has only database 0, got /${db}` };

  let sentinelPassword: string | undefined;
  for (const pair of query === '' ? [] : query.split('&')) {
    const [name, value = ''] = pair.split('=');
    if (mode !== 'sentinel' || name !== 'sentinelPassword')
      return { error: `unknown URL parameter ${JSON.stringify(name)}` };
    const decoded = decode(value);
    if (decoded === null) return { error: 'expected percent-encoding in sentinelPassword' };
    sentinelPassword = decoded;
  }

  return {
    mode,
    nodes,
    tls: scheme === 'rediss',
    db,
    username,
    password,
    masterName,
    sentinelPassword,
  };
}

/** The target for logs: no password. */
export function describeRedisTarget(t: RedisTarget): string {
  const scheme = `redis${t.tls ? 's' : ''}${t.mode === 'standalone' ? '' : `+${t.mode}`}`;
  const hosts = t.nodes
    .map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`)
    .join(',');
  const path = t.mode === 'sentinel' ? `/${t.masterName}/${t.db}` : `/${t.db}`;
  return `${scheme}://${hosts}${path}`;
}

const FORMS =
  'redis://[:password@]host:port/db, rediss://…, redis+sentinel://host:port,…/master/db or redis+cluster://host:port,…';

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** A URL quoted in a message, its password masked. */
function redactedJson(text: string): string {
  return JSON.stringify(text.replace(/\/\/([^@/:]*):[^@/]*@/, '//$1:***@'));
}
