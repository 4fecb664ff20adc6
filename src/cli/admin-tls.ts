// How the CLI reaches an https:// admin API: whom it trusts, and the
// certificate it shows when the admin listener asks for one (mutual TLS).
//
// - `-c FILE` with `admin.tls`: the certificate the gateway serves is read
//   from the same file the gateway reads (`admin.tls.cert`) and trusted as
//   it is, self-signed or not (a pin: OpenSSL's partial-chain trust makes the
//   leaf itself the anchor), whatever name the CLI dialed (`0.0.0.0` in the
//   file becomes 127.0.0.1).
// - CUTOVER_ADMIN_CA (a PEM bundle), with either: its certificates are
//   trusted the same way, and anything they issued if it names the host.
// - `--admin https://…` without it: Node's CA store and the operating
//   system's (a company CA installed with update-ca-certificates counts).
// - CUTOVER_ADMIN_CERT and CUTOVER_ADMIN_KEY (PEM files, both or neither): the
//   client certificate for an admin listener with `admin.tls.ca`.
import type { X509Certificate } from 'node:crypto';
import {
  type ConnectionOptions,
  checkServerIdentity,
  getCACertificates,
  type PeerCertificate,
} from 'node:tls';
import {
  pairProblem,
  parseCertificates,
  parseKey,
  readPemSync,
  type TlsConfig,
} from '../config/index.ts';
import { TlsCertificateError } from '../errors.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** A PEM file an environment variable names, or a TlsCertificateError naming both. */
function readEnvPem(env: Env, name: string): { file: string; pem: Buffer } | undefined {
  const file = env[name];
  if (file === undefined || file === '') return undefined;
  const pem = readPemSync(file);
  if (typeof pem === 'string') throw new TlsCertificateError(file, `${name}: ${pem}`);
  return { file, pem };
}

function certificatesOf(name: string, file: string, pem: Buffer): X509Certificate[] {
  const certs = parseCertificates(pem, file);
  if (typeof certs === 'string') throw new TlsCertificateError(file, `${name}: ${certs}`);
  return certs;
}

/** The client certificate and key, checked as a listener's are; undefined when neither is set. */
function clientCertificate(env: Env): Pick<ConnectionOptions, 'cert' | 'key'> {
  const cert = readEnvPem(env, 'CUTOVER_ADMIN_CERT');
  const key = readEnvPem(env, 'CUTOVER_ADMIN_KEY');
  if (!cert && !key) return {};
  if (!cert || !key) {
    const [set, unset] = cert
      ? ['CUTOVER_ADMIN_CERT', 'CUTOVER_ADMIN_KEY']
      : ['CUTOVER_ADMIN_KEY', 'CUTOVER_ADMIN_CERT'];
    const file = (cert ?? key)!.file;
    throw new TlsCertificateError(file, `${set} is set but ${unset} is not: set both, or neither`);
  }
  const leaf = certificatesOf('CUTOVER_ADMIN_CERT', cert.file, cert.pem)[0];
  const keyObject = parseKey(key.pem, key.file);
  if (typeof keyObject === 'string') {
    throw new TlsCertificateError(key.file, `CUTOVER_ADMIN_KEY: ${keyObject}`);
  }
  const mismatch = pairProblem(leaf, keyObject, cert.file, key.file);
  if (mismatch) throw new TlsCertificateError(key.file, `CUTOVER_ADMIN_KEY: ${mismatch}`);
  return { cert: cert.pem, key: key.pem };
}

/** CUTOVER_ADMIN_CA's certificates, or undefined when it is not set. */
function adminCa(env: Env): X509Certificate[] | undefined {
  const ca = readEnvPem(env, 'CUTOVER_ADMIN_CA');
  return ca && certificatesOf('CUTOVER_ADMIN_CA', ca.file, ca.pem);
}

/** Node's store (its bundled roots and NODE_EXTRA_CA_CERTS) and the operating system's. */
function systemStore(): string[] {
  return [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];
}

/** The leaf of `admin.tls.cert`: the certificate the gateway serves. */
function servedLeaf(served: TlsConfig): X509Certificate {
  const pem = readPemSync(served.cert);
  if (typeof pem === 'string') throw new TlsCertificateError(served.cert, pem);
  return certificatesOf('admin.tls.cert', served.cert, pem)[0];
}

/**
 * TLS options for the CLI's connections to an https:// admin API. `served`:
 * the admin listener's own files (from `-c FILE`).
 *
 * Every certificate the CLI is given (the served leaf, CUTOVER_ADMIN_CA's
 * certificates) is trusted as it is: a server presenting one of them is
 * accepted whatever name was dialed (a pin), so a self-signed certificate
 * reaches every instance's address that `cutover instances` lists. A
 * certificate that only chains to them must name the host.
 */
export function adminTlsOptions(env: Env, served?: TlsConfig): ConnectionOptions {
  const client = clientCertificate(env);
  const pins = [...(served ? [servedLeaf(served)] : []), ...(adminCa(env) ?? [])];
  if (pins.length === 0) return { ...client, ca: systemStore() };
  const fingerprints = new Set(pins.map((c) => c.fingerprint256));
  return {
    ...client,
    ca: pins.map((c) => c.toString()),
    // Lets a pinned leaf (not self-signed when a CA issued it) end the chain.
    allowPartialTrustChain: true,
    checkServerIdentity: (host: string, peer: PeerCertificate) =>
      fingerprints.has(peer.fingerprint256) ? undefined : checkServerIdentity(host, peer),
  };
}
