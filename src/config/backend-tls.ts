// A backend's `tls` block resolved: the CA file read at load (so an unreadable
// or non-PEM file is a config error naming it, and a reload picks up a new
// bundle), checked only against https:// URLs — plain-TCP backends have no
// certificate to check.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FieldPath, PathIssue } from './normalize.ts';
import type { RawConfig } from './schema.ts';
import type { BackendTlsConfig } from './types.ts';

type RawBackendTls = NonNullable<RawConfig['backends'][string]['tls']>;

/** Larger than any real CA bundle (Mozilla's whole list is ~220 KiB). */
const MAX_CA_BYTES = 1024 * 1024;

function readCa(file: string, at: FieldPath, issues: PathIssue[]): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    issues.push({ path: at, message: `cannot read the CA file ${file} (${reason})` });
    return undefined;
  }
  if (text.length > MAX_CA_BYTES || !text.includes('-----BEGIN CERTIFICATE-----')) {
    issues.push({
      path: at,
      message: `expected PEM certificates (-----BEGIN CERTIFICATE-----) in ${file}`,
    });
    return undefined;
  }
  return text;
}

export function resolveBackendTls(
  name: string,
  raw: RawBackendTls | undefined,
  urls: readonly string[],
  folder: string,
  issues: PathIssue[],
): BackendTlsConfig | undefined {
  if (raw === undefined) return undefined;
  const at: FieldPath = ['backends', name, 'tls'];
  const plain = urls.find((u) => !u.startsWith('https:'));
  if (plain !== undefined) {
    issues.push({
      path: at,
      message: `tls applies to https:// backends only, got ${plain}`,
    });
  }
  const caFile = raw.ca === undefined ? undefined : resolve(folder, raw.ca);
  return Object.freeze({
    ca: caFile === undefined ? undefined : readCa(caFile, [...at, 'ca'], issues),
    caFile,
    servername: raw.servername,
    insecureSkipVerify: raw.insecureSkipVerify ?? false,
  });
}
