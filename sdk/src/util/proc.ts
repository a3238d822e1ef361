/**
 * Linux /proc readers for a process's state, memory and CPU (the pod agent's process runtime and
 * the benchmarks). Each returns undefined where there is no /proc or no such process.
 */
import { readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The fields of /proc/PID/stat from field 3 (state) on: index 0 is field 3. The command name
 * before them is in parentheses and may contain spaces, so it is skipped.
 */
export function procStatFields(pid: number | 'self'): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Resident set size now (VmRSS) and its peak (VmHWM), in bytes. */
export function processMemory(pid: number | 'self'): { rss: number; peak: number } | undefined {
  const status = read(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const bytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: bytes('VmRSS'), peak: bytes('VmHWM') };
}

/** User + system CPU seconds used so far (fields 14 and 15 of /proc/PID/stat, in 10 ms ticks). */
export function processCpuSeconds(pid: number | 'self'): number | undefined {
  const fields = procStatFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : undefined;
}
