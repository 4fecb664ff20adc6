// Upgrade requests (WebSocket and any other protocol switch, RFC 9110 §7.8)
// are tunnelled: the request head is re-written for the chosen backend, then
// bytes flow both ways until either side closes.
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type CutoverError, UpstreamConnectError, UpstreamTimeoutError } from '../errors.ts';
import { problemFromError, rawProblemResponse } from '../problem.ts';
import type { Logger } from '../telemetry/index.ts';
import type { Backend, BackendInstance } from './backends.ts';
import { HOP_BY_HOP } from './headers.ts';
import type { Side } from './split.ts';

export interface UpgradeTarget {
  readonly route: string;
  readonly side: Side;
  readonly backend: Backend;
  readonly instance: BackendInstance;
  readonly preserveHost: boolean;
  readonly clientIp: string;
  readonly logger: Logger;
}

/** Hop-by-hop fields except the two an upgrade needs to reach the backend. */
const DROP: ReadonlySet<string> = new Set([
  ...[...HOP_BY_HOP].filter((h) => h !== 'connection' && h !== 'upgrade'),
  // set again below, for this hop
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

function requestHead(req: IncomingMessage, t: UpgradeTarget): string {
  const lines = [`${req.method} ${t.instance.basePath}${req.url} HTTP/1.1`];
  let forwardedFor: string | undefined;
  let host: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (lower === 'host') {
      host = raw[i + 1];
      continue;
    }
    if (lower === 'x-forwarded-for') forwardedFor = raw[i + 1];
    if (DROP.has(lower)) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  lines.push(`host: ${t.preserveHost && host ? host : t.instance.host}`);
  lines.push(`x-forwarded-for: ${forwardedFor ? `${forwardedFor}, ${t.clientIp}` : t.clientIp}`);
  lines.push('x-forwarded-proto: http');
  if (host) lines.push(`x-forwarded-host: ${host}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export function proxyUpgrade(
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  t: UpgradeTarget,
): void {
  const url = new URL(t.instance.origin);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const options = { host: url.hostname, port, timeout: t.backend.config.connectTimeout };
  const upstream: Socket =
    url.protocol === 'https:'
      ? tlsConnect({ ...options, servername: url.hostname })
      : connect(options);
  let connected = false;
  const fail = (error: CutoverError) => {
    if (!connected && client.writable) {
      client.end(
        rawProblemResponse(problemFromError(error, { route: t.route, backend: t.backend.name })),
      );
    } else client.destroy();
    upstream.destroy();
  };
  upstream.once('timeout', () => {
    if (!connected) fail(new UpstreamTimeoutError(t.route, t.backend.name, 'connect'));
  });
  upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    connected = true;
    upstream.setTimeout(0);
    upstream.write(requestHead(req, t));
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    t.logger.debug(
      { route: t.route, side: t.side, backend: t.backend.name },
      'upgrade tunnel open',
    );
  });
  upstream.on('error', (e) =>
    fail(new UpstreamConnectError(t.route, t.backend.name, { cause: e })),
  );
  client.on('error', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
}
