// HTTP/2 floods against a real Cutover (h2c beside HTTP/1.1 on one port, and
// TLS): the attacking session is ended with GOAWAY and closed, a client
// already connected and new clients go on being served, and the flood's
// streams do not turn into upstream requests by the thousand.
import assert from 'node:assert/strict';
import { type ClientHttp2Session, connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { createCa, type TestCa } from '../helpers/certs.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import {
  continuationFlood,
  H2_ERROR,
  RawH2Connection,
  type RawH2Options,
  rapidReset,
} from '../helpers/h2-frames.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const STREAMS = 5000;

function get(session: ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.resume();
    stream.on('end', () => resolve(status));
    stream.on('error', reject);
  });
}

function session(url: string, ca?: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = connect(url, ca ? { ca, servername: 'gw.test' } : {});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('HTTP/2 floods against the gateway', () => {
  let ca: TestCa;
  let upstream: Upstream;
  let gw: TestGateway;
  let plainUrl: string;
  let tlsUrl: string;
  before(async () => {
    ca = await createCa();
    const cert = await ca.issue('gw', ['gw.test']);
    upstream = await startUpstream({ name: 'legacy' });
    gw = await startGateway(`listen:
  - address: 127.0.0.1:0
    protocols: [http1, h2]
  - address: 127.0.0.1:0
    tls: { cert: ${cert.cert}, key: ${cert.key} }
admin: { listen: 127.0.0.1:0 }
state: memory
log: { access: false }
backends:
  legacy: { url: ${upstream.url} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`);
    [plainUrl, tlsUrl] = gw.running.listenerUrls;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  for (const kind of ['h2c', 'TLS'] as const) {
    test(`rapid reset over ${kind}: GOAWAY and close for the attacker, service for the others`, async (t) => {
      const url = kind === 'h2c' ? plainUrl : tlsUrl;
      const port = Number(new URL(url).port);
      const options: RawH2Options =
        kind === 'TLS' ? { tls: { servername: 'gw.test', ca: ca.certPem } } : {};
      const ca2 = kind === 'TLS' ? ca.certPem : undefined;
      const bystander = await session(url, ca2);
      assert.equal(await get(bystander, '/before'), 200);
      const before = upstream.requests.length;

      const attacker = await RawH2Connection.connect(port, options);
      const sent = await rapidReset(attacker, STREAMS);
      const ending = await attacker.ending();
      assert.ok(sent < STREAMS, `the session took all ${sent} resets`);
      if (ending !== 'reset') assert.notEqual(ending.errorCode, H2_ERROR.NO_ERROR);

      assert.equal(await get(bystander, '/during'), 200, 'a session opened before goes on');
      const fresh = await session(url, ca2);
      assert.equal(await get(fresh, '/after'), 200, 'a new client is served');
      fresh.close();
      bystander.close();
      const reached = upstream.requests.slice(before).filter((r) => r.url === '/flood').length;
      const how =
        ending === 'reset'
          ? 'a reset'
          : `GOAWAY ${ending.errorCode} after stream ${ending.lastStreamId}`;
      t.diagnostic(`${sent} streams sent, ended by ${how}; ${reached} reached the upstream`);
      assert.ok(
        reached < STREAMS / 2,
        `${reached} of ${STREAMS} reset streams reached the upstream`,
      );
    });

    test(`CONTINUATION flood over ${kind}: the endless header block ends the session; others are served`, async (t) => {
      const url = kind === 'h2c' ? plainUrl : tlsUrl;
      const port = Number(new URL(url).port);
      const options: RawH2Options =
        kind === 'TLS' ? { tls: { servername: 'gw.test', ca: ca.certPem } } : {};
      const ca2 = kind === 'TLS' ? ca.certPem : undefined;
      const before = upstream.requests.length;
      const attacker = await RawH2Connection.connect(port, options);
      const frames = await continuationFlood(attacker);
      const ending = await attacker.ending();
      if (ending !== 'reset') assert.notEqual(ending.errorCode, H2_ERROR.NO_ERROR);
      t.diagnostic(
        `${frames} CONTINUATION frames sent, ended by ${ending === 'reset' ? 'a reset' : `GOAWAY ${ending.errorCode}`}`,
      );
      const fresh = await session(url, ca2);
      assert.equal(await get(fresh, '/after'), 200);
      fresh.close();
      assert.deepEqual(
        upstream.requests.slice(before).map((r) => r.url),
        ['/after'],
        'the never-ending request reached no upstream',
      );
    });
  }
});
