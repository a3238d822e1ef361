import { describe, expect, it } from 'vitest';
import { TickCoalescer } from '@edgetwin/cloudcore';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TickCoalescer (NodeSync and PodRelay recompute a node once per burst of changes)', () => {
  it('runs each key marked during one turn once, after the turn, however often it was marked', async () => {
    const runs: string[] = [];
    const c = new TickCoalescer((k) => runs.push(k));
    c.mark('edge-1');
    c.mark('edge-2');
    c.mark('edge-1');
    c.mark('edge-1');
    expect(runs).toEqual([]);
    await nextTurn();
    expect(runs).toEqual(['edge-1', 'edge-2']);
    await nextTurn();
    expect(runs).toEqual(['edge-1', 'edge-2']);
  });

  it('a key marked while it runs is run again in the next turn, not lost and not re-entered', async () => {
    const runs: string[] = [];
    const c: TickCoalescer = new TickCoalescer((k) => {
      runs.push(k);
      if (runs.length === 1) c.mark(k);
    });
    c.mark('edge-1');
    await nextTurn();
    expect(runs).toEqual(['edge-1']);
    await nextTurn();
    expect(runs).toEqual(['edge-1', 'edge-1']);
  });

  it('after stop() nothing marked runs', async () => {
    const runs: string[] = [];
    const c = new TickCoalescer((k) => runs.push(k));
    c.mark('edge-1');
    c.stop();
    await nextTurn();
    await nextTurn();
    expect(runs).toEqual([]);
  });
});
