import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const heapModule = fileURLToPath(new URL('../dist/heap.js', import.meta.url));

/**
 * Runs a fresh node process that (optionally) tunes its heap, then allocates short-lived garbage
 * in bursts across event loop turns, as a busy daemon does, and reports its young generation size.
 */
function youngGenerationAfterLoad(tune: string): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { setImmediate as turn } from 'node:timers/promises';
    import { tuneHeapForEdge } from ${JSON.stringify(heapModule)};
    const tune = ${tune};
    if (tune) tuneHeapForEdge(tune);
    let keep = [];
    for (let burst = 0; burst < 200; burst++) {
      for (let i = 0; i < 20000; i++) {
        keep.push({ i, s: 'value ' + i });
        if (keep.length > 20000) keep = [];
      }
      await turn();
    }
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    console.log(JSON.stringify({ young, kept: keep.length }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return (JSON.parse(out) as { young: number }).young / 1048576;
}

describe('tuneHeapForEdge', () => {
  it('stops the young generation growing at its target (at most one doubling above), where V8 alone lets it grow to 32 MiB', () => {
    const untuned = youngGenerationAfterLoad('undefined');
    expect(untuned).toBeGreaterThanOrEqual(16); // the control: this load does grow it
    const tuned = youngGenerationAfterLoad('{}');
    expect(tuned).toBeLessThanOrEqual(2 * 4);
    expect(tuned).toBeLessThan(untuned);
  });

  it('takes the target size as an option', () => {
    // (optimize-for-size keeps the young generation small by itself, so it is off here)
    const target16 = youngGenerationAfterLoad('{ youngMiB: 16, optimizeForSize: false }');
    expect(target16).toBeGreaterThanOrEqual(16);
    expect(target16).toBeLessThanOrEqual(2 * 16);
  });

  it('keeps the heap near its live size when garbage survives into the old generation (optimize-for-size), where V8 alone lets it balloon', () => {
    // A 200,000-object live set, and bursts of objects that live across many turns before they
    // are dropped: they are promoted, so only full GCs reclaim them.
    const peakHeapMiB = (tune: string): number => {
      const script = `
        import { getHeapStatistics } from 'node:v8';
        import { setImmediate as turn } from 'node:timers/promises';
        import { startOptimizing, tuneHeapForEdge } from ${JSON.stringify(heapModule)};
        const tune = ${tune};
        if (tune) tuneHeapForEdge(tune);
        startOptimizing(); // as edgecore does once started: --optimize-for-size from here on
        const live = [];
        for (let i = 0; i < 200000; i++) live.push({ i, s: 'live ' + i });
        let window = [];
        let peak = 0;
        for (let burst = 0; burst < 300; burst++) {
          for (let i = 0; i < 5000; i++) window.push({ i, s: 'x' + i, a: [i] });
          if (window.length > 100000) window = [];
          await turn();
          peak = Math.max(peak, getHeapStatistics().total_heap_size);
        }
        console.log(JSON.stringify({ peak, live: live.length }));
      `;
      // --single-threaded-gc: with concurrent marking the peak depends on how much CPU the marker
      // threads get (on a loaded CI machine Node 24's tuned peak rose from 55-60 to 70-75 MiB and
      // failed the bound); marking on the main thread makes both runs depend on allocation alone
      // (measured: the same figures under 3 busy loops as on an idle machine).
      const out = execFileSync(process.execPath, ['--single-threaded-gc', '--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      return (JSON.parse(out) as { peak: number }).peak / 1048576;
    };
    // The median of three runs each, interleaved: V8 sizes the old generation partly from how fast
    // it measured its collections, so one run on a loaded machine can come out far from the others
    // (CI once saw 0.89 on Node 22, where this machine gives 0.57-0.61 when idle).
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const control: number[] = [];
    const tuned: number[] = [];
    for (let i = 0; i < 3; i++) {
      control.push(peakHeapMiB('{ optimizeForSize: false }'));
      tuned.push(peakHeapMiB('{}'));
    }
    // measured with --single-threaded-gc: tuned/control 0.75-0.77 on Node 20, 0.57-0.61 on 22, 0.66-0.67 on 24
    expect(median(tuned), `tuned ${tuned.join(', ')} MiB; control ${control.join(', ')} MiB`).toBeLessThan(
      median(control) * 0.85,
    );
  });
});

describe('collectGarbageNow', () => {
  it('frees what is unreachable at once, in a process started without --expose-gc', () => {
    const script = `
      import { collectGarbageNow } from ${JSON.stringify(heapModule)};
      let garbage = [];
      for (let i = 0; i < 300000; i++) garbage.push({ i, s: 'garbage ' + i });
      const before = process.memoryUsage().heapUsed;
      garbage = undefined;
      collectGarbageNow();
      const after = process.memoryUsage().heapUsed;
      console.log(JSON.stringify({ before, after, gcExposed: typeof globalThis.gc }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const r = JSON.parse(out) as { before: number; after: number; gcExposed: string };
    expect(r.before - r.after).toBeGreaterThan(15 * 1048576); // ~300,000 objects of ~70 bytes
    expect(r.gcExposed).toBe('undefined'); // and gc() did not leak into the process's globals
  });
});

describe('tuneHeapForEdge and startOptimizing', () => {
  it('keeps start-up code unoptimized until startOptimizing(), then optimizes what gets hot', () => {
    // V8's own view of a hot function (--allow-natives-syntax): bit 4 (16) is "optimized" (by TurboFan, or by Maglev on Node 22+).
    const script = `
      import { startOptimizing, tuneHeapForEdge } from ${JSON.stringify(heapModule)};
      const tune = process.argv[1] === 'tuned';
      if (tune) tuneHeapForEdge();
      function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
      const heat = () => { for (let i = 0; i < 3000; i++) hot(1000); return (%GetOptimizationStatus(hot) & 16) !== 0; };
      const duringStartup = heat();
      startOptimizing();
      const afterwards = heat() || heat() || heat();
      console.log(JSON.stringify({ duringStartup, afterwards }));
    `;
    const run = (arg: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script, arg], {
          encoding: 'utf8',
        }),
      ) as { duringStartup: boolean; afterwards: boolean };
    expect(run('untuned').duringStartup).toBe(true); // the control: this loop is hot enough for TurboFan
    expect(run('tuned')).toEqual({ duringStartup: false, afterwards: true });
  });
});
