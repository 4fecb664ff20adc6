import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

function yaml(upstream: string, tracing: boolean): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
tracing: { enabled: ${tracing} }
backends: { legacy: { url: ${upstream} } }
routes:
  - { name: traced, match: { path: /* }, legacy: legacy }
`;
}

describe('tracing (a real OpenTelemetry SDK registered globally)', () => {
  const exporter = new InMemorySpanExporter();
  let up: Upstream;

  before(async () => {
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    up = await startUpstream();
  });
  after(async () => {
    trace.disable();
    propagation.disable();
    await up.close();
  });

  test('tracing on: a server span continues the incoming trace and is passed upstream', async () => {
    exporter.reset();
    const gw = await startGateway(yaml(up.url, true));
    try {
      const res = await request(`${gw.url}/t`, {
        headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` },
      });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      const spans = exporter.getFinishedSpans();
      assert.equal(spans.length, 1);
      const span = spans[0];
      assert.equal(span.spanContext().traceId, TRACE_ID);
      assert.equal(span.parentSpanContext?.spanId, PARENT_SPAN);
      assert.equal(span.attributes['cutover.route'], 'traced');
      assert.equal(span.attributes['http.response.status_code'], 200);
      assert.equal(span.attributes['cutover.side'], 'legacy');
      // The upstream sees the same trace, with Cutover's span as its parent.
      const sent = String(up.requests.at(-1)!.headers.traceparent);
      assert.equal(sent, `00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    } finally {
      await gw.close();
    }
  });

  test('tracing off: no span, and the client traceparent passes unchanged', async () => {
    exporter.reset();
    const gw = await startGateway(yaml(up.url, false));
    try {
      const tp = `00-${TRACE_ID}-${PARENT_SPAN}-01`;
      await (await request(`${gw.url}/t`, { headers: { traceparent: tp } })).body.dump();
      assert.equal(exporter.getFinishedSpans().length, 0);
      assert.equal(up.requests.at(-1)!.headers.traceparent, tp);
    } finally {
      await gw.close();
    }
  });
});
