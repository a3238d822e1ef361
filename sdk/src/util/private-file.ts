/**
 * Files only their owner may read: the twin database holds every device's spec (addresses,
 * registers, node ids) and readings, the history every reading, the cloud-sync queue what goes to
 * the cloud. A daemon's umask (often 022) would leave them readable by every local user.
 */
import { chmodSync, closeSync, fstatSync, openSync } from 'node:fs';

/**
 * Creates `file` empty with mode 0600 when it does not exist, and takes group and other bits off
 * an existing one (a database made by an older release, or copied in). Call it before SQLite
 * opens the file: SQLite gives the -wal and -shm files it creates the database file's mode.
 * `:memory:` is left alone.
 */
export function ensurePrivateFile(file: string): void {
  if (file === ':memory:') return;
  const fd = openSync(file, 'a', 0o600);
  try {
    const mode = fstatSync(fd).mode & 0o7777;
    if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o7700);
  } finally {
    closeSync(fd);
  }
}
