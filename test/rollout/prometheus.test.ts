// queryPrometheus against a real Prometheus (Debian's `prometheus`) scraping a
// tiny node:http /metrics server, plus fake servers for the failures a real
// one will not produce on demand (a hang, a proxy's HTML error page).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PrometheusQueryError } from '../../src/errors.ts';
import { queryPrometheus } from '../../src/rollout/prometheus.ts';
import { freePort, startPrometheus, type TestPrometheus } from '../helpers/prometheus.ts';
import { waitFor } from '../helpers/wait.ts';

const TIMEOUT = { timeoutMs: 2000 };

let requestsTotal = 5;

function metricsText(): string {
  return [
    '# TYPE cutover_test_requests_total counter',
    `cutover_test_requests_total ${requestsTotal}`,
    '# TYPE cutover_test_by_side gauge',
    'cutover_test_by_side{side="legacy"} 1',
    'cutover_test_by_side{side="rewrite"} 2',
    'cutover_test_by_side{side="shadow"} 4',
    '# TYPE cutover_test_nan gauge',
    'cutover_test_nan NaN',
    '',
  ].join('\n');
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

function isQueryError(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PrometheusQueryError, `not a PrometheusQueryError: ${error}`);
    assert.equal(error.code, 'CUTOVER_ERR_PROMETHEUS');
    assert.match(error.message, pattern);
    return true;
  };
}

describe('queryPrometheus against a real Prometheus', () => {
  const metrics = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText());
  });
  let prometheus: TestPrometheus;

  before(async () => {
    const port = await listen(metrics);
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
    // The first scrape lands within a scrape interval (1s) of the start.
    await waitFor(
      'first scrape',
      20_000,
      () => queryPrometheus(prometheus.url, 'cutover_test_requests_total', TIMEOUT),
      (v) => v !== undefined,
    );
  });

  after(async () => {
    await prometheus?.stop();
    await close(metrics);
  });

  test('a scalar answer is its number', async () => {
    assert.equal(await queryPrometheus(prometheus.url, '1+1', TIMEOUT), 2);
    assert.equal(
      await queryPrometheus(
        prometheus.url,
        'scalar(cutover_test_by_side{side="rewrite"})',
        TIMEOUT,
      ),
      2,
    );
  });

  test('a one-series vector is its sample, and follows the scraped value', async () => {
    assert.equal(await queryPrometheus(prometheus.url, 'cutover_test_requests_total', TIMEOUT), 5);
    requestsTotal = 42;
    await waitFor(
      'the bumped counter',
      20_000,
      () => queryPrometheus(prometheus.url, 'cutover_test_requests_total', TIMEOUT),
      (v) => v === 42,
    );
    assert.equal(await queryPrometheus(prometheus.url, 'sum(cutover_test_by_side)', TIMEOUT), 7);
  });

  test('an empty vector and NaN are no data (undefined)', async () => {
    assert.equal(
      await queryPrometheus(prometheus.url, 'cutover_test_no_such_metric', TIMEOUT),
      undefined,
    );
    assert.equal(await queryPrometheus(prometheus.url, 'cutover_test_nan', TIMEOUT), undefined);
    assert.equal(await queryPrometheus(prometheus.url, '0/0', TIMEOUT), undefined);
  });

  test('infinities are numbers', async () => {
    assert.equal(await queryPrometheus(prometheus.url, '1/0', TIMEOUT), Number.POSITIVE_INFINITY);
    assert.equal(await queryPrometheus(prometheus.url, '-1/0', TIMEOUT), Number.NEGATIVE_INFINITY);
  });

  test('a parse error is thrown with Prometheus own words', async () => {
    await assert.rejects(
      queryPrometheus(prometheus.url, 'sum(', TIMEOUT),
      isQueryError(/"sum\(": answered 400: .*parse error/),
    );
  });

  test('several series, a range vector, a string are not one number', async () => {
    await assert.rejects(
      queryPrometheus(prometheus.url, 'cutover_test_by_side', TIMEOUT),
      isQueryError(/3 series; the query must return one number \(wrap it in sum\(\)\)/),
    );
    await assert.rejects(
      queryPrometheus(prometheus.url, 'cutover_test_requests_total[1m]', TIMEOUT),
      isQueryError(/a range vector/),
    );
    await assert.rejects(
      queryPrometheus(prometheus.url, '"hello"', TIMEOUT),
      isQueryError(/a string/),
    );
  });

  test('a base URL with a trailing slash works', async () => {
    assert.equal(await queryPrometheus(`${prometheus.url}/`, '1+2', TIMEOUT), 3);
  });
});

describe('queryPrometheus failures without a Prometheus', () => {
  test('an unreachable server (a closed port) is connection refused', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      queryPrometheus(url, 'up', TIMEOUT),
      isQueryError(new RegExp(`${url}: connection refused`)),
    );
  });

  test('a server that never answers times out; a 502 page is quoted', async () => {
    const fake = createServer((req, res) => {
      if (req.url?.startsWith('/proxy/')) {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>\n');
      }
      // Anything else hangs until the server closes.
    });
    const port = await listen(fake);
    try {
      await assert.rejects(
        queryPrometheus(`http://127.0.0.1:${port}/hang`, 'up', { timeoutMs: 200 }),
        isQueryError(/timed out after 200 ms/),
      );
      await assert.rejects(
        queryPrometheus(`http://127.0.0.1:${port}/proxy`, 'up', TIMEOUT),
        isQueryError(/answered 502: <h1>Bad Gateway<\/h1>$/),
      );
    } finally {
      await close(fake);
    }
  });

  test("the caller's abort is thrown as the caller's reason", async () => {
    const fake = createServer(() => {});
    const port = await listen(fake);
    try {
      const controller = new AbortController();
      const reason = new Error('controller stopping');
      const pending = queryPrometheus(`http://127.0.0.1:${port}`, 'up', {
        timeoutMs: 10_000,
        signal: controller.signal,
      });
      controller.abort(reason);
      await assert.rejects(pending, (error) => error === reason);
    } finally {
      await close(fake);
    }
  });
});
