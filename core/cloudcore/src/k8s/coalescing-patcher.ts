/**
 * Coalesced, rate-limited patching per key, the machinery shared by the status writers.
 *
 * `submit(key, payload)` stores the payload as the key's waiting one (folded into any payload
 * already waiting). A key is patched at most once per `intervalMs` and never twice at a time; a
 * failed attempt is retried with backoff until it succeeds, `onError` says to drop it, or the
 * patcher stops. Callers resolve once their payload (or a newer one folded over it) is stored.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import { Backoff, sleep, systemClock, type BackoffOptions, type Clock, type ClockTimer } from '@edgetwin/sdk/util';

/** What a failed attempt means: `retry` after backoff, or `drop` (callers resolve: nothing to write). */
export type PatchErrorAction = 'retry' | 'drop';

export interface CoalescingPatcherOptions<T> {
  /** Names the patcher in the error callers get from `stop()`, e.g. `status writer`. */
  name: string;
  /** Least time between the patches of one key, ms (default 1000). */
  intervalMs?: number;
  /** Delays between the attempts of one patch. */
  backoff?: BackoffOptions;
  clock?: Clock;
  /** One attempt at storing `payload`; `attempt` counts from 0. */
  patch: (key: string, payload: T, attempt: number, signal: AbortSignal) => Promise<unknown>;
  /** Decides what a failed attempt means (not called once stopped: the callers get the error). */
  onError: (key: string, err: unknown) => PatchErrorAction;
  /** Folds a newer payload into the waiting one (default: the newer replaces it). */
  merge?: (waiting: T, newer: T) => T;
  /** True when `newer` makes the waiting payload moot: its callers resolve now, `newer` waits alone. */
  supersedes?: (waiting: T, newer: T) => boolean;
}

interface Waiting<T> {
  payload: T;
  callers: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/**
 * One per key that is waiting, being patched, or within `intervalMs` of its last patch. `timer`
 * is set while a patch is due or the key is cooling down; unset while a patch is in flight.
 */
interface Slot<T> {
  waiting?: Waiting<T> | undefined;
  timer?: ClockTimer | undefined;
}

export class CoalescingPatcher<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private readonly abort = new AbortController();
  private readonly clock: Clock;

  constructor(private readonly opts: CoalescingPatcherOptions<T>) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Resolves once Kubernetes holds `payload` (or a newer one) for `key`, or `onError` dropped it. */
  submit(key: string, payload: T): Promise<void> {
    if (this.abort.signal.aborted) return Promise.reject(this.abort.signal.reason as Error);
    return new Promise((resolve, reject) => {
      let slot = this.slots.get(key);
      if (!slot) {
        slot = {};
        this.slots.set(key, slot);
        this.arm(key, slot, 0); // not at once: writes in the same tick share the patch
      }
      const w = slot.waiting;
      if (w && !this.opts.supersedes?.(w.payload, payload)) {
        w.payload = this.opts.merge ? this.opts.merge(w.payload, payload) : payload;
        w.callers.push({ resolve, reject });
      } else {
        for (const c of w?.callers ?? []) c.resolve();
        slot.waiting = { payload, callers: [{ resolve, reject }] };
      }
    });
  }

  /** Clears every timer, stops retrying and rejects the callers still waiting. */
  stop(): void {
    if (this.abort.signal.aborted) return;
    const err = new EdgeTwinError('ET_ABORTED', `${this.opts.name} stopped`);
    this.abort.abort(err);
    for (const slot of this.slots.values()) {
      if (slot.timer) this.clock.clearTimeout(slot.timer);
      for (const c of slot.waiting?.callers ?? []) c.reject(err);
    }
    this.slots.clear();
  }

  private arm(key: string, slot: Slot<T>, ms: number): void {
    slot.timer = this.clock.setTimeout(() => {
      slot.timer = undefined;
      if (slot.waiting) void this.flush(key, slot, slot.waiting);
      else this.slots.delete(key); // cooled down with nothing to write
    }, ms);
  }

  private async flush(key: string, slot: Slot<T>, w: Waiting<T>): Promise<void> {
    slot.waiting = undefined;
    try {
      await this.patch(key, w.payload);
      for (const c of w.callers) c.resolve();
    } catch (err) {
      for (const c of w.callers) c.reject(err);
    }
    if (!this.abort.signal.aborted) this.arm(key, slot, this.opts.intervalMs ?? 1000);
  }

  private async patch(key: string, payload: T): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    const signal = this.abort.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.patch(key, payload, attempt, signal);
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        if (this.opts.onError(key, err) === 'drop') return;
        await sleep(backoff.next(), signal, this.clock);
      }
    }
  }
}
