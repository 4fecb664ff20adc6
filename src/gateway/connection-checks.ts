// Node enforces headersTimeout and requestTimeout only when it walks its
// connection list, every connectionsCheckingInterval (30 s by default): with
// the default a slowloris held a socket 83 s past a 60 s headersTimeout.

/**
 * How often Node checks connections for headersTimeout and requestTimeout: a
 * tenth of the shorter one, between 10 ms and 1 s, so a slow client is closed
 * at most 10% (or 1 s) late. Each check walks every connection, which at
 * server.maxConnections is still far below a millisecond.
 */
export function checkingInterval(headersTimeout: number, requestTimeout: number): number {
  const shortest = Math.min(
    headersTimeout > 0 ? headersTimeout : Number.POSITIVE_INFINITY,
    requestTimeout > 0 ? requestTimeout : Number.POSITIVE_INFINITY,
  );
  if (!Number.isFinite(shortest)) return 1_000;
  return Math.min(1_000, Math.max(10, Math.round(shortest / 10)));
}
