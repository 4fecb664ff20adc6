// OpenTelemetry through the API package only: with no SDK registered every
// call is a no-op, and the gateway checks `enabled` before building anything.
import type { IncomingHttpHeaders } from 'node:http';
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export interface ProxySpan {
  readonly span: Span;
  readonly ctx: Context;
}

/** A server span for one proxied request, child of the incoming traceparent. */
export function startProxySpan(
  headers: IncomingHttpHeaders,
  method: string,
  route: string,
): ProxySpan | undefined {
  const parent = propagation.extract(context.active(), headers, headerGetter);
  const span = trace.getTracer('cutover').startSpan(
    `${method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'cutover.route': route },
    },
    parent,
  );
  if (!span.isRecording()) return undefined;
  return { span, ctx: trace.setSpan(parent, span) };
}

/** The traceparent (and tracestate) to send upstream for this span. */
export function injectTraceHeaders(ps: ProxySpan, into: Record<string, string>): void {
  propagation.inject(ps.ctx, into);
}

export function endProxySpan(ps: ProxySpan, status: number, side: string, error?: Error): void {
  ps.span.setAttribute('http.response.status_code', status);
  ps.span.setAttribute('cutover.side', side);
  if (error) ps.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  ps.span.end();
}
