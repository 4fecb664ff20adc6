// Reading a running Cutover's /metrics in tests: Prometheus text parsed into
// samples, looked up by name and a subset of labels.
import assert from 'node:assert/strict';
import { request } from 'undici';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
export function matching(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The one sample named `name` whose labels include `labels`; undefined when there is none. */
export function oneSample(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = matching(samples, name, labels);
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Sum of the samples of `name` whose labels include `labels` (0 when none). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  return matching(parseMetrics(text), name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** GET /metrics of a running gateway (200 expected). */
export async function scrapeMetrics(gw: { adminUrl: string }): Promise<string> {
  const res = await request(`${gw.adminUrl}/metrics`);
  const text = await res.body.text();
  assert.equal(res.statusCode, 200);
  return text;
}

/** The series of `name` matching `labels` on a running gateway. */
export async function metricSeries(
  gw: { adminUrl: string },
  name: string,
  labels: Record<string, string> = {},
): Promise<Sample[]> {
  return matching(parseMetrics(await scrapeMetrics(gw)), name, labels);
}

/** The value of the one series matching, or undefined when it does not exist. */
export async function metricOf(
  gw: { adminUrl: string },
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return oneSample(parseMetrics(await scrapeMetrics(gw)), name, labels);
}
