/**
 * Pids in tests. `process.kill(0, sig)` signals the caller's whole process group: under CI that is
 * vitest, npm and the CI script itself, so one pid read as 0 (an empty line read from a file that a
 * shell has created but not yet written, a log field that was missing) ends the whole run with exit
 * 137 and no test report. Tests signal other processes only through `signalPid`, and read pids
 * that processes record only through `pidsInFile`.
 */
import { existsSync, readFileSync } from 'node:fs';

/** Sends `signal` to one process; throws instead when `pid` is not a single other process's pid. */
export function signalPid(pid: unknown, signal: NodeJS.Signals | 0): void {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 1 || pid === process.pid) {
    throw new Error(
      `refusing to signal pid ${String(pid)}: not another single process (0 and negative pids signal process groups)`,
    );
  }
  process.kill(pid, signal);
}

/**
 * The pids recorded in a file, one per line (as `echo $$ >> FILE` writes them). A line counts once
 * its newline is written, so a file the shell has opened but not yet written gives none.
 */
export function pidsInFile(file: string): number[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map((l) => Number(l.trim()))
    .filter((pid) => pid > 1);
}
