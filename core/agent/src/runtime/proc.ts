/** Telling whether a pid is alive and which process it is, from /proc. Linux only. */
import { procStatFields, processMemory } from '@edgetwin/sdk/util';

/** The process start time (field 22 of /proc/PID/stat), or undefined when the pid is gone. */
export function processStartTime(pid: number): string | undefined {
  const fields = procStatFields(pid);
  // fields[0] is field 3 (state); start time is field 22.
  return fields === undefined || fields[0] === 'Z' ? undefined : fields[19];
}

/** The process group of a live (non-zombie) pid, or undefined. */
export function processGroup(pid: number): number | undefined {
  const fields = procStatFields(pid);
  return fields === undefined || fields[0] === 'Z' ? undefined : Number(fields[2]);
}

/** True while the pid exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

/** Resident set size of this process in bytes (from /proc/self/status, falls back to Node's). */
export function selfRssBytes(): number {
  return processMemory('self')?.rss ?? process.memoryUsage().rss;
}
