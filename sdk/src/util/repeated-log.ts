/**
 * Rate-limited warnings: the first occurrence of a warning is logged as is; the same warning
 * again (same key, same text) is only counted, and said once per `everyMs` as
 * "... (repeated N times in the last 60 s)". `clear(key)` ends the condition (the next
 * occurrence is logged at once again) and says how often it was suppressed.
 *
 * One per logger and concern, e.g. a device's read failures keyed by property: an unknown
 * OPC UA node polled every second then logs one line a minute instead of sixty.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';

interface Entry {
  text: string;
  since: number;
  suppressed: number;
}

export interface RepeatedLogOptions {
  /** How often a still-repeating warning is said again with its count (default 60 000 ms). */
  everyMs?: number;
  clock?: Clock;
}

export class RepeatedLog {
  private readonly entries = new Map<string, Entry>();
  private readonly everyMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly log: Logger,
    opts: RepeatedLogOptions = {},
  ) {
    this.everyMs = opts.everyMs ?? 60_000;
    this.clock = opts.clock ?? systemClock;
  }

  /** Logs `msg` at warn unless the same `text` under `key` was logged less than `everyMs` ago. */
  warn(key: string, obj: Record<string, unknown>, msg: string, text: string = msg): void {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (e && e.text === text) {
      if (now - e.since < this.everyMs) {
        e.suppressed++;
        return;
      }
      const seconds = Math.round((now - e.since) / 1000);
      this.log.warn(
        { ...obj, repeated: e.suppressed + 1 },
        `${msg} (repeated ${e.suppressed + 1} times in the last ${seconds} s)`,
      );
      e.since = now;
      e.suppressed = 0;
      return;
    }
    if (e) this.summarize(key, e);
    this.entries.set(key, { text, since: now, suppressed: 0 });
    this.log.warn(obj, msg);
  }

  /** The condition under `key` is over: says how many repeats were not logged, and forgets it. */
  clear(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.summarize(key, e);
  }

  private summarize(key: string, e: Entry): void {
    if (e.suppressed > 0) {
      this.log.info({ key, repeated: e.suppressed }, `${e.text}: ${e.suppressed} more times, not logged`);
    }
  }
}
