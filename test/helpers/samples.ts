// Buffered answers for compare tests, as the gateway hands them over.
import type { ResponseSample } from '../../src/compare/index.ts';

/** A JSON answer with `body` serialised. */
export function jsonSample(body: unknown, status = 200): ResponseSample {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  };
}
