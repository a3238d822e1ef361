/**
 * Group commit: every change made in the same tick goes into one SQLite transaction; the callers'
 * promises resolve and the change events fire only after that transaction committed. When the
 * commit fails, the touched records are restored and every caller gets the error.
 */
import type { TwinChangeEvent } from '../types.js';
import type { TwinRecord } from './twin-record.js';

export interface Dirty {
  meta: boolean;
  desired: Set<string>;
  reported: Set<string>;
}

export interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class CommitBatch {
  /** Each touched record as it was before this batch. */
  readonly backups = new Map<string, TwinRecord>();
  readonly dirty = new Map<string, Dirty>();
  readonly waiters: Waiter[] = [];
  readonly events: TwinChangeEvent[] = [];
  updates = { desired: 0, reported: 0, state: 0 };

  touch(r: TwinRecord, backup: () => TwinRecord): Dirty {
    if (!this.backups.has(r.id)) this.backups.set(r.id, backup());
    let d = this.dirty.get(r.id);
    if (!d) {
      d = { meta: false, desired: new Set(), reported: new Set() };
      this.dirty.set(r.id, d);
    }
    return d;
  }

  get size(): number {
    return this.waiters.length;
  }
}
