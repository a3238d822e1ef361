/** Reading /proc to tell whether a pid is alive and which process it is. Linux only. */
import { readFileSync } from 'node:fs';

/** The process start time (field 22 of /proc/PID/stat), or undefined when the pid is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); start time is field 22.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The process group of a live (non-zombie) pid, or undefined. */
export function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return Number(fields[2]);
  } catch {
    return undefined;
  }
}

/** True while the pid exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

/** Resident set size of this process in bytes (from /proc/self/status, falls back to Node's). */
export function selfRssBytes(): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss;
}
