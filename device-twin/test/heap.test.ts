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
    const target16 = youngGenerationAfterLoad('{ youngMiB: 16 }');
    expect(target16).toBeGreaterThanOrEqual(16);
    expect(target16).toBeLessThanOrEqual(2 * 16);
  });
});
