// A TLS listener's certificates: which one a client gets by SNI, what a reload
// does to new and open connections, and what a bad file changes (nothing but
// a log line naming it). Real handshakes on 127.0.0.1 against a node:tls echo
// server using TlsCertificates' options.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import type { TlsConfig } from '../../src/config/index.ts';
import { TlsCertificateError } from '../../src/errors.ts';
import {
  TlsCertificates,
  type TlsCertificatesOptions,
  type TlsReload,
} from '../../src/gateway/tls.ts';
import { createCa, type Issued, type TestCa } from '../helpers/certs.ts';

interface Handshake {
  /** The subject CN of the certificate the server sent. */
  readonly cn: string;
  readonly authorized: boolean;
}

/** Log lines a TlsCertificates wrote, parsed. */
function captureLog(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

interface EchoServer {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** A TLS echo server with the certificates' options, attached so reloads reach its default. */
async function echoServer(certs: TlsCertificates): Promise<EchoServer> {
  const server = createServer(certs.serverOptions(), (socket) => socket.pipe(socket));
  certs.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (s: TLSSocket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connects (with `servername` as SNI unless undefined), echoes one line, and says what it saw. */
function openClient(
  port: number,
  servername: string | undefined,
  ca: string,
  clientCert?: Issued,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      // An IP address is never sent as SNI; no servername means no SNI at all.
      servername: servername ?? '',
      ca,
      // The name is checked by the test (CN), not by the client.
      checkServerIdentity: () => undefined,
      ...(clientCert ? { cert: clientCert.certPem, key: clientCert.keyPem } : {}),
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function echo(socket: TLSSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d: Buffer) => resolve(d.toString()));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the echo')));
    socket.write(text);
  });
}

async function handshake(
  port: number,
  servername: string | undefined,
  ca: string,
  clientCert?: Issued,
): Promise<Handshake> {
  const socket = await openClient(port, servername, ca, clientCert);
  try {
    // Echo once: with TLS 1.3 a refused client certificate only shows on the first read.
    assert.equal(await echo(socket, 'ping'), 'ping');
    return { cn: socket.getPeerCertificate().subject.CN as string, authorized: socket.authorized };
  } finally {
    socket.destroy();
  }
}

/** Options that watch the files, and a way to wait for the watch's next outcome of a kind. */
function watching(): {
  options: TlsCertificatesOptions;
  next: (result: TlsReload['result']) => Promise<TlsReload>;
} {
  const waiting: { result: string; resolve: (o: TlsReload) => void }[] = [];
  const onReload = (o: TlsReload): void => {
    for (const w of waiting.filter((w) => w.result === o.result)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(o);
    }
  };
  return {
    options: { watch: true, onReload },
    next: (result) => new Promise((resolve) => waiting.push({ result, resolve })),
  };
}

describe('TLS certificates', () => {
  let ca: TestCa;
  let main: Issued;
  let api: Issued;
  let wild: Issued;
  let client: Issued;
  let mainNext: Issued;
  before(async () => {
    ca = await createCa();
    main = await ca.issue('main', ['main.test']);
    api = await ca.issue('api', ['api.test']);
    wild = await ca.issue('wild', ['*.apps.test']);
    client = await ca.issue('client', ['client.test']);
    mainNext = await ca.issue('main-next', ['main.test']);
  });

  /** A folder of its own holding copies of main's files, so a test may change them. */
  function ownCopy(name: string): { cert: string; key: string; dir: string } {
    const dir = join(ca.dir, name);
    mkdirSync(dir, { recursive: true });
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, main.certPem);
    writeFileSync(key, main.keyPem);
    return { cert, key, dir };
  }

  function config(fields: Partial<TlsConfig> = {}): TlsConfig {
    return {
      cert: main.cert,
      key: main.key,
      ca: undefined,
      sni: [
        { hosts: ['api.test', 'API2.test'], cert: api.cert, key: api.key },
        { hosts: ['*.apps.test'], cert: wild.cert, key: wild.key },
      ],
      ...fields,
    };
  }

  describe('the certificate a client gets', () => {
    let certs: TlsCertificates;
    let server: EchoServer;
    before(async () => {
      certs = new TlsCertificates(config(), pino({ level: 'silent' }));
      server = await echoServer(certs);
    });
    after(async () => {
      await server.close();
      certs.close();
    });

    test('by SNI: an exact host, case-insensitive, with or without the trailing dot', async () => {
      assert.equal((await handshake(server.port, 'api.test', ca.certPem)).cn, 'api');
      assert.equal((await handshake(server.port, 'Api2.TEST', ca.certPem)).cn, 'api');
      assert.equal((await handshake(server.port, 'api.test.', ca.certPem)).cn, 'api');
    });

    test('a wildcard matches one label, not the bare name or two labels', async () => {
      assert.equal((await handshake(server.port, 'shop.apps.test', ca.certPem)).cn, 'wild');
      assert.equal((await handshake(server.port, 'SHOP.Apps.Test', ca.certPem)).cn, 'wild');
      assert.equal((await handshake(server.port, 'apps.test', ca.certPem)).cn, 'main');
      assert.equal((await handshake(server.port, 'a.shop.apps.test', ca.certPem)).cn, 'main');
    });

    test('an unknown name, and no SNI at all, get the default certificate', async () => {
      assert.equal((await handshake(server.port, 'unknown.test', ca.certPem)).cn, 'main');
      assert.equal((await handshake(server.port, undefined, ca.certPem)).cn, 'main');
    });

    test('TLS 1.1 is refused; TLS 1.2 and 1.3 are served', async () => {
      const attempt = (maxVersion: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3') =>
        new Promise<string>((resolve) => {
          const socket = connect({
            host: '127.0.0.1',
            port: server.port,
            servername: 'api.test',
            ca: ca.certPem,
            minVersion: 'TLSv1',
            maxVersion,
          });
          socket.once('secureConnect', () => {
            resolve(socket.getProtocol() ?? 'none');
            socket.destroy();
          });
          socket.once('error', () => resolve('refused'));
        });
      assert.equal(await attempt('TLSv1.1'), 'refused');
      assert.equal(await attempt('TLSv1.2'), 'TLSv1.2');
      assert.equal(await attempt('TLSv1.3'), 'TLSv1.3');
    });
  });

  test('a CA makes client certificates required, on the default and on SNI certificates', async () => {
    const certs = new TlsCertificates(config({ ca: ca.cert }), pino({ level: 'silent' }));
    const server = await echoServer(certs);
    try {
      for (const name of ['api.test', 'main.test', undefined]) {
        await assert.rejects(handshake(server.port, name, ca.certPem), /certificate required/);
        assert.equal((await handshake(server.port, name, ca.certPem, client)).authorized, true);
      }
      // A certificate from another CA is refused too: the server closes before serving.
      const stranger = await (await createCa('Stranger CA')).issue('stranger', ['x.test']);
      await assert.rejects(handshake(server.port, 'api.test', ca.certPem, stranger));
    } finally {
      await server.close();
      certs.close();
    }
  });

  test('a file that cannot be used at start is an error naming it', () => {
    const missing = join(ca.dir, 'nowhere.crt');
    assert.throws(
      () => new TlsCertificates(config({ cert: missing }), pino({ level: 'silent' })),
      (err: unknown) =>
        err instanceof TlsCertificateError &&
        err.code === 'CUTOVER_ERR_TLS_CERTIFICATE' &&
        err.file === missing &&
        err.message === `${missing} does not exist`,
    );
    assert.throws(
      () => new TlsCertificates(config({ key: api.key }), pino({ level: 'silent' })),
      (err: unknown) => err instanceof TlsCertificateError && err.file === api.key,
    );
  });

  describe('reload', () => {
    test('good files: new handshakes get the new certificate; an open connection goes on', async () => {
      const files = ownCopy('reload-good');
      const certs = new TlsCertificates(config(files), captureLog().logger);
      const server = await echoServer(certs);
      try {
        const open = await openClient(server.port, 'main.test', ca.certPem);
        assert.equal(open.getPeerCertificate().subject.CN, 'main');
        writeFileSync(files.cert, mainNext.certPem);
        writeFileSync(files.key, mainNext.keyPem);
        assert.deepEqual(await certs.reload(), { result: 'loaded' });
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main-next');
        // No SNI: the server's own default context was replaced too.
        assert.equal((await handshake(server.port, undefined, ca.certPem)).cn, 'main-next');
        // SNI certificates that did not change are still served.
        assert.equal((await handshake(server.port, 'api.test', ca.certPem)).cn, 'api');
        assert.equal(await echo(open, 'still here'), 'still here');
        assert.equal(open.getPeerCertificate().subject.CN, 'main');
        open.destroy();
        assert.deepEqual(await certs.reload(), { result: 'unchanged' });
      } finally {
        await server.close();
        certs.close();
      }
    });

    test('a bad file keeps the running certificates and logs the file; fixing it loads', async () => {
      const files = ownCopy('reload-bad');
      const log = captureLog();
      const certs = new TlsCertificates(config(files), log.logger);
      const server = await echoServer(certs);
      try {
        writeFileSync(files.cert, 'not a certificate\n');
        const failed = await certs.reload();
        assert.equal(failed.result, 'failed');
        assert.equal(failed.result === 'failed' && failed.error.file, files.cert);
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main');
        assert.equal((await handshake(server.port, undefined, ca.certPem)).cn, 'main');
        const line = log.lines.find(
          (l) => l.msg === 'tls certificates not reloaded; the running ones stay',
        );
        assert.deepEqual(line && [line.level, line.code, line.file], [
          50,
          'CUTOVER_ERR_TLS_CERTIFICATE',
          files.cert,
        ]);

        // The new certificate written before its key: a pair that does not match.
        writeFileSync(files.cert, mainNext.certPem);
        const mismatch = await certs.reload();
        assert.equal(mismatch.result === 'failed' && mismatch.error.file, files.key);
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main');

        writeFileSync(files.key, mainNext.keyPem);
        assert.deepEqual(await certs.reload(), { result: 'loaded' });
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main-next');
        assert.ok(log.lines.some((l) => l.msg === 'tls certificates reloaded'));
      } finally {
        await server.close();
        certs.close();
      }
    });

    test('the watch reloads files replaced by rename', async () => {
      const files = ownCopy('watch-rename');
      const watch = watching();
      const certs = new TlsCertificates(config(files), pino({ level: 'silent' }), watch.options);
      const server = await echoServer(certs);
      try {
        const loaded = watch.next('loaded');
        writeFileSync(`${files.cert}.new`, mainNext.certPem);
        writeFileSync(`${files.key}.new`, mainNext.keyPem);
        renameSync(`${files.key}.new`, files.key);
        renameSync(`${files.cert}.new`, files.cert);
        await loaded;
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main-next');
      } finally {
        await server.close();
        certs.close();
      }
    });

    test('the watch follows a Kubernetes secret volume (..data symlink swapped to a new folder)', async () => {
      // The kubelet's atomic writer: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/;
      // an update writes a new timestamped folder and renames a new ..data link over the old.
      const dir = join(ca.dir, 'secret-volume');
      const first = join(dir, '..2024_01');
      const second = join(dir, '..2024_02');
      mkdirSync(first, { recursive: true });
      mkdirSync(second, { recursive: true });
      writeFileSync(join(first, 'tls.crt'), main.certPem);
      writeFileSync(join(first, 'tls.key'), main.keyPem);
      symlinkSync('..2024_01', join(dir, '..data'));
      symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
      symlinkSync('..data/tls.key', join(dir, 'tls.key'));
      const watch = watching();
      const certs = new TlsCertificates(
        config({ cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }),
        pino({ level: 'silent' }),
        watch.options,
      );
      const server = await echoServer(certs);
      try {
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main');
        const loaded = watch.next('loaded');
        writeFileSync(join(second, 'tls.crt'), mainNext.certPem);
        writeFileSync(join(second, 'tls.key'), mainNext.keyPem);
        symlinkSync('..2024_02', join(dir, '..data_tmp'));
        renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
        await loaded;
        assert.equal((await handshake(server.port, 'main.test', ca.certPem)).cn, 'main-next');
        assert.equal(readFileSync(join(dir, 'tls.crt'), 'utf8'), mainNext.certPem);
      } finally {
        await server.close();
        certs.close();
      }
    });
  });
});
