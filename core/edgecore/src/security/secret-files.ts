/**
 * Where the edge keeps its secrets and how they are written: a `security/` directory (0700) under
 * the data directory; every file in it 0600, replaced atomically (write, then rename) so a reader
 * never sees half a file.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const securityDir = (dataDir: string): string => join(dataDir, 'security');

/** Creates `dir` (and parents) and makes it 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Writes `text` to `file` with mode 0600, atomically; its directory becomes 0700. The temporary
 * file is created exclusively (O_EXCL): in a directory another user owns (a mapper's, with
 * --mapper-uids) a symlink planted under its name is not followed.
 */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  await ensurePrivateDir(dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
