/**
 * Memory of a process as the kernel accounts it, from /proc/PID/smaps_rollup: RSS (resident pages),
 * PSS (each shared page divided among the processes that map it, so the PSS of several processes
 * adds up to what they cost together) and USS (pages only this process maps: what its exit frees).
 * Linux only; undefined when the process is gone.
 */
import { readFileSync } from 'node:fs';

export interface ProcessFootprint {
  rss: number;
  pss: number;
  uss: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** RSS, PSS and USS in bytes. */
export function footprint(pid: number): ProcessFootprint | undefined {
  const text = read(`/proc/${pid}/smaps_rollup`);
  if (text === undefined) return undefined;
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return {
    rss: kb('Rss'),
    pss: kb('Pss'),
    uss: kb('Private_Clean') + kb('Private_Dirty') + kb('Private_Hugetlb'),
  };
}

/** The direct children of a process (from /proc/PID/task/*\/children). */
export function childPids(pid: number): number[] {
  const tasks = read(`/proc/${pid}/task/${pid}/children`);
  return (tasks ?? '').split(' ').filter(Boolean).map(Number);
}

/** The command line of a process, arguments joined by spaces. */
export function commandLine(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim();
}

export function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
