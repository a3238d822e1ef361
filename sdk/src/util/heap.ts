/**
 * Giving memory back once a process has settled after start-up.
 *
 * V8 collects the old generation only when it grows, so the garbage of start-up (parsed configs,
 * a protocol library's initialisation, the first messages) stays in an idle process for good, and
 * a young generation that grew during start-up stays that size. On a small edge node that is
 * memory every idle daemon holds for nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * V8 12 (Node 22) and later take options in `gc()`; V8 11 (Node 20) runs nothing at once when
 * given them (measured: heapUsed unchanged), so there the plain full collection is used.
 */
const GC_TAKES_OPTIONS = Number(process.versions.v8.split('.')[0]) >= 12;

/**
 * Runs a full garbage collection now. Where V8 supports it, the "last resort" flavour, which V8
 * otherwise runs only before it gives up with out-of-memory: it collects the whole heap more than
 * once, compacts it, releases free pages and shrinks the young generation (on Node 24 a young
 * generation grown to 32 MiB goes back to 1 MiB). A few tens of milliseconds for a heap of tens
 * of MB: call it once after start-up, not on a hot path. `--expose-gc` is switched on just long
 * enough to take `gc` from a fresh context, so the process's globals do not get it.
 */
export function collectGarbageNow(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as GcFunction;
  setFlagsFromString('--no-expose-gc');
  if (GC_TAKES_OPTIONS) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else gc();
}
