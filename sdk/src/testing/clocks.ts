/**
 * Clocks for tests. `FakeClock` runs time only when told (`advance`), timers in due order.
 * `TrackingClock` is real time that counts the timers still pending, so a test can check that a
 * `stop()` cleared everything it scheduled.
 */
import { systemClock, type Clock, type ClockTimer } from '../util/clock.js';

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
    return { id };
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete(timer.id as number);
  }

  /** Timers not yet run or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in due order. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next.seq);
      this.t = next.at;
      next.fn();
    }
    this.t = target;
  }

  /**
   * Like `advance`, but lets promise chains and I/O callbacks run after each timer, so work a
   * timer starts (a read, then scheduling the next read) happens before the next timer.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next.seq);
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = target;
  }

  private nextDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const tm of this.timers.values()) {
      if (tm.at > limit) continue;
      if (!best || tm.at < best.at || (tm.at === best.at && tm.seq < best.seq)) best = tm;
    }
    return best;
  }
}

/** Lets queued microtasks and immediate callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class TrackingClock implements Clock {
  private readonly live = new Set<unknown>();
  constructor(private readonly inner: Clock = systemClock) {}

  now(): number {
    return this.inner.now();
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer: ClockTimer = this.inner.setTimeout(() => {
      this.live.delete(timer.id);
      fn();
    }, ms);
    this.live.add(timer.id);
    return timer;
  }

  clearTimeout(timer: ClockTimer): void {
    this.live.delete(timer.id);
    this.inner.clearTimeout(timer);
  }

  /** Timers scheduled and neither run nor cleared. */
  get pending(): number {
    return this.live.size;
  }
}
