// The certificate and key files of a listener's `tls`, checked at load: a
// file that cannot be read, that is not PEM, an encrypted key, or a key that
// does not belong to its certificate is a config error naming the file, not a
// listener that fails its first handshake. The same checks run again on every
// certificate reload (gateway/tls.ts), where a failure keeps the old ones.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { FieldPath, PathIssue } from './normalize.ts';
import { formatPath } from './positions.ts';
import type { TlsConfig } from './types.ts';

/** A CA bundle of every public root is about 220 KB; anything past 1 MiB is not a PEM file we want. */
export const MAX_PEM_BYTES = 1024 * 1024;

/** What one field of `tls` names: its place in the file and the path on disk. */
export interface TlsFile {
  readonly path: FieldPath;
  readonly file: string;
  readonly kind: 'certificate' | 'key' | 'ca';
}

/** Every file a `tls` block names, with the field that names it. */
export function tlsFiles(tls: TlsConfig, at: FieldPath): TlsFile[] {
  const files: TlsFile[] = [
    { path: [...at, 'cert'], file: tls.cert, kind: 'certificate' },
    { path: [...at, 'key'], file: tls.key, kind: 'key' },
  ];
  if (tls.ca !== undefined) files.push({ path: [...at, 'ca'], file: tls.ca, kind: 'ca' });
  tls.sni.forEach((entry, i) => {
    files.push({ path: [...at, 'sni', i, 'cert'], file: entry.cert, kind: 'certificate' });
    files.push({ path: [...at, 'sni', i, 'key'], file: entry.key, kind: 'key' });
  });
  return files;
}

/** Why a file could not be read, in a reader's words. */
export function readProblem(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `${file} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${file} cannot be read (permission denied)`;
    case 'EISDIR':
      return `${file} is a directory, expected a PEM file`;
    default:
      return `${file} cannot be read: ${err.message}`;
  }
}

/** Reads a PEM file at load time; a problem comes back as a message naming the file. */
export function readPemSync(file: string): Buffer | string {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return `${file} is not a regular file, expected a PEM file`;
    if (stat.size > MAX_PEM_BYTES) {
      return `${file} is ${stat.size} bytes, more than a PEM file should be (at most ${MAX_PEM_BYTES})`;
    }
    return readFileSync(file);
  } catch (err) {
    return readProblem(file, err as NodeJS.ErrnoException);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The certificates of a PEM file (a leaf and its chain, or a CA bundle), or why not. */
export function parseCertificates(pem: Buffer, file: string): X509Certificate[] | string {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE);
  if (!blocks) return `${file} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`;
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch (err) {
      const which = blocks.length > 1 ? `certificate ${i + 1} of ${file}` : file;
      return `${which} does not parse as an X.509 certificate: ${(err as Error).message}`;
    }
  }
  return certs;
}

/** A private key from PEM, or why not. Encrypted keys are refused: there is no passphrase to give. */
export function parseKey(pem: Buffer, file: string): KeyObject | string {
  // PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY) and legacy OpenSSL (Proc-Type: 4,ENCRYPTED) forms.
  const text = pem.toString('latin1');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('4,ENCRYPTED')) {
    return `${file} is an encrypted key; Cutover needs it unencrypted (openssl pkey -in KEY -out PLAIN)`;
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    return `${file} does not parse as a PEM private key: ${(err as Error).message}`;
  }
}

/** Why `key` cannot serve `cert` (the leaf, the first certificate of its file), or undefined. */
export function pairProblem(
  cert: X509Certificate,
  key: KeyObject,
  certFile: string,
  keyFile: string,
): string | undefined {
  if (cert.checkPrivateKey(key)) return undefined;
  return `${keyFile} is not the key of certificate ${certFile} (${cert.subject.replaceAll('\n', ', ')})`;
}

/**
 * A host of an SNI entry: a DNS name, or `*.` and a name with at least two
 * labels (one wildcard label, leftmost, as RFC 6125 §6.4.3 lets a certificate match).
 */
export function sniHostProblem(host: string): string | undefined {
  const name = host.startsWith('*.') ? host.slice(2) : host;
  const label = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((l) => label.test(l))) {
    return `expected a host name such as api.example.com or *.example.com, got ${JSON.stringify(host)}`;
  }
  if (host.startsWith('*.') && labels.length < 2) {
    return `a wildcard needs a name of two labels or more after *. (*.example.com), got ${JSON.stringify(host)}`;
  }
  return undefined;
}

/**
 * Reads and checks every file of one `tls` block, and its SNI hosts. Each
 * problem is reported at the field that names the file; a key is only
 * matched against its certificate when both parse.
 */
export function tlsFileIssues(tls: TlsConfig, at: FieldPath): PathIssue[] {
  const issues: PathIssue[] = [];
  const pair = (certPath: FieldPath, certFile: string, keyPath: FieldPath, keyFile: string) => {
    const certPem = readPemSync(certFile);
    const keyPem = readPemSync(keyFile);
    const certs = typeof certPem === 'string' ? certPem : parseCertificates(certPem, certFile);
    const key = typeof keyPem === 'string' ? keyPem : parseKey(keyPem, keyFile);
    if (typeof certs === 'string') issues.push({ path: certPath, message: certs });
    if (typeof key === 'string') issues.push({ path: keyPath, message: key });
    if (typeof certs === 'string' || typeof key === 'string') return;
    const mismatch = pairProblem(certs[0], key, certFile, keyFile);
    if (mismatch) issues.push({ path: keyPath, message: mismatch });
  };
  pair([...at, 'cert'], tls.cert, [...at, 'key'], tls.key);
  if (tls.ca !== undefined) {
    const caPem = readPemSync(tls.ca);
    const cas = typeof caPem === 'string' ? caPem : parseCertificates(caPem, tls.ca);
    if (typeof cas === 'string') issues.push({ path: [...at, 'ca'], message: cas });
  }
  const seen = new Map<string, number>();
  tls.sni.forEach((entry, i) => {
    const here: FieldPath = [...at, 'sni', i];
    entry.hosts.forEach((host, h) => {
      const problem = sniHostProblem(host);
      if (problem) {
        issues.push({ path: [...here, 'hosts', h], message: problem });
        return;
      }
      const name = host.toLowerCase();
      const first = seen.get(name);
      if (first !== undefined) {
        issues.push({
          path: [...here, 'hosts', h],
          message: `${host} is already served by ${formatPath([...at, 'sni', first])}`,
        });
      } else seen.set(name, i);
    });
    pair([...here, 'cert'], entry.cert, [...here, 'key'], entry.key);
  });
  return issues;
}
