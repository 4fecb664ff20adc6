// One instant query against Prometheus's HTTP API, reduced to one number for a
// gate. https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries
import { request } from 'undici';
import { PrometheusQueryError } from '../errors.ts';

export interface PrometheusQueryOptions {
  /** Bounds the whole exchange: connect, headers and body. */
  readonly timeoutMs: number;
  /** The caller's own cancellation (a stopping controller); its reason is thrown as is. */
  readonly signal?: AbortSignal;
}

// A gate needs one number; a bigger answer is a query that returns many
// series, and reading all of it would only delay the error that says so.
const MAX_ANSWER_BYTES = 1024 * 1024;

// Error answers can be proxies' HTML pages: a line of them is enough.
const MAX_REASON_CHARS = 200;

type Sample = [number, string];

interface QueryAnswer {
  status?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

/**
 * The query's value: a scalar, or the one sample of a vector. `undefined` when
 * there is no data yet (an empty vector, or NaN), so the gate waits. Throws
 * PrometheusQueryError for anything else: an error answer, several series, a
 * matrix or a string, a timeout, an unreachable server.
 */
export async function queryPrometheus(
  baseUrl: string,
  query: string,
  options: PrometheusQueryOptions,
): Promise<number | undefined> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'GET',
      signal,
      headers: { accept: 'application/json' },
    });
    status = res.statusCode;
    text = await readLimited(res.body, MAX_ANSWER_BYTES);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const reason = timeout.aborted
      ? `timed out after ${options.timeoutMs} ms`
      : `${baseUrl}: ${networkReason(error)}`;
    throw new PrometheusQueryError(query, reason, { cause: error });
  }
  return numberOfAnswer(query, status, text);
}

function numberOfAnswer(query: string, status: number, text: string): number | undefined {
  let answer: QueryAnswer | undefined;
  try {
    answer = JSON.parse(text) as QueryAnswer;
  } catch {
    answer = undefined;
  }
  if (status < 200 || status > 299 || answer?.status !== 'success') {
    // Prometheus's own errors are JSON with an `error` string (400 bad_data, 422, 503).
    const said = typeof answer?.error === 'string' ? answer.error : text.trim();
    const shown = said.length > MAX_REASON_CHARS ? `${said.slice(0, MAX_REASON_CHARS)}…` : said;
    throw new PrometheusQueryError(
      query,
      shown ? `answered ${status}: ${shown}` : `answered ${status}`,
    );
  }
  const type = answer.data?.resultType;
  const result = answer.data?.result;
  if (type === 'scalar' && isSample(result)) return sampleValue(result);
  if (type === 'vector' && Array.isArray(result)) {
    if (result.length === 0) return undefined;
    if (result.length > 1) {
      throw new PrometheusQueryError(
        query,
        `${result.length} series; the query must return one number (wrap it in sum())`,
      );
    }
    const sample = (result[0] as { value?: unknown }).value;
    if (isSample(sample)) return sampleValue(sample);
  }
  if (type === 'matrix') {
    throw new PrometheusQueryError(
      query,
      'a range vector; the query must return one number (drop the [range] or wrap it in a function such as rate())',
    );
  }
  if (type === 'string') {
    throw new PrometheusQueryError(query, 'a string; the query must return one number');
  }
  throw new PrometheusQueryError(
    query,
    `an answer of unknown shape: ${text.slice(0, MAX_REASON_CHARS)}`,
  );
}

function isSample(value: unknown): value is Sample {
  return Array.isArray(value) && value.length === 2 && typeof value[1] === 'string';
}

// Prometheus writes sample values as strings, with Go's spellings of the special floats.
function sampleValue(sample: Sample): number | undefined {
  const raw = sample[1];
  if (raw === '+Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(raw);
  return Number.isNaN(value) ? undefined : value;
}

async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > limit) throw new Error(`answer larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function networkReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  return error instanceof Error ? error.message : String(error);
}
