// The process and its fleet: /metrics (Prometheus text) and /api/instances.
import type { AdminContext } from './context.ts';
import type { Endpoint } from './endpoint.ts';
import { sendJson, sendText } from './http.ts';

export const instanceEndpoints: readonly Endpoint<AdminContext>[] = [
  {
    method: 'GET',
    pattern: /^\/metrics$/,
    write: false,
    handle: async ({ res, deps }) =>
      sendText(res, 200, await deps.metrics.render(), deps.metrics.contentType),
  },
  {
    method: 'GET',
    pattern: /^\/api\/instances$/,
    write: false,
    handle: async ({ res, deps }) =>
      sendJson(res, 200, deps.member ? await deps.member.instances() : []),
  },
];
