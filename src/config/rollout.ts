// A route's `rollout` block and the global `rollouts` block, merged with
// DEFAULTS and checked against the rest of the route.
import { DEFAULTS } from './defaults.ts';
import type { FieldPath, PathIssue } from './normalize.ts';
import type { RawConfig } from './schema.ts';
import type { Config, RolloutConfig, WebhookConfig } from './types.ts';

type Route = RawConfig['routes'][number];
type RawWebhook = NonNullable<NonNullable<RawConfig['rollouts']>['webhooks']>[number];

export function resolveWebhooks(raw: readonly RawWebhook[] | undefined): readonly WebhookConfig[] {
  return Object.freeze(
    (raw ?? []).map((w) =>
      Object.freeze({
        url: w.url,
        kind: w.kind ?? 'event',
        timeoutMs: w.timeout ?? DEFAULTS.webhook.timeout,
        retries: w.retries ?? DEFAULTS.webhook.retries,
        headers: Object.freeze({ ...(w.headers ?? {}) }),
      }),
    ),
  );
}

export function resolveRollout(
  raw: Route,
  at: (...rest: (string | number)[]) => FieldPath,
  hasPrometheus: boolean,
  issues: PathIssue[],
): RolloutConfig | undefined {
  const r = raw.rollout;
  if (!r) return undefined;
  if (raw.candidate === undefined) {
    issues.push({ path: at('rollout'), message: 'a rollout needs a candidate backend' });
  }
  const d = DEFAULTS.rollout;
  const shadowFor = r.shadowFor ?? d.shadowFor;
  if (shadowFor > 0 && raw.shadow === false) {
    const given = r.shadowFor !== undefined;
    issues.push({
      path: given ? at('rollout', 'shadowFor') : at('shadow'),
      message: `the rollout's shadow phase (shadowFor ${given ? `${shadowFor} ms` : '10m by default'}) needs shadow copies; set rollout.shadowFor: 0s to skip it, or remove shadow: false`,
    });
  }
  const g = r.gates ?? {};
  const dg = DEFAULTS.gates;
  const prometheus = (g.prometheus ?? []).map((p, i) => {
    if ((p.max === undefined) === (p.min === undefined)) {
      issues.push({
        path: at('rollout', 'gates', 'prometheus', i),
        message: 'expected exactly one of max or min',
      });
    }
    if (!hasPrometheus) {
      issues.push({
        path: at('rollout', 'gates', 'prometheus', i),
        message: 'a Prometheus gate needs rollouts.prometheus.url',
      });
    }
    return Object.freeze({ name: p.name, query: p.query, max: p.max, min: p.min });
  });
  const b = g.baseline;
  return Object.freeze({
    autoStart: r.autoStart ?? d.autoStart,
    steps: Object.freeze([...(r.steps ?? d.steps)]),
    interval: r.interval ?? d.interval,
    shadowFor,
    minRequests: r.minRequests ?? d.minRequests,
    window: r.window ?? d.window,
    failureLimit: r.failureLimit ?? d.failureLimit,
    onSuccess: r.onSuccess ?? (d.onSuccess as 'done' | 'pause'),
    gates: Object.freeze({
      errorRate: g.errorRate === false ? undefined : (g.errorRate ?? dg.errorRate),
      p95: g.p95 === false ? undefined : (g.p95 ?? dg.p95),
      baseline:
        b === false
          ? undefined
          : Object.freeze({
              errorRate: b?.errorRate ?? dg.baseline.errorRate,
              p99: b?.p99 ?? dg.baseline.p99,
              errorRateFloor: b?.errorRateFloor ?? dg.baseline.errorRateFloor,
              p99Floor: b?.p99Floor ?? dg.baseline.p99Floor,
            }),
      mismatchRate: g.mismatchRate === false ? undefined : (g.mismatchRate ?? dg.mismatchRate),
      prometheus: Object.freeze(prometheus),
    }),
    webhooks: resolveWebhooks(r.webhooks),
  });
}

export function resolveRollouts(raw: RawConfig['rollouts']): Config['rollouts'] {
  return Object.freeze({
    checkEvery: raw?.checkEvery ?? DEFAULTS.rolloutCheckEvery,
    webhooks: resolveWebhooks(raw?.webhooks),
    prometheus: raw?.prometheus
      ? Object.freeze({
          url: raw.prometheus.url,
          timeoutMs: raw.prometheus.timeout ?? DEFAULTS.prometheusTimeout,
        })
      : undefined,
  });
}
