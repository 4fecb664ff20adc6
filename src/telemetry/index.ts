export type { Logger, LoggerOptions } from './log.ts';
export { createLogger, flushLogger } from './log.ts';
export type { RouteSideMetrics } from './metrics.ts';
export { Metrics } from './metrics.ts';
export type { ProxySpan } from './tracing.ts';
export { endProxySpan, injectTraceHeaders, startProxySpan } from './tracing.ts';
