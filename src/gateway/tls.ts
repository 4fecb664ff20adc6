// The certificates of one TLS listener: a default one and one per SNI entry,
// reloaded when their files change (or on SIGHUP) without touching open
// connections. A reload either takes every file or none: while one file is
// unreadable, not PEM or not its certificate's key, new handshakes keep the
// certificates that worked, and the log names the file.
//
// Mutual TLS: `tls.ca` set means clients must present a certificate it
// signed (nginx ssl_verify_client on, Envoy's require_client_certificate);
// a client without one fails the handshake. The CA goes into every context,
// because after an SNI switch OpenSSL verifies against the new context's store.
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  createSecureContext,
  type SecureContext,
  type SecureContextOptions,
  type TlsOptions,
  type Server as TlsServer,
} from 'node:tls';
import {
  MAX_PEM_BYTES,
  pairProblem,
  parseCertificates,
  parseKey,
  readPemSync,
  readProblem,
  type TlsConfig,
} from '../config/index.ts';
import { TlsCertificateError } from '../errors.ts';
import type { Logger } from '../telemetry/index.ts';

/** TLS 1.0 and 1.1 are deprecated (RFC 8996); HTTP/2 needs 1.2 at least (RFC 9113 §9.2). */
const MIN_VERSION = 'TLSv1.2';
/** Certificate tools write cert, key and chain in a burst; one reload per burst. */
const DEBOUNCE_MS = 100;
/** A file replaced by delete-and-create is briefly absent; look again this many times before reporting it. */
const ABSENT_RETRIES = 10;

export type TlsReload =
  | { readonly result: 'loaded' }
  | { readonly result: 'unchanged' }
  | { readonly result: 'failed'; readonly error: TlsCertificateError };

export interface TlsCertificatesOptions {
  /** Reload when a file changes (a watch on each file's folder). */
  readonly watch?: boolean;
  /** Told of every reload's outcome, including the watch's own (for tests and metrics). */
  readonly onReload?: (outcome: TlsReload) => void;
}

/** Everything one reading of the files built; replaced whole, never changed. */
interface Material {
  readonly hash: string;
  /** What the servers' default context is built from (setSecureContext). */
  readonly defaults: SecureContextOptions;
  readonly fallback: SecureContext;
  /** Exact host names, lower-case. */
  readonly exact: ReadonlyMap<string, SecureContext>;
  /** `*.example.com` as `example.com`: one label before it matches. */
  readonly wildcard: ReadonlyMap<string, SecureContext>;
  /** When each leaf certificate ends, for the log. */
  readonly validTo: readonly { readonly file: string; readonly validTo: string }[];
}

/** The distinct files of a `tls` block, in a stable order (the hash covers them in it). */
function filesOf(tls: TlsConfig): string[] {
  const files = [tls.cert, tls.key, ...(tls.ca !== undefined ? [tls.ca] : [])];
  for (const entry of tls.sni) files.push(entry.cert, entry.key);
  return [...new Set(files)];
}

async function readPem(file: string): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (!info.isFile()) {
      throw new TlsCertificateError(file, `${file} is not a regular file, expected a PEM file`);
    }
    if (info.size > MAX_PEM_BYTES) {
      throw new TlsCertificateError(
        file,
        `${file} is ${info.size} bytes, too large for a PEM file`,
      );
    }
    return await readFile(file);
  } catch (err) {
    if (err instanceof TlsCertificateError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new TlsCertificateError(file, readProblem(file, e), { cause: e });
  }
}

function readPemNow(file: string): Buffer {
  const pem = readPemSync(file);
  if (typeof pem === 'string') throw new TlsCertificateError(file, pem);
  return pem;
}

/** A context for one certificate and key; throws naming the file at fault. */
function contextOf(
  certFile: string,
  keyFile: string,
  ca: Buffer | undefined,
  pems: ReadonlyMap<string, Buffer>,
  validTo: { file: string; validTo: string }[],
): { context: SecureContext; options: SecureContextOptions } {
  const cert = pems.get(certFile)!;
  const key = pems.get(keyFile)!;
  const certs = parseCertificates(cert, certFile);
  if (typeof certs === 'string') throw new TlsCertificateError(certFile, certs);
  const keyObject = parseKey(key, keyFile);
  if (typeof keyObject === 'string') throw new TlsCertificateError(keyFile, keyObject);
  const mismatch = pairProblem(certs[0], keyObject, certFile, keyFile);
  if (mismatch) throw new TlsCertificateError(keyFile, mismatch);
  validTo.push({ file: certFile, validTo: certs[0].validTo });
  const options: SecureContextOptions = { cert, key, ca, minVersion: MIN_VERSION };
  try {
    return { context: createSecureContext(options), options };
  } catch (err) {
    throw new TlsCertificateError(
      certFile,
      `${certFile} with key ${keyFile} cannot be used: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Builds every context from the files' bytes; throws naming the first file at fault. */
function buildMaterial(tls: TlsConfig, pems: ReadonlyMap<string, Buffer>): Material {
  const hash = createHash('sha256');
  for (const [file, pem] of pems) hash.update(file).update('\0').update(pem);
  let ca: Buffer | undefined;
  if (tls.ca !== undefined) {
    ca = pems.get(tls.ca)!;
    const cas = parseCertificates(ca, tls.ca);
    if (typeof cas === 'string') throw new TlsCertificateError(tls.ca, cas);
  }
  const validTo: { file: string; validTo: string }[] = [];
  const main = contextOf(tls.cert, tls.key, ca, pems, validTo);
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  for (const entry of tls.sni) {
    const { context } = contextOf(entry.cert, entry.key, ca, pems, validTo);
    for (const host of entry.hosts) {
      const name = host.toLowerCase();
      // The first entry naming a host wins (the config check refuses repeats).
      if (name.startsWith('*.')) {
        if (!wildcard.has(name.slice(2))) wildcard.set(name.slice(2), context);
      } else if (!exact.has(name)) exact.set(name, context);
    }
  }
  return {
    hash: hash.digest('hex'),
    defaults: main.options,
    fallback: main.context,
    exact,
    wildcard,
    validTo,
  };
}

export class TlsCertificates {
  readonly #tls: TlsConfig;
  readonly #logger: Logger;
  readonly #options: TlsCertificatesOptions;
  readonly #files: readonly string[];
  readonly #servers = new Set<TlsServer>();
  readonly #watchers: FSWatcher[] = [];
  #material: Material;
  #running: Promise<TlsReload> | undefined;
  #queued: Promise<TlsReload> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #absentTries = 0;
  #closed = false;

  /** Reads the files now (at start nothing is served yet); throws TlsCertificateError naming the file. */
  constructor(tls: TlsConfig, logger: Logger, options: TlsCertificatesOptions = {}) {
    this.#tls = tls;
    this.#logger = logger;
    this.#options = options;
    this.#files = filesOf(tls);
    this.#material = buildMaterial(tls, new Map(this.#files.map((f) => [f, readPemNow(f)])));
    this.#running = undefined;
    this.#queued = undefined;
    this.#timer = undefined;
    this.#warnExpired(this.#material);
    if (options.watch) this.#watch();
  }

  /**
   * Options for tls.createServer / http2.createSecureServer: the default
   * certificate, the SNI choice, TLS 1.2 at least, and client certificates
   * when `ca` is set. Pass the server to `attach` so reloads reach its default.
   */
  serverOptions(): TlsOptions {
    const mutual = this.#tls.ca !== undefined;
    return {
      ...this.#material.defaults,
      minVersion: MIN_VERSION,
      requestCert: mutual,
      rejectUnauthorized: mutual,
      SNICallback: (servername, done) => done(null, this.contextFor(servername)),
    };
  }

  /** A server whose default certificate (for clients that send no SNI) follows reloads. */
  attach(server: TlsServer): void {
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
  }

  /**
   * The context for a client's SNI name: an exact host, else a wildcard
   * matching its first label only (RFC 6125 §6.4.3: `*.example.com` matches
   * `a.example.com`, not `example.com` or `a.b.example.com`), else the default.
   */
  contextFor(servername: string): SecureContext {
    const m = this.#material;
    const name = servername.toLowerCase().replace(/\.$/, '');
    const exact = m.exact.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    return (dot > 0 ? m.wildcard.get(name.slice(dot + 1)) : undefined) ?? m.fallback;
  }

  /** Reads every file again (SIGHUP); logs the outcome. New handshakes use what loaded. */
  async reload(): Promise<TlsReload> {
    const outcome = await this.#load();
    this.#report(outcome);
    return outcome;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
    this.#servers.clear();
  }

  /** One reading at a time; a request during one gets one more after it (the files may have changed since it read them). */
  #load(): Promise<TlsReload> {
    if (this.#running === undefined) {
      this.#running = this.#readAndSwap().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.#load();
    });
    return this.#queued;
  }

  async #readAndSwap(): Promise<TlsReload> {
    let material: Material;
    try {
      const pems = await Promise.all(this.#files.map(readPem));
      material = buildMaterial(this.#tls, new Map(this.#files.map((f, i) => [f, pems[i]])));
    } catch (err) {
      if (err instanceof TlsCertificateError) return { result: 'failed', error: err };
      throw err;
    }
    if (this.#closed || material.hash === this.#material.hash) return { result: 'unchanged' };
    this.#material = material;
    // Open connections keep the context they shook hands with; only new ones see these.
    for (const server of this.#servers) server.setSecureContext(material.defaults);
    this.#warnExpired(material);
    return { result: 'loaded' };
  }

  #report(outcome: TlsReload): void {
    if (outcome.result === 'loaded') {
      this.#logger.info({ certificates: this.#material.validTo }, 'tls certificates reloaded');
    } else if (outcome.result === 'failed') {
      this.#logger.error(
        { code: outcome.error.code, file: outcome.error.file, err: outcome.error.message },
        'tls certificates not reloaded; the running ones stay',
      );
    }
    this.#options.onReload?.(outcome);
  }

  #warnExpired(material: Material): void {
    const now = Date.now();
    for (const { file, validTo } of material.validTo) {
      if (Date.parse(validTo) < now) {
        this.#logger.warn({ file, validTo }, 'tls certificate has expired; clients will refuse it');
      }
    }
  }

  /**
   * Watches each file's folder, not the file: certificates are replaced by
   * rename (certbot, editors) or by swapping a symbolic link to a new folder
   * (Kubernetes secret volumes' `..data`), which a watch on the file misses.
   * Only our files' names and `..`-names (the volume's links) count: a log
   * written in the same folder must not keep the reload waiting.
   */
  #watch(): void {
    const names = new Map<string, Set<string>>();
    for (const file of this.#files) {
      const dir = dirname(file);
      const set = names.get(dir) ?? new Set<string>();
      set.add(basename(file));
      names.set(dir, set);
    }
    for (const [dir, ours] of names) {
      try {
        const watcher = watch(dir, (_event, name) => {
          if (name === null || ours.has(name) || name.startsWith('..')) this.#schedule();
        });
        watcher.on('error', (err) =>
          this.#logger.warn({ dir, err: err.message }, 'tls certificate folder watch failed'),
        );
        this.#watchers.push(watcher);
      } catch (err) {
        this.#logger.warn(
          { dir, err: (err as Error).message },
          'tls certificate folder cannot be watched; reload with SIGHUP',
        );
      }
    }
  }

  /**
   * One reload DEBOUNCE_MS after the first change of a burst; later changes
   * of the burst fold into it (a timer pushed back at every event would never
   * fire while a folder keeps changing), and any after the reading starts get
   * a reload of their own.
   */
  #schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#reloadFromWatch().catch((err: unknown) =>
        this.#logger.error({ err: (err as Error).message }, 'tls certificate reload failed'),
      );
    }, DEBOUNCE_MS);
  }

  async #reloadFromWatch(): Promise<void> {
    const outcome = await this.#load();
    if (this.#closed) return;
    const absent =
      outcome.result === 'failed' &&
      (outcome.error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (absent && this.#absentTries < ABSENT_RETRIES) {
      this.#absentTries++;
      this.#schedule();
      return;
    }
    this.#absentTries = 0;
    this.#report(outcome);
  }
}
