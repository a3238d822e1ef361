import { errorMessage } from '../errors.js';
import { sleep, systemClock, type Clock } from './clock.js';

export interface BackoffOptions {
  /** First delay in ms (default 500). */
  initialMs?: number;
  /** Largest delay in ms (default 30 000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Random spread, 0..1 of the delay (default 0.2), so many clients don't retry in step. */
  jitter?: number;
}

/** Exponential backoff with jitter: `next()` gives the next delay, `reset()` after a success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly opts: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const { initialMs = 500, maxMs = 30_000, factor = 2, jitter = 0.2 } = this.opts;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt++;
    const spread = base * jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.round(base + spread));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

export interface RetryOptions extends BackoffOptions {
  signal?: AbortSignal;
  clock?: Clock;
  /** Called before each wait; return false to stop retrying and rethrow. */
  onError?: (err: unknown, attempt: number, delayMs: number) => boolean | void;
  /** Attempts in all (default: unlimited). */
  maxAttempts?: number;
}

/** Runs `fn` until it succeeds, waiting with backoff between failures; aborts with `signal`. */
export async function retry<T>(fn: (signal?: AbortSignal) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const backoff = new Backoff(opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) throw err;
      const delay = backoff.next();
      if (opts.onError?.(err, attempt, delay) === false) throw err;
      await sleep(delay, opts.signal, opts.clock ?? systemClock);
    }
  }
}

export { errorMessage };
