// `cutover plan --jaeger URL` / `--zipkin URL`: asks a tracing backend's query
// API for a service's traces over a look-back and hands the answer, as a
// stream, to the same readers as a file (the answer is the JSON they read:
// Jaeger `{ data: [...] }`, Zipkin an array of traces, each an array of spans).
import { Readable } from 'node:stream';
import { parseDuration } from '../config/index.ts';
import { TraceFileError } from '../errors.ts';

export type QueryApi = 'jaeger' | 'zipkin';

export interface TraceQuery {
  readonly api: QueryApi;
  /** The query service's base URL: `http://jaeger:16686`, `http://zipkin:9411`. */
  readonly url: string;
  readonly service: string;
  readonly lookbackMs: number;
  readonly limit: number;
  /** End of the window, ms since the epoch. */
  readonly endMs: number;
}

const DAY_MS = 86_400_000;

/** `1d`, `12h`, `30m`, … in ms: Cutover's durations plus days, the usual unit of a trace look-back. */
export function parseLookback(text: string): number | undefined {
  const days = /^(\d+(?:\.\d+)?)d$/.exec(text.trim());
  const ms = days ? Math.round(Number(days[1]) * DAY_MS) : parseDuration(text);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * The query URL. Jaeger's HTTP API (the one its UI uses) takes µs:
 * `/api/traces?service=&start=&end=&limit=`; Zipkin's v2 API takes ms:
 * `/api/v2/traces?serviceName=&endTs=&lookback=&limit=`. A base URL with a
 * path (`http://host/jaeger`) keeps it.
 */
export function queryUrl(q: TraceQuery): URL {
  const base = new URL(q.url.endsWith('/') ? q.url : `${q.url}/`);
  if (q.api === 'jaeger') {
    const url = new URL('api/traces', base);
    url.searchParams.set('service', q.service);
    url.searchParams.set('start', String((q.endMs - q.lookbackMs) * 1000));
    url.searchParams.set('end', String(q.endMs * 1000));
    url.searchParams.set('limit', String(q.limit));
    return url;
  }
  const url = new URL('api/v2/traces', base);
  url.searchParams.set('serviceName', q.service);
  url.searchParams.set('endTs', String(q.endMs));
  url.searchParams.set('lookback', String(q.lookbackMs));
  url.searchParams.set('limit', String(q.limit));
  return url;
}

/** The answer's body as a stream; a refused connection or a non-2xx answer is a trace input error. */
export async function openTraceQuery(q: TraceQuery): Promise<{ url: URL; body: Readable }> {
  const url = queryUrl(q);
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    throw new TraceFileError(url.href, `query failed: ${cause.message}`);
  }
  if (!res.ok || res.body === null) {
    const text = (await res.text()).slice(0, 200);
    throw new TraceFileError(
      url.href,
      `query answered HTTP ${res.status}${text ? `: ${text}` : ''}`,
    );
  }
  return { url, body: Readable.fromWeb(res.body) };
}
