/**
 * Group commit: every change made in the same tick goes into one SQLite transaction; the callers'
 * promises resolve and the change events fire only after that transaction committed. When the
 * commit fails, the touched records are restored from a small undo log (their counters and the
 * entries they had before the batch) and every caller gets the error.
 */
import type { DesiredEntry, DeviceState, ReportedEntry, TwinChangeEvent } from '../types.js';
import type { TwinRecord } from './twin-record.js';

/** What a batch changed in one record, and what the record held before the batch. */
export interface Dirty {
  record: TwinRecord;
  meta: boolean;
  desired: Set<string>;
  reported: Set<string>;
  /** The record's counters and state before the batch. */
  before: {
    desiredVersion: number;
    reportedVersion: number;
    state: DeviceState;
    lastOnline: number | undefined;
    seq: number;
  };
  /** Entries before the batch of the properties it touched (undefined: there was none). */
  desiredBefore: Map<string, DesiredEntry | undefined>;
  reportedBefore: Map<string, ReportedEntry | undefined>;
}

export interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class CommitBatch {
  readonly dirty = new Map<string, Dirty>();
  readonly waiters: Waiter[] = [];
  readonly events: TwinChangeEvent[] = [];
  updates = { desired: 0, reported: 0, state: 0 };

  /** The record's dirty set, remembering its state before the batch on first touch. */
  touch(r: TwinRecord): Dirty {
    let d = this.dirty.get(r.id);
    if (!d) {
      d = {
        record: r,
        meta: false,
        desired: new Set(),
        reported: new Set(),
        before: {
          desiredVersion: r.desiredVersion,
          reportedVersion: r.reportedVersion,
          state: r.state,
          lastOnline: r.lastOnline,
          seq: r.seq,
        },
        desiredBefore: new Map(),
        reportedBefore: new Map(),
      };
      this.dirty.set(r.id, d);
    }
    return d;
  }

  /** Remembers the entries of `keys` before they change (only the first time in this batch). */
  saveEntries(d: Dirty, kind: 'desired' | 'reported', keys: readonly string[]): void {
    if (kind === 'desired') {
      for (const k of keys) if (!d.desiredBefore.has(k)) d.desiredBefore.set(k, d.record.desired.get(k));
    } else {
      for (const k of keys) if (!d.reportedBefore.has(k)) d.reportedBefore.set(k, d.record.reported.get(k));
    }
  }

  /** Puts every touched record back as it was before the batch (entries are immutable). */
  rollback(): void {
    for (const d of this.dirty.values()) {
      const r = d.record;
      Object.assign(r, d.before);
      for (const [k, e] of d.desiredBefore) {
        if (e) r.desired.set(k, e);
        else r.desired.delete(k);
      }
      for (const [k, e] of d.reportedBefore) {
        if (e) r.reported.set(k, e);
        else r.reported.delete(k);
      }
    }
  }

  get size(): number {
    return this.waiters.length;
  }
}
