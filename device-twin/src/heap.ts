/**
 * V8 heap settings for a small edge node, applied at run time (`npx edgetwin edge` cannot count
 * on being launched with node flags).
 *
 * V8 fixes its heap limits when the process starts, so `--max-semi-space-size` set later is
 * ignored. Two flags still act at run time, and they are the ones that decide edgecore's RSS
 * under load (measured with `npm run bench:twin`):
 *
 * - The young generation starts at 1 MiB semi-spaces and doubles under allocation pressure up to
 *   16 MiB each (32 MiB of RSS for a busy process). Left at 1 MiB, scavenges run so often that
 *   they cost more CPU than the twin itself; at 2 MiB (a 4 MiB young generation) they cost
 *   little more than at 16. So the growth factor is set to 1 (no more doubling) when a garbage
 *   collection finds the young generation at `youngMiB` or more. GC notifications arrive
 *   asynchronously, so a burst of allocation can still double it once more before that.
 * - After a full GC, the old generation may grow to up to 4x the live heap before the next one.
 *   `--heap-growing-percent` caps that growth (default here 50 %: the next full GC comes when the
 *   old generation is 1.5x what was live), trading some CPU for 50-80 MB less RSS at 10k
 *   updates/s.
 *
 * - `--optimize-for-size` makes V8 treat memory as the scarce resource: after each full GC it
 *   sizes the old generation close to the live heap and compacts more, and its optimizing
 *   compiler inlines less. With edgecore's own MQTT connection producing little long-lived
 *   garbage, this costs about 10 % CPU per report and keeps edgecore under 100 MB at 10,000
 *   reports/s (about 5 MB less under load, more at start-up). It does not suit every hot
 *   path: aedes (edgecore's embedded broker) runs at less than half its speed with it.
 *   Nor does it suit start-up: with it, loading 1,000 devices took about 150 ms longer
 *   (Node 20, 5 starts each with `npm run bench:startup`'s devices, timed to the last device's
 *   first answer: 730-990 ms with it from the start, 530-550 ms without), so with `deferOptimizer` it is switched on by `startOptimizing()` too.
 *
 * - V8's optimizing compilers (TurboFan, and Maglev where V8 ships it on, i.e. Node 22+) are off
 *   during start-up (`deferOptimizer`, default true) and switched on by `startOptimizing()` once
 *   the daemon has settled. Start-up code (YAML, schema compilation, loading the devices) runs
 *   once and is not worth optimizing; its compile jobs run on V8's worker threads, whose malloc
 *   arenas keep the memory afterwards: with 1,000 devices an idle edgecore held about 10 MB of RSS
 *   for them (`npm run bench:twin`, "edgecore idle"). The code that runs under load is optimized
 *   as soon as it gets hot after start-up. The Sparkplug baseline compiler stays on: it compiles
 *   on the main thread, and without it start-up ran in the interpreter alone (js-yaml reading
 *   1,000 Devices was the largest single item of edgecore's start-up): `npm run bench:startup`,
 *   5 runs alternating, load average 7.5-8.3: start to ready 972-1,438 ms with it against
 *   1,249-2,115 ms without, RSS after start 74.9-76.8 MiB against 74.0-75.2 MiB.
 *
 * Call it first thing in the daemon, before the young generation has grown past `youngMiB`.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

export interface EdgeHeapOptions {
  /**
   * Young generation size (both semi-spaces) from which it grows no more, MiB (default 4; it may
   * end one doubling above when a burst outruns the GC notification).
   */
  youngMiB?: number;
  /** Old generation growth after a full GC, percent of the live heap (default 50). */
  oldGrowthPercent?: number;
  /** V8's `--optimize-for-size` (default true); from `startOptimizing()` on when `deferOptimizer`. */
  optimizeForSize?: boolean;
  /** No optimizing compiler until `startOptimizing()` (default true); the baseline compiler stays on. */
  deferOptimizer?: boolean;
}

/**
 * Maglev, V8's mid-tier optimizing compiler, is on by default from V8 12 (Node 22); on Node 20's V8
 * 11 it exists but is off, and switching it on there would change what that Node runs.
 */
const MAGLEV_ON = Number(process.versions.v8.split('.')[0]) >= 12;

/** `--optimize-for-size` waiting for `startOptimizing()`. */
let optimizeForSizeLater = false;

export function tuneHeapForEdge(opts: EdgeHeapOptions = {}): void {
  const youngBytes = (opts.youngMiB ?? 4) * 1024 * 1024;
  const defer = opts.deferOptimizer ?? true;
  setFlagsFromString(`--heap-growing-percent=${opts.oldGrowthPercent ?? 50}`);
  optimizeForSizeLater = defer && (opts.optimizeForSize ?? true);
  if (!defer && (opts.optimizeForSize ?? true)) setFlagsFromString('--optimize-for-size');
  if (defer) setFlagsFromString(`--no-turbofan${MAGLEV_ON ? ' --no-maglev' : ''}`);
  const youngSize = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  if (youngSize() >= youngBytes) {
    setFlagsFromString('--semi-space-growth-factor=1');
    return;
  }
  const observer = new PerformanceObserver(() => {
    if (youngSize() < youngBytes) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

/**
 * Switches V8's optimizing compiler (back) on, and `--optimize-for-size` if `tuneHeapForEdge` asked
 * for it; see `deferOptimizer`. Harmless when they are on.
 */
export function startOptimizing(): void {
  setFlagsFromString(`--turbofan --sparkplug${MAGLEV_ON ? ' --maglev' : ''}`);
  if (optimizeForSizeLater) setFlagsFromString('--optimize-for-size');
  optimizeForSizeLater = false;
}

/**
 * Runs a full garbage collection now (the sdk's, re-exported here). A daemon calls it once it has
 * settled after start-up: loading 1,000 devices leaves ~10 MB of garbage (the parsed YAML, the
 * first publishes) that an idle process would otherwise keep.
 */
export { collectGarbageNow } from '@edgetwin/sdk/util';
