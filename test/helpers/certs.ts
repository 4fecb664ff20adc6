// Certificates for TLS tests, made by the openssl CLI into a temp folder: a CA
// and leaf certificates it signs, with the SAN host names a test asks for.
// ECDSA P-256 keys: a few milliseconds each, where RSA 2048 takes ~100 ms.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Issued {
  /** Paths of the PEM files. */
  readonly cert: string;
  readonly key: string;
  /** Their contents. */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestCa extends Issued {
  readonly dir: string;
  /**
   * A leaf certificate with subject CN=`name` and SAN DNS names `hosts` (plus
   * IP 127.0.0.1), valid for server and client authentication, written to
   * `<dir>/<file>.crt` and `.key` (file defaults to name).
   */
  issue(name: string, hosts: readonly string[], file?: string): Promise<Issued>;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'openssl is not installed (npm test installs it: scripts/debian-packages.sh)',
      );
    }
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** `openssl req -x509`: a new P-256 key and a self-signed certificate for two days, with `extensions`. */
function selfSignedRequest(
  cert: string,
  key: string,
  subject: string,
  extensions: readonly string[],
  cwd: string,
): Promise<void> {
  return openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${subject}`,
      ...extensions.flatMap((e) => ['-addext', e]),
    ],
    cwd,
  );
}

function issued(cert: string, key: string): Issued {
  return {
    cert,
    key,
    certPem: readFileSync(cert, 'utf8'),
    keyPem: readFileSync(key, 'utf8'),
  };
}

/** A CA (CN=`name`) in `dir` (made if needed) or a new temp folder, valid for two days. */
export async function createCa(name = 'Cutover Test CA', dir?: string): Promise<TestCa> {
  const folder = dir ?? mkdtempSync(join(tmpdir(), 'cutover-certs-'));
  mkdirSync(folder, { recursive: true });
  const cert = join(folder, 'ca.crt');
  const key = join(folder, 'ca.key');
  await selfSignedRequest(
    cert,
    key,
    name,
    ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    folder,
  );
  let serial = 1;
  const issue = async (leaf: string, hosts: readonly string[], file = leaf): Promise<Issued> => {
    const leafKey = join(folder, `${file}.key`);
    const leafCert = join(folder, `${file}.crt`);
    const csr = join(folder, `${file}.csr`);
    const ext = join(folder, `${file}.ext`);
    const san = [...hosts.map((h) => `DNS:${h}`), 'IP:127.0.0.1'].join(',');
    writeFileSync(
      ext,
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    await openssl(
      ['req', '-new', ...EC_KEY, '-keyout', leafKey, '-out', csr, '-subj', `/CN=${leaf}`],
      folder,
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        cert,
        '-CAkey',
        key,
        '-set_serial',
        String(serial++),
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        leafCert,
      ],
      folder,
    );
    return issued(leafCert, leafKey);
  };
  return { ...issued(cert, key), dir: folder, issue };
}

/**
 * A self-signed leaf (CN=`name`, SAN DNS names `hosts` only, no IP), not a
 * CA (basicConstraints CA:FALSE), as an operator makes one for a private
 * admin port: `openssl req -x509 … -addext basicConstraints=CA:FALSE`.
 * Written to `<dir>/<name>.crt` and `.key`.
 */
export async function selfSigned(
  name: string,
  hosts: readonly string[],
  dir: string,
): Promise<Issued> {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await selfSignedRequest(
    cert,
    key,
    name,
    [
      `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ],
    dir,
  );
  return issued(cert, key);
}
