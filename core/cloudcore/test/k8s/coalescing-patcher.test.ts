import { describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { FakeClock, settle } from '@edgetwin/sdk/testing';
import { CoalescingPatcher, type CoalescingPatcherOptions } from '@edgetwin/cloudcore/k8s';

type Payload = Record<string, number>;

/** A patcher over a recording `patch`: each call lands in `sent`; `fail` decides per call (the key's nth). */
function setup(over: Partial<CoalescingPatcherOptions<Payload>> = {}) {
  const clock = new FakeClock();
  const sent: Array<{ key: string; payload: Payload; at: number }> = [];
  let fail: (key: string, n: number) => Error | undefined = () => undefined;
  let release: (() => void) | undefined;
  let hold = false;
  const patcher = new CoalescingPatcher<Payload>({
    name: 'test patcher',
    intervalMs: 1000,
    backoff: { initialMs: 100, jitter: 0 },
    clock,
    merge: (a, b) => ({ ...a, ...b }),
    onError: () => 'retry',
    patch: async (key, payload) => {
      sent.push({ key, payload, at: clock.now() });
      if (hold) await new Promise<void>((r) => (release = r));
      const err = fail(key, sent.filter((s) => s.key === key).length);
      if (err) throw err;
    },
    ...over,
  });
  return {
    clock,
    sent,
    patcher,
    failWith: (f: (key: string, n: number) => Error | undefined) => (fail = f),
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

function tracked(p: Promise<void>) {
  const t = { settled: false, error: undefined as unknown };
  p.then(
    () => (t.settled = true),
    (e: unknown) => ((t.settled = true), (t.error = e)),
  );
  return t;
}

describe('CoalescingPatcher', () => {
  it('writes to one key in the same tick go out as one patch with the merged payload', async () => {
    const { clock, sent, patcher } = setup();
    const a = tracked(patcher.submit('ns/a', { x: 1 }));
    const b = tracked(patcher.submit('ns/a', { y: 2 }));
    await clock.advanceAsync(0);
    expect(sent).toEqual([{ key: 'ns/a', payload: { x: 1, y: 2 }, at: clock.now() }]);
    expect([a, b]).toEqual([
      { settled: true, error: undefined },
      { settled: true, error: undefined },
    ]);
    patcher.stop();
  });

  it('a key is patched at most once per interval, and the latest values win', async () => {
    const { clock, sent, patcher } = setup();
    const start = clock.now();
    void patcher.submit('ns/a', { x: 1 });
    await clock.advanceAsync(0);
    const later = [patcher.submit('ns/a', { x: 2 }), patcher.submit('ns/a', { x: 3 })];
    await clock.advanceAsync(999);
    expect(sent.map((s) => s.payload)).toEqual([{ x: 1 }]);
    await clock.advanceAsync(1);
    await Promise.all(later);
    expect(sent.map((s) => [s.payload, s.at - start])).toEqual([
      [{ x: 1 }, 0],
      [{ x: 3 }, 1000],
    ]);
    patcher.stop();
  });

  it('a write that comes after the interval has passed is patched at once', async () => {
    const { clock, sent, patcher } = setup();
    await Promise.all([patcher.submit('ns/a', { x: 1 }), clock.advanceAsync(0)]);
    await clock.advanceAsync(5000);
    const at = clock.now();
    await Promise.all([patcher.submit('ns/a', { x: 2 }), clock.advanceAsync(0)]);
    expect(sent.at(-1)).toEqual({ key: 'ns/a', payload: { x: 2 }, at });
    expect(clock.pending).toBe(1); // only the cool-down of the key just patched
    patcher.stop();
  });

  it('one key is never patched twice at a time; a write during a patch waits for it', async () => {
    const { clock, sent, patcher, holdNext, release } = setup();
    holdNext();
    const first = tracked(patcher.submit('ns/a', { x: 1 }));
    await clock.advanceAsync(0);
    const second = tracked(patcher.submit('ns/a', { x: 2 }));
    await clock.advanceAsync(5000);
    expect(sent).toHaveLength(1);
    expect(first.settled || second.settled).toBe(false);
    release();
    await settle();
    expect(first).toEqual({ settled: true, error: undefined });
    await clock.advanceAsync(1000);
    expect(second).toEqual({ settled: true, error: undefined });
    expect(sent.map((s) => s.payload)).toEqual([{ x: 1 }, { x: 2 }]);
    patcher.stop();
  });

  it('a failed patch is retried with backoff until it succeeds, and a failing key does not stall another', async () => {
    const t = setup();
    const start = t.clock.now();
    t.failWith((key, n) => (key === 'ns/a' && n <= 3 ? new Error('API down') : undefined));
    const a = tracked(t.patcher.submit('ns/a', { x: 1 }));
    const b = tracked(t.patcher.submit('ns/b', { y: 1 }));
    await t.clock.advanceAsync(0);
    expect(b).toEqual({ settled: true, error: undefined });
    expect(a.settled).toBe(false);
    await t.clock.advanceAsync(1000);
    expect(a).toEqual({ settled: true, error: undefined });
    expect(t.sent.map((s) => [s.key, s.at - start])).toEqual([
      ['ns/a', 0],
      ['ns/b', 0],
      ['ns/a', 100],
      ['ns/a', 300],
      ['ns/a', 700],
    ]);
    t.patcher.stop();
  });

  it('a failure that onError drops resolves the callers without another attempt', async () => {
    const { clock, sent, patcher, failWith } = setup({ onError: () => 'drop' });
    failWith(() => new Error('gone'));
    const a = tracked(patcher.submit('ns/a', { x: 1 }));
    await clock.advanceAsync(5000);
    expect(a).toEqual({ settled: true, error: undefined });
    expect(sent).toHaveLength(1);
    patcher.stop();
  });

  it('a payload that supersedes the waiting one releases its callers at once and is sent alone', async () => {
    const { clock, sent, patcher } = setup({ supersedes: (a, b) => a.gen !== b.gen });
    void patcher.submit('ns/a', { gen: 1 });
    await clock.advanceAsync(0);
    const old = tracked(patcher.submit('ns/a', { gen: 1, x: 1 }));
    await settle();
    expect(old.settled).toBe(false);
    const fresh = tracked(patcher.submit('ns/a', { gen: 2, y: 1 }));
    await settle();
    expect(old).toEqual({ settled: true, error: undefined });
    expect(fresh.settled).toBe(false);
    await clock.advanceAsync(1000);
    expect(fresh).toEqual({ settled: true, error: undefined });
    expect(sent.map((s) => s.payload)).toEqual([{ gen: 1 }, { gen: 2, y: 1 }]);
    patcher.stop();
  });

  it('stop() clears every timer, ends retries and rejects waiting callers with ET_ABORTED', async () => {
    const { clock, sent, patcher, failWith } = setup();
    failWith((key) => (key === 'ns/a' ? new Error('API down') : undefined));
    const retrying = tracked(patcher.submit('ns/a', { x: 1 }));
    const done = tracked(patcher.submit('ns/b', { y: 1 }));
    await clock.advanceAsync(0);
    const waiting = tracked(patcher.submit('ns/b', { y: 2 })); // b is cooling down
    expect(clock.pending).toBe(2); // a's backoff, b's interval
    patcher.stop();
    await settle();
    expect(clock.pending).toBe(0);
    expect(done).toEqual({ settled: true, error: undefined });
    for (const t of [retrying, waiting]) expect(isEdgeTwinError(t.error, 'ET_ABORTED')).toBe(true);
    await expect(patcher.submit('ns/a', { x: 2 })).rejects.toThrow('test patcher stopped');
    await clock.advanceAsync(60_000);
    expect(sent.map((s) => s.key)).toEqual(['ns/a', 'ns/b']);
  });
});
