/**
 * Every call into a driver or a peer runs with a deadline: `callWithTimeout` gives the callee an
 * AbortSignal that fires on the timeout (measured on the injected clock) or when `signal` aborts.
 */
import { EdgeTwinError } from '../errors.js';
import type { Clock } from '../util/clock.js';

export interface CallOptions {
  timeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  /** What is being done, for the timeout message, e.g. "read of default/boiler". */
  what: string;
}

export async function callWithTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, opts: CallOptions): Promise<T> {
  const ac = new AbortController();
  const parent = opts.signal;
  if (parent?.aborted) throw abortedError(opts.what, parent.reason);
  let onTimeout!: (err: Error) => void;
  const timedOut = new Promise<never>((_, reject) => (onTimeout = reject));
  const timer = opts.clock.setTimeout(() => {
    const err = new EdgeTwinError('ET_TIMEOUT', `${opts.what} did not finish within ${opts.timeoutMs} ms`, {
      details: { timeoutMs: opts.timeoutMs },
    });
    ac.abort(err);
    onTimeout(err);
  }, opts.timeoutMs);
  const onAbort = () => {
    ac.abort(parent?.reason);
    onTimeout(abortedError(opts.what, parent?.reason));
  };
  parent?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([fn(ac.signal), timedOut]);
  } finally {
    opts.clock.clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  }
}

function abortedError(what: string, cause: unknown): EdgeTwinError {
  return new EdgeTwinError('ET_ABORTED', `${what} was cancelled`, { cause });
}

/** A promise with its resolve function outside, for "wait until X happens". */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
