// Every error a user can meet has its own class and a stable code. The codes
// are listed in docs/errors.md; test/errors.test.ts checks the two agree.
// Problem+json bodies (RFC 9457) carry the code in their `code` member.

export class CutoverError extends Error {
  readonly code: string;
  /** HTTP status when the error is answered to a client. */
  readonly status: number;
  constructor(code: string, message: string, status = 500, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CutoverError';
    this.code = code;
    this.status = status;
  }
}

/** One problem found in a config file, with where it is. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Field path such as `routes[1].split.stickyKey`; empty for the whole document. */
  path: string;
  message: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

export class ConfigError extends CutoverError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(formatConfigIssue);
    super(
      'CUTOVER_ERR_CONFIG',
      `invalid config (${issues.length} error${issues.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
      400,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export class ConfigFileError extends CutoverError {
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super('CUTOVER_ERR_CONFIG_FILE', `cannot read config ${file}: ${reason}`, 400, options);
    this.name = 'ConfigFileError';
  }
}

export class ConfigTooLargeError extends CutoverError {
  constructor(file: string, reason: string) {
    super('CUTOVER_ERR_CONFIG_TOO_LARGE', `config ${file} refused: ${reason}`, 400);
    this.name = 'ConfigTooLargeError';
  }
}

export class ConfigTimeoutError extends CutoverError {
  constructor(file: string, limitMs: number) {
    super(
      'CUTOVER_ERR_CONFIG_TIMEOUT',
      `config ${file} refused: reading and checking it took longer than ${limitMs} ms (CUTOVER_CONFIG_TIMEOUT)`,
      400,
    );
    this.name = 'ConfigTimeoutError';
  }
}

/**
 * A listener's (or the admin listener's) certificate, key or CA file that
 * cannot be read or used: at start it stops the listener; on a reload the
 * running certificates stay. The CLI throws it for the files its
 * CUTOVER_ADMIN_CA / _CERT / _KEY variables name.
 */
export class TlsCertificateError extends CutoverError {
  /** The file at fault. */
  readonly file: string;
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super('CUTOVER_ERR_TLS_CERTIFICATE', reason, 500, options);
    this.name = 'TlsCertificateError';
    this.file = file;
  }
}

export class NoRouteError extends CutoverError {
  constructor(method: string, path: string) {
    super('CUTOVER_ERR_NO_ROUTE', `no route matches ${method} ${path}`, 404);
    this.name = 'NoRouteError';
  }
}

export class BadRequestError extends CutoverError {
  constructor(message: string) {
    super('CUTOVER_ERR_BAD_REQUEST', message, 400);
    this.name = 'BadRequestError';
  }
}

/** A request target Cutover will not route: see src/gateway/request-target.ts. */
export class BadTargetError extends CutoverError {
  constructor(message: string) {
    super('CUTOVER_ERR_BAD_TARGET', message, 400);
    this.name = 'BadTargetError';
  }
}

/** A missing, repeated or malformed Host, or one the absolute-form target contradicts (RFC 9112 §3.2). */
export class BadHostError extends CutoverError {
  constructor(message: string) {
    super('CUTOVER_ERR_BAD_HOST', message, 400);
    this.name = 'BadHostError';
  }
}

export class BodyTooLargeError extends CutoverError {
  constructor(limit: number) {
    super('CUTOVER_ERR_BODY_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`, 413);
    this.name = 'BodyTooLargeError';
  }
}

export class ClientTimeoutError extends CutoverError {
  constructor(timeoutMs: number) {
    super(
      'CUTOVER_ERR_CLIENT_TIMEOUT',
      `the client sent nothing of its request body for ${timeoutMs} ms`,
      408,
    );
    this.name = 'ClientTimeoutError';
  }
}

export class ClientSendTimeoutError extends CutoverError {
  constructor(timeoutMs: number) {
    super(
      'CUTOVER_ERR_CLIENT_SEND_TIMEOUT',
      `the client read nothing of the answer for ${timeoutMs} ms`,
      499,
    );
    this.name = 'ClientSendTimeoutError';
  }
}

/**
 * A gRPC call over HTTP/1.1: gRPC needs HTTP/2 end to end (its status comes
 * in trailers). 505 as grpc-go's own server answers it (RFC 9110 §15.6.6:
 * the major version of HTTP is the problem).
 */
export class GrpcNeedsHttp2Error extends CutoverError {
  constructor() {
    super(
      'CUTOVER_ERR_GRPC_PROTOCOL',
      'gRPC needs HTTP/2: this call came over HTTP/1.1; connect with HTTP/2 (h2c with prior knowledge, or TLS with ALPN h2) to a listener whose protocols list h2',
      505,
    );
    this.name = 'GrpcNeedsHttp2Error';
  }
}

/** A gRPC call whose route chose a backend spoken to over HTTP/1.1 (`protocol: http1`). */
export class GrpcBackendHttp1Error extends CutoverError {
  constructor(route: string, backend: string) {
    super(
      'CUTOVER_ERR_GRPC_BACKEND_PROTOCOL',
      `route ${route}: backend ${backend} is spoken to over HTTP/1.1 (protocol: http1), which cannot carry a gRPC call; set its protocol to h2c or h2`,
      501,
    );
    this.name = 'GrpcBackendHttp1Error';
  }
}

export class UpstreamConnectError extends CutoverError {
  constructor(route: string, backend: string, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_UPSTREAM_CONNECT',
      `route ${route}: backend ${backend} could not be reached`,
      502,
      options,
    );
    this.name = 'UpstreamConnectError';
  }
}

export class UpstreamResetError extends CutoverError {
  constructor(route: string, backend: string, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_UPSTREAM_RESET',
      `route ${route}: backend ${backend} closed the connection before answering`,
      502,
      options,
    );
    this.name = 'UpstreamResetError';
  }
}

export class UpstreamTimeoutError extends CutoverError {
  constructor(route: string, backend: string, phase: string, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_UPSTREAM_TIMEOUT',
      `route ${route}: backend ${backend} timed out (${phase})`,
      504,
      options,
    );
    this.name = 'UpstreamTimeoutError';
  }
}

/** A backend's 101 that switches to no protocol, or to one the request did not offer (RFC 9110 §15.2.2). */
export class UpgradeMismatchError extends CutoverError {
  constructor(route: string, backend: string, asked: string, got: string) {
    super(
      'CUTOVER_ERR_UPGRADE_MISMATCH',
      `route ${route}: backend ${backend} switched to "${got}" when "${asked}" was asked`,
      502,
    );
    this.name = 'UpgradeMismatchError';
  }
}

/**
 * The HTTP client refused to send a request upstream (undici's own checks,
 * or a pool closed by a config reload): nothing reached the backend, so the
 * failure is the gateway's and never counts against the backend.
 */
export class ForwardRefusedError extends CutoverError {
  constructor(route: string, backend: string, reason: string, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_FORWARD_REFUSED',
      `route ${route}: the gateway could not send the request to backend ${backend}: ${reason}`,
      500,
      options,
    );
    this.name = 'ForwardRefusedError';
  }
}

export class UnauthorizedError extends CutoverError {
  constructor(detail = 'a valid bearer token is required') {
    super('CUTOVER_ERR_UNAUTHORIZED', detail, 401);
    this.name = 'UnauthorizedError';
  }
}

/** Too many wrong dashboard sign-ins from one address (src/admin/sign-in-throttle.ts). */
export class SignInThrottledError extends CutoverError {
  constructor(waitSeconds: number) {
    super(
      'CUTOVER_ERR_SIGN_IN_THROTTLED',
      `too many wrong tokens from this address: sign-in is refused for ${waitSeconds} s more`,
      429,
    );
    this.name = 'SignInThrottledError';
  }
}

/** GET /api/events while the admin listener already holds its cap of open event streams. */
export class TooManyStreamsError extends CutoverError {
  constructor(max: number) {
    super(
      'CUTOVER_ERR_TOO_MANY_STREAMS',
      `${max} event streams are open on this admin listener; close a dashboard or retry later`,
      503,
    );
    this.name = 'TooManyStreamsError';
  }
}

/** A signed-in viewer (or the viewer's bearer token) asked for a change. */
export class ForbiddenError extends CutoverError {
  constructor(what: string) {
    super(
      'CUTOVER_ERR_FORBIDDEN',
      `${what}: the viewer role reads only; sign in as an operator`,
      403,
    );
    this.name = 'ForbiddenError';
  }
}

/** A change from another site, or a cookie-authenticated change without the session's CSRF token. */
export class CsrfError extends CutoverError {
  constructor(detail: string) {
    super('CUTOVER_ERR_CSRF', detail, 403);
    this.name = 'CsrfError';
  }
}

export class NotFoundError extends CutoverError {
  constructor(what: string) {
    super('CUTOVER_ERR_NOT_FOUND', `${what} not found`, 404);
    this.name = 'NotFoundError';
  }
}

export class InvalidArgumentError extends CutoverError {
  constructor(message: string) {
    super('CUTOVER_ERR_INVALID_ARGUMENT', message, 400);
    this.name = 'InvalidArgumentError';
  }
}

export class AdminUnsafeError extends CutoverError {
  constructor(listen: string) {
    super(
      'CUTOVER_ERR_ADMIN_UNSAFE',
      `admin.listen ${listen} is not a loopback address, so admin.token is required`,
      500,
    );
    this.name = 'AdminUnsafeError';
  }
}

export class StateError extends CutoverError {
  constructor(message: string, options?: ErrorOptions) {
    super('CUTOVER_ERR_STATE', message, 500, options);
    this.name = 'StateError';
  }
}

/**
 * The shared state store cannot be reached: the connection is down (Redis
 * stopped, a network cut), not yet up, or the store refused the command.
 * Every instance then fails static (keeps what it knew).
 */
export class StateUnavailableError extends CutoverError {
  constructor(store: string, reason: string, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_STATE_UNAVAILABLE',
      `state store ${store} unreachable: ${reason}`,
      503,
      options,
    );
    this.name = 'StateUnavailableError';
  }
}

/** A state command had no answer within its timeout (a hung or overloaded store). */
export class StateTimeoutError extends CutoverError {
  constructor(store: string, command: string, ms: number, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_STATE_TIMEOUT',
      `state store ${store}: ${command} had no answer in ${ms} ms`,
      503,
      options,
    );
    this.name = 'StateTimeoutError';
  }
}

export class AdminRequestError extends CutoverError {
  constructor(message: string, options?: ErrorOptions) {
    super('CUTOVER_ERR_ADMIN_REQUEST', message, 502, options);
    this.name = 'AdminRequestError';
  }
}

export class BreakerOpenError extends CutoverError {
  constructor(route: string, backend: string) {
    super(
      'CUTOVER_ERR_BREAKER_OPEN',
      `route ${route}: the circuit breaker of backend ${backend} is open`,
      503,
    );
    this.name = 'BreakerOpenError';
  }
}

export class RateLimitedError extends CutoverError {
  constructor(route: string) {
    super('CUTOVER_ERR_RATE_LIMITED', `route ${route}: rate limit exceeded`, 429);
    this.name = 'RateLimitedError';
  }
}

export class OverloadedError extends CutoverError {
  constructor(route: string, limit: number) {
    super(
      'CUTOVER_ERR_OVERLOADED',
      `route ${route}: too many requests in flight (limit ${limit}); shedding load`,
      503,
    );
    this.name = 'OverloadedError';
  }
}

export class BackendBusyError extends CutoverError {
  constructor(route: string, backend: string, reason: 'full' | 'timeout') {
    super(
      'CUTOVER_ERR_BACKEND_BUSY',
      reason === 'full'
        ? `route ${route}: every connection to backend ${backend} is busy and its queue is full`
        : `route ${route}: no connection to backend ${backend} came free within its queueTimeout`,
      503,
    );
    this.name = 'BackendBusyError';
  }
}

export class RolloutConflictError extends CutoverError {
  constructor(message: string) {
    super('CUTOVER_ERR_ROLLOUT_CONFLICT', message, 409);
    this.name = 'RolloutConflictError';
  }
}

export class PrometheusQueryError extends CutoverError {
  constructor(query: string, reason: string, options?: ErrorOptions) {
    super(
      'CUTOVER_ERR_PROMETHEUS',
      `prometheus query ${JSON.stringify(query)}: ${reason}`,
      502,
      options,
    );
    this.name = 'PrometheusQueryError';
  }
}

export class WebhookError extends CutoverError {
  constructor(url: string, reason: string, options?: ErrorOptions) {
    super('CUTOVER_ERR_WEBHOOK', `webhook ${url}: ${reason}`, 502, options);
    this.name = 'WebhookError';
  }
}

/** A trace export `cutover plan` reads is unreadable, malformed or truncated. */
export class TraceFileError extends CutoverError {
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super('CUTOVER_ERR_TRACE_FILE', `trace file ${file}: ${reason}`, 400, options);
    this.name = 'TraceFileError';
  }
}

/** A `modules.yaml` for `cutover plan` is unreadable or invalid; every problem is listed at once. */
export class ModulesFileError extends CutoverError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const lines = issues.map(formatConfigIssue);
    super(
      'CUTOVER_ERR_MODULES_FILE',
      `invalid modules file (${issues.length} error${issues.length === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`,
      400,
      options,
    );
    this.name = 'ModulesFileError';
    this.issues = issues;
  }
}

/** The incidents CSV given to `cutover report` has a line it cannot read. */
export class IncidentsFileError extends CutoverError {
  constructor(file: string, line: number, reason: string) {
    super('CUTOVER_ERR_INCIDENTS_FILE', `incidents file ${file}:${line}: ${reason}`, 400);
    this.name = 'IncidentsFileError';
  }
}
