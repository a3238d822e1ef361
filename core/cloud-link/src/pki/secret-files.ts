/**
 * Files that hold secrets (keys, tokens, the SQLite files that store them) are created mode 0600
 * and their directories 0700, whatever the umask; an existing file or directory is tightened to
 * those modes. Writes replace a file atomically (temporary file, then rename).
 */
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const SECRET_FILE_MODE = 0o600;
export const SECRET_DIR_MODE = 0o700;

/**
 * Creates `dir` (and its parents) and makes `dir` itself 0700. A directory this user does not own
 * (a volume's root mounted for it, e.g. with a Kubernetes fsGroup) is left as it is: chmod is
 * not allowed there, and the files in it are 0600 anyway.
 */
export function secretDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: SECRET_DIR_MODE });
  try {
    chmodSync(dir, SECRET_DIR_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
  return dir;
}

/**
 * Makes sure `file` exists with mode 0600 before something else (SQLite) opens it; SQLite gives
 * its `-wal` and `-shm` files the mode of the database file.
 */
export function secretFile(file: string): string {
  closeSync(openSync(file, 'a', SECRET_FILE_MODE));
  chmodSync(file, SECRET_FILE_MODE);
  return file;
}

/** Writes `data` to `file` (mode 0600) through a temporary file and a rename. */
export function writeSecretFile(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: SECRET_FILE_MODE });
  chmodSync(tmp, SECRET_FILE_MODE);
  renameSync(tmp, file);
}

/** The directory of `file`, created 0700. */
export function secretParent(file: string): string {
  return secretDir(dirname(file));
}
