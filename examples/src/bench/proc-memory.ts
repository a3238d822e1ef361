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

/**
 * What a group of processes would hold on a machine where nothing else runs: their USS plus every
 * page they share, counted once. PSS divides a shared page among every process that maps it, and
 * the simulators and the bench are node processes too: they take a share of the node binary's
 * pages that an edge box without them would charge to the edge. Shared pages are counted per
 * mapping (file and offset) as the largest amount any one of the processes has resident, so this
 * is a lower bound when processes touch different pages of the same mapping. Bytes.
 */
export function aloneBytes(pids: number[]): number {
  const shared = new Map<string, number>();
  let uss = 0;
  for (const pid of pids) {
    const text = read(`/proc/${pid}/smaps`);
    if (text === undefined) continue;
    let key = '';
    for (const line of text.split('\n')) {
      const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
      if (mapping) {
        key = mapping[2] ? `${mapping[2]}@${mapping[1]}` : '';
        continue;
      }
      const field = /^(Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty):\s+(\d+) kB/.exec(line);
      if (!field) continue;
      const bytes = Number(field[2]) * 1024;
      if (field[1]!.startsWith('Private')) uss += bytes;
      else if (key) shared.set(`${key}#${field[1]}`, Math.max(shared.get(`${key}#${field[1]}`) ?? 0, bytes));
    }
  }
  return uss + [...shared.values()].reduce((a, b) => a + b, 0);
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
