// Reads a config file without ever blocking on it: opened non-blocking, and
// refused unless fstat says it is a regular file within the size limit. A
// config path replaced by a FIFO used to block a read forever, a directory or
// a symlink loop to throw out of the watcher (issue 9).
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ConfigFileError, ConfigTooLargeError } from '../errors.ts';

/** O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function openProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ELOOP':
      return 'a symbolic link loop (too many levels of symbolic links)';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENXIO':
      return 'not a regular file (a socket or a device)';
    default:
      return (err as Error).message;
  }
}

function kindOf(stat: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (stat.isDirectory()) return 'it is a directory';
  if (stat.isFIFO()) return 'it is a FIFO (named pipe), not a regular file';
  if (stat.isSocket()) return 'it is a socket, not a regular file';
  return 'it is a device, not a regular file';
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function tooLarge(file: string, size: string, maxBytes: number): ConfigTooLargeError {
  return new ConfigTooLargeError(
    file,
    `the file is ${size}, over the limit of ${maxBytes} bytes (${mib(maxBytes)}; CUTOVER_CONFIG_MAX_BYTES)`,
  );
}

async function readBounded(handle: FileHandle, file: string, size: number, maxBytes: number) {
  const chunks: Buffer[] = [];
  let total = 0;
  // Reads until end of file, at most maxBytes + 1 bytes: a file that grows
  // after the fstat is still refused, never read without bound.
  let want = Math.min(size, maxBytes) + 1;
  for (;;) {
    const chunk = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(chunk, 0, want, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) throw tooLarge(file, `more than ${maxBytes} bytes`, maxBytes);
    want = Math.min(64 * 1024, maxBytes + 1 - total);
  }
  return Buffer.concat(chunks, total);
}

function checkStat(file: string, stat: Stats, maxBytes: number): void {
  if (!stat.isFile()) throw new ConfigFileError(file, kindOf(stat));
  if (stat.size > maxBytes) throw tooLarge(file, `${stat.size} bytes`, maxBytes);
}

/**
 * The bytes of the config file. `file` is named in messages exactly as given.
 * Throws ConfigFileError (missing, not a regular file, a symlink loop) or
 * ConfigTooLargeError; the cause keeps the system error.
 */
export async function readConfigBytes(file: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (err) {
    throw new ConfigFileError(file, openProblem(err), { cause: err });
  }
  try {
    const stat = await handle.stat();
    checkStat(file, stat, maxBytes);
    return await readBounded(handle, file, stat.size, maxBytes);
  } catch (err) {
    if (err instanceof ConfigFileError || err instanceof ConfigTooLargeError) throw err;
    throw new ConfigFileError(file, openProblem(err), { cause: err });
  } finally {
    await handle.close();
  }
}

/**
 * readConfigBytes, synchronously, for the one read that must happen before a
 * function returns (the watcher's first hash). Never blocks on a FIFO either.
 */
export function readConfigBytesSync(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw new ConfigFileError(file, openProblem(err), { cause: err });
  }
  try {
    const stat = fstatSync(fd);
    checkStat(file, stat, maxBytes);
    const bytes = Buffer.allocUnsafe(Math.min(stat.size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      const read = readSync(fd, bytes, total, bytes.length - total, null);
      if (read === 0) return bytes.subarray(0, total);
      total += read;
      if (total > maxBytes) throw tooLarge(file, `more than ${maxBytes} bytes`, maxBytes);
      // The file grew after the fstat and filled the buffer: it is over the limit or it is this size.
      if (total === bytes.length) throw tooLarge(file, `growing while read`, maxBytes);
    }
  } finally {
    closeSync(fd);
  }
}
