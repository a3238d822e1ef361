/**
 * A bounded per-device journal of twin change events, kept for SSE resumption. A device gets a
 * journal when a client first subscribes to its events; from then on its last `capacity` events
 * are kept, so a client that reconnects with `Last-Event-ID` gets exactly what it missed. A
 * journal without subscribers for `idleMs` is dropped (a late reconnect then gets a snapshot).
 */
import type { TwinService } from '../engine/twin-service.js';
import type { TwinChangeEvent, TwinSnapshot } from '../types.js';

export interface JournalEntry {
  seq: number;
  event: string;
  data: string;
}

/** The SSE `data` of a change: what changed, plus versions, state and the whole delta. */
export function changeData(ev: TwinChangeEvent): string {
  const s = ev.snapshot;
  const body: Record<string, unknown> = {
    id: ev.id,
    seq: ev.seq,
    kind: ev.kind,
    changed: ev.changed,
    desiredVersion: s.desiredVersion,
    reportedVersion: s.reportedVersion,
    state: s.state,
    delta: s.delta,
  };
  if (s.lastOnline !== undefined) body.lastOnline = s.lastOnline;
  if (ev.kind === 'desired') body.desired = Object.fromEntries(ev.changed.map((p) => [p, s.desired[p] ?? null]));
  if (ev.kind === 'reported') body.reported = Object.fromEntries(ev.changed.map((p) => [p, s.reported[p] ?? null]));
  // Write statuses that changed: the whole desired entry, its `write` included.
  if (ev.kind !== 'desired' && ev.writes && ev.writes.length > 0)
    body.desired = Object.fromEntries(ev.writes.map((p) => [p, s.desired[p] ?? null]));
  return JSON.stringify(body);
}

export function snapshotEntry(s: TwinSnapshot): JournalEntry {
  return { seq: s.seq, event: 'snapshot', data: JSON.stringify(s) };
}

export class EventJournal {
  private readonly journals = new Map<string, JournalEntry[]>();
  private readonly listeners = new Map<string, Set<(e: JournalEntry) => void>>();
  /** When each device's last subscriber left. */
  private readonly leftAt = new Map<string, number>();

  constructor(
    private readonly twin: TwinService,
    private readonly capacity = 256,
    /** A journal nobody has subscribed to for this long is dropped (default 10 minutes). */
    private readonly idleMs = 600_000,
  ) {}

  start(): void {
    this.twin.on('change', this.onChange);
    this.twin.on('membership', this.onMembership);
  }

  stop(): void {
    this.twin.off('change', this.onChange);
    this.twin.off('membership', this.onMembership);
    this.journals.clear();
    this.listeners.clear();
    this.leftAt.clear();
  }

  /**
   * Subscribes to a device's events. Returns what to send first: the missed events when
   * `lastSeq` is still covered by the journal, else a full snapshot.
   */
  subscribe(
    id: string,
    lastSeq: number | undefined,
    listener: (e: JournalEntry) => void,
  ): { initial: JournalEntry[]; unsubscribe(): void } {
    if (!this.journals.has(id)) this.journals.set(id, []);
    const journal = this.journals.get(id)!;
    const snap = this.twin.getTwin(id)!;
    let initial: JournalEntry[];
    if (lastSeq !== undefined && lastSeq === snap.seq) initial = [];
    else if (lastSeq !== undefined && lastSeq < snap.seq && journal.length > 0 && journal[0]!.seq <= lastSeq + 1) {
      initial = journal.filter((e) => e.seq > lastSeq);
    } else initial = [snapshotEntry(snap)];
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    this.leftAt.delete(id);
    return {
      initial,
      unsubscribe: () => {
        set.delete(listener);
        if (set.size === 0) this.leftAt.set(id, Date.now());
      },
    };
  }

  private readonly onChange = (ev: TwinChangeEvent): void => {
    const journal = this.journals.get(ev.id);
    if (!journal) return;
    const left = this.leftAt.get(ev.id);
    if (left !== undefined && Date.now() - left > this.idleMs) {
      this.journals.delete(ev.id);
      this.leftAt.delete(ev.id);
      return;
    }
    const entry: JournalEntry = { seq: ev.seq, event: 'change', data: changeData(ev) };
    journal.push(entry);
    if (journal.length > this.capacity) journal.splice(0, journal.length - this.capacity);
    for (const l of this.listeners.get(ev.id) ?? []) l(entry);
  };

  private readonly onMembership = (c: { removed: string[] }): void => {
    for (const id of c.removed) {
      this.journals.delete(id);
      this.leftAt.delete(id);
    }
  };
}
