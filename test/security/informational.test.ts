// Issue 9, "upstream 1xx answers": an unsolicited 100 then 200 gave the
// client 502; 102 or 103 then 200 gave an empty reply logged as 200. Now
// 103 Early Hints reaches HTTP/1.1 clients, every other 1xx is swallowed,
// and the final answer always arrives whole.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseAnswer } from '../helpers/expect-client.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/wait.ts';

const HINT = '</style.css>; rel=preload; as=style';

/** A final answer with `body`. */
function final(body: string): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}
const FINAL = final('hello');
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** Looks like a 100, but is the body of a final answer. */
const LOOKALIKE = `${CONTINUE}hello`;

/** What the raw backend writes for each path, one write per piece, a turn of the event loop apart. */
const SCRIPTS: Record<string, string[]> = {
  '/unsolicited-100': [CONTINUE, FINAL],
  '/two-100': [CONTINUE, 'HTTP/1.1 100 Continue\r\nX-Note: again\r\n\r\n', FINAL],
  '/one-write': [CONTINUE + FINAL],
  '/trickle': [...CONTINUE.split(''), FINAL],
  '/processing': ['HTTP/1.1 102 Processing\r\n\r\n', FINAL],
  '/hints': [`HTTP/1.1 103 Early Hints\r\nLink: ${HINT}\r\n\r\n`, FINAL],
  '/hints-then-100': [`HTTP/1.1 103 Early Hints\r\nLink: ${HINT}\r\n\r\n`, CONTINUE, FINAL],
  '/lookalike-body': [`HTTP/1.1 200 OK\r\nContent-Length: ${LOOKALIKE.length}\r\n\r\n`, LOOKALIKE],
};

function writeAll(socket: Socket, pieces: readonly string[]): void {
  const [first, ...rest] = pieces;
  if (first === undefined || socket.destroyed) return;
  socket.write(first);
  setImmediate(() => writeAll(socket, rest));
}

/** A keep-alive backend that answers each GET head with its path's script, byte for byte. */
async function startRawBackend(): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        writeAll(socket, SCRIPTS[head.split(' ')[1]] ?? [FINAL]);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    sockets,
  };
}

/** Sends a raw GET and reads the whole answer (the gateway closes after it). */
function get(url: string, path: string, version = '1.1'): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let raw = '';
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(raw));
    socket.write(`GET ${path} HTTP/${version}\r\nHost: a\r\nConnection: close\r\n\r\n`);
  });
}

describe('upstream 1xx answers', () => {
  let backend: Awaited<ReturnType<typeof startRawBackend>>;
  let gw: TestGateway;

  before(async () => {
    backend = await startRawBackend();
    gw = await startGateway(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: memory
backends:
  legacy: { url: ${backend.url} }
routes:
  - name: main
    match: { path: /* }
    legacy: legacy
`);
  });
  after(async () => {
    await gw.close();
    for (const s of backend.sockets) s.destroy();
    await new Promise<void>((resolve) => backend.server.close(() => resolve()));
  });

  async function finalAnswer(path: string, version = '1.1', body = 'hello') {
    const answer = parseAnswer(await get(gw.url, path, version));
    assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer)}`);
    assert.equal(answer.body, body);
    return answer;
  }

  test('an unsolicited 100 is swallowed and the final answer arrives', async () => {
    const answer = await finalAnswer('/unsolicited-100');
    assert.deepEqual(answer.interim, []);
  });

  test('two unsolicited 100s are swallowed too', async () => {
    const answer = await finalAnswer('/two-100');
    assert.deepEqual(answer.interim, []);
  });

  test('a 100 in the same packet as the final answer, or trickling in byte by byte, is swallowed', async () => {
    assert.deepEqual((await finalAnswer('/one-write')).interim, []);
    assert.deepEqual((await finalAnswer('/trickle')).interim, []);
  });

  test('a final answer whose body looks like a 100 is left alone', async () => {
    await finalAnswer('/lookalike-body', '1.1', LOOKALIKE);
  });

  test('102 Processing is swallowed and the final answer arrives', async () => {
    const answer = await finalAnswer('/processing');
    assert.deepEqual(answer.interim, []);
  });

  test('103 Early Hints reaches an HTTP/1.1 client, then the final answer', async () => {
    const answer = await finalAnswer('/hints');
    assert.equal(answer.interim.length, 1);
    assert.match(answer.interim[0], /^HTTP\/1\.1 103 Early Hints\r\n/);
    assert.match(
      answer.interim[0],
      new RegExp(`\r\nlink: ${HINT.replace(/[.*+?^${}()|[\]\\<>]/g, '\\$&')}`, 'i'),
    );
  });

  test('103 then a stray 100: the hint comes through, the 100 does not', async () => {
    const answer = await finalAnswer('/hints-then-100');
    assert.equal(answer.interim.length, 1);
    assert.match(answer.interim[0], /^HTTP\/1\.1 103 /);
  });

  test('an HTTP/1.0 client gets no 1xx at all (RFC 9110 §15.2)', async () => {
    const answer = await finalAnswer('/hints', '1.0');
    assert.deepEqual(answer.interim, []);
  });

  test('the access log records the final status and body bytes', async () => {
    await finalAnswer('/processing');
    await eventually(
      'access lines written',
      () => gw.accessLogs().filter((l) => l.path === '/processing').length >= 2,
    );
    for (const line of gw.accessLogs().filter((l) => l.path === '/processing')) {
      assert.equal(line.status, 200);
      assert.equal(line.bytes, 5);
    }
  });
});
