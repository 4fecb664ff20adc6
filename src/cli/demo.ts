// `cutover demo`: a legacy and a rewrite service on loopback and the gateway
// in front of them (examples/demo.yaml), with curl commands to try.
import { fileURLToPath } from 'node:url';
import { startDemoBackends } from './demo-backends.ts';
import { type Running, startCutover } from './run.ts';

export const DEMO_CONFIG = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));

export interface DemoOptions {
  port: number;
  adminPort: number;
  legacyPort: number;
  rewritePort: number;
}

export interface RunningDemo {
  readonly cutover: Running;
  readonly legacyUrl: string;
  readonly rewriteUrl: string;
  close(): Promise<void>;
}

export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  const backends = await startDemoBackends({
    legacyPort: o.legacyPort,
    rewritePort: o.rewritePort,
  });
  const legacyPort = new URL(backends.legacy.url).port;
  const rewritePort = new URL(backends.rewrite.url).port;
  let cutover: Running;
  try {
    cutover = await startCutover(DEMO_CONFIG, {
      env: {
        ...process.env,
        CUTOVER_PORT: String(o.port),
        CUTOVER_ADMIN_PORT: String(o.adminPort),
        DEMO_LEGACY_PORT: legacyPort,
        DEMO_REWRITE_PORT: rewritePort,
      },
    });
  } catch (error) {
    await backends.close();
    throw error;
  }
  return {
    cutover,
    legacyUrl: backends.legacy.url,
    rewriteUrl: backends.rewrite.url,
    async close() {
      await cutover.close();
      await backends.close();
    },
  };
}

export function demoBanner(d: RunningDemo): string {
  const gw = d.cutover.gatewayUrl;
  const ad = d.cutover.adminUrl;
  return `
Cutover demo is running.

  gateway   ${gw}
  admin     ${ad}   (routes: ${ad}/api/routes, metrics: ${ad}/metrics)
  legacy    ${d.legacyUrl}   (the "Java" service)
  rewrite   ${d.rewriteUrl}   (the "Go" rewrite)

Try:
  # a user is sticky: the same x-user-id always lands on the same side (see x-cutover-backend)
  curl -si -H 'x-user-id: 42' ${gw}/api/v1/user/42 | grep -i x-cutover-backend

  # how 100 users split at the route's weight (25%)
  for u in $(seq 1 100); do curl -s -o /dev/null -D - -H "x-user-id: $u" ${gw}/api/v1/user/$u | grep -i x-cutover-backend; done | sort | uniq -c

  # force a side with the override header
  curl -si -H 'x-release-stage: canary' ${gw}/api/v1/orders?user=7 | grep -i x-cutover-backend

  # move the orders route to 50% while it runs, then back to the file's weight
  curl -s -X PUT -H 'content-type: application/json' -d '{"weight":50}' ${ad}/api/routes/orders/weight
  curl -s -X DELETE ${ad}/api/routes/orders/weight

  # shadow copies of the orders route: the rewrite answers "total" as a string
  for u in 1 2 3 4 5; do curl -s -o /dev/null -H "x-user-id: $u" "${gw}/api/v1/orders?user=$u"; done
  npx cutover diffs orders --admin ${ad}

  # no route: a problem+json 404
  curl -si ${gw}/nope

Press Ctrl+C to stop.
`;
}
