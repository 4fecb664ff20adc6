// What a failed upstream attempt means, shared by the proxy exchange (undici)
// and the upgrade exchange (node:http): the problem the client is told, and
// how the attempt broke, which telemetry/outcome.ts turns into its outcome.
import {
  BackendBusyError,
  BadRequestError,
  BreakerOpenError,
  type CutoverError,
  ForwardRefusedError,
  OverloadedError,
  UpstreamConnectError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../errors.ts';
import type { AttemptBreak } from '../telemetry/index.ts';
import type { Backend } from './backends.ts';
import type { Refusal } from './recovery.ts';

/** Status logged when the client went away before the answer (NGINX's convention). */
export const CLIENT_CLOSED = 499;

/** The reason an attempt is cancelled when its client left. */
export class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** Our own timer cut the attempt; it carries the code undici would have used. */
export class AttemptTimeoutError extends Error {
  readonly code: 'UND_ERR_CONNECT_TIMEOUT' | 'UND_ERR_HEADERS_TIMEOUT';
  constructor(phase: 'connect' | 'headers') {
    super(phase === 'connect' ? 'connect timeout' : 'response headers timeout');
    this.name = 'AttemptTimeoutError';
    this.code = phase === 'connect' ? 'UND_ERR_CONNECT_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT';
  }
}

/** Error codes (undici's and Node's) → what the client is told (502 unreachable/reset, 504 timeout). */
export function classifyAttemptError(
  error: Error,
  route: string,
  backend: string,
): [CutoverError, AttemptBreak] {
  switch ((error as { code?: string }).code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return [new UpstreamTimeoutError(route, backend, 'connect', { cause: error }), 'connect'];
    case 'UND_ERR_HEADERS_TIMEOUT':
      return [
        new UpstreamTimeoutError(route, backend, 'waiting for response headers', {
          cause: error,
        }),
        'timeout',
      ];
    case 'UND_ERR_BODY_TIMEOUT':
      return [
        new UpstreamTimeoutError(route, backend, 'idle response body', { cause: error }),
        'timeout',
      ];
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return [
        new BadRequestError('request body length does not match Content-Length'),
        'client-error',
      ];
    // Refused by undici before anything was sent: its own argument checks
    // (lib/core/request.js), or a pool a config reload closed meanwhile.
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return [new ForwardRefusedError(route, backend, error.message, { cause: error }), 'refused'];
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return [new UpstreamConnectError(route, backend, { cause: error }), 'connect'];
    default:
      return [new UpstreamResetError(route, backend, { cause: error }), 'reset'];
  }
}

/** What the client is told when the gateway's own guards refused the last attempt (503, with Retry-After). */
export function refusalError(refusal: Refusal, route: string, backend: Backend): CutoverError {
  switch (refusal) {
    case 'breaker-open':
      return new BreakerOpenError(route, backend.name);
    case 'shed':
      return new OverloadedError(route, backend.concurrency!.limit);
    case 'queue-full':
      return new BackendBusyError(route, backend.name, 'full');
    case 'queue-timeout':
      return new BackendBusyError(route, backend.name, 'timeout');
  }
}
