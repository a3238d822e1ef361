/**
 * Records the twin's changes into the history store, off the twin's commit path: a `change`
 * listener folds each reported number (booleans as 0/1) into the open fine bucket of its series
 * in memory, and a timer writes the buckets that have closed, and the events, in one transaction
 * every `flushMs` (so a series costs at most one row write per fine bucket, however fast it
 * reports; open buckets are written at stop()). The buffer is bounded (`maxBuffered` buckets and
 * events); beyond it, values are dropped and counted.
 */
import type { Logger } from 'pino';
import { errorMessage } from '@edgetwin/sdk';
import { systemClock, type Clock, type ClockTimer } from '@edgetwin/sdk/util';
import type { TwinService } from '../engine/twin-service.js';
import type { TwinChangeEvent } from '../types.js';
import type { Bucket, HistoryEvent, HistoryStore } from './history-store.js';

export interface HistoryRecorderOptions {
  twin: TwinService;
  store: HistoryStore;
  logger: Logger;
  clock?: Clock;
  /** How often buffered values are written (default 1000 ms). */
  flushMs?: number;
  /** How often old buckets are downsampled and expired (default 60 000 ms). */
  compactMs?: number;
  /** Buckets and events held in memory at most between writes (default 50 000). */
  maxBuffered?: number;
}

interface Open {
  device: string;
  prop: string;
  bucket: Bucket;
}

export class HistoryRecorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Open buckets by device, then property. */
  private open = new Map<string, Map<string, Open>>();
  private openCount = 0;
  private closed: Open[] = [];
  private events: HistoryEvent[] = [];
  private flushTimer: ClockTimer | undefined;
  private compactTimer: ClockTimer | undefined;
  private running = false;
  /** Values and events not recorded because the buffer was full or a write failed. */
  dropped = 0;

  constructor(private readonly opts: HistoryRecorderOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ module: 'history' });
  }

  private readonly onChange = (ev: TwinChangeEvent): void => {
    if (ev.kind === 'reported') {
      for (const p of ev.changed) {
        const e = ev.snapshot.reported[p];
        if (!e) continue;
        const v = typeof e.value === 'number' ? e.value : typeof e.value === 'boolean' ? Number(e.value) : undefined;
        if (v !== undefined && Number.isFinite(v)) this.add(ev.id, p, e.sourceTime ?? e.updatedAt, v);
      }
    } else if (ev.kind === 'desired') {
      for (const p of ev.changed) {
        const e = ev.snapshot.desired[p];
        const detail = e ? { value: e.value, source: e.source, version: e.version } : { deleted: true };
        this.event({ device: ev.id, property: p, t: e?.updatedAt ?? this.clock.now(), kind: 'desired', detail });
      }
    } else if (ev.kind === 'state') {
      const detail = { state: ev.snapshot.state };
      this.event({ device: ev.id, property: '', t: this.clock.now(), kind: 'state', detail });
    }
    // Write outcomes (applied, failed with the device's code): `writes` names the properties whose
    // desired[p].write changed; a new desired value's `pending` is not an outcome.
    if (ev.kind === 'desired') return;
    for (const p of ev.writes ?? []) {
      const d = ev.snapshot.desired[p];
      if (d?.write && d.write.status !== 'pending') this.recordWrite(ev.id, p, { ...d.write, version: d.version });
    }
  };

  /** Keeps a write outcome (applied, or failed with the device's code and reason) as an event. */
  recordWrite(device: string, property: string, detail: Record<string, unknown>): void {
    this.event({ device, property, t: this.clock.now(), kind: 'write', detail });
  }

  private get buffered(): number {
    return this.openCount + this.closed.length + this.events.length;
  }

  private event(e: HistoryEvent): void {
    if (this.buffered >= (this.opts.maxBuffered ?? 50_000)) this.dropped++;
    else this.events.push(e);
  }

  private add(device: string, prop: string, at: number, v: number): void {
    const fineMs = this.opts.store.layout.fineMs;
    const t = at - (at % fineMs);
    let props = this.open.get(device);
    if (!props) this.open.set(device, (props = new Map<string, Open>()));
    const o = props.get(prop);
    if (o && o.bucket.t === t) {
      const b = o.bucket;
      if (v < b.min) b.min = v;
      if (v > b.max) b.max = v;
      b.sum += v;
      b.n++;
      b.last = v;
      return;
    }
    if (this.buffered >= (this.opts.maxBuffered ?? 50_000)) {
      this.dropped++;
      return;
    }
    if (o) this.closed.push(o);
    else this.openCount++;
    props.set(prop, { device, prop, bucket: { t, min: v, max: v, sum: v, n: 1, last: v } });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.opts.twin.on('change', this.onChange);
    this.scheduleFlush();
    this.scheduleCompact();
  }

  private scheduleFlush(): void {
    this.flushTimer = this.clock.setTimeout(() => {
      this.flush();
      if (this.running) this.scheduleFlush();
    }, this.opts.flushMs ?? 1000);
  }

  private scheduleCompact(): void {
    this.compactTimer = this.clock.setTimeout(() => {
      this.compact();
      if (this.running) this.scheduleCompact();
    }, this.opts.compactMs ?? 60_000);
  }

  /** Writes the closed buckets and the events now; with `all`, the open buckets too. */
  flush(all = false): void {
    if (this.buffered === 0) return;
    const buckets = this.closed;
    const openUntil = this.clock.now() - this.opts.store.layout.fineMs;
    for (const [device, props] of this.open) {
      for (const [prop, o] of props) {
        if (!all && o.bucket.t > openUntil) continue;
        buckets.push(o);
        props.delete(prop);
        this.openCount--;
      }
      if (props.size === 0) this.open.delete(device);
    }
    const events = this.events;
    this.closed = [];
    this.events = [];
    if (buckets.length === 0 && events.length === 0) return;
    try {
      this.opts.store.write(buckets, events);
    } catch (err) {
      this.dropped += buckets.length + events.length;
      this.log.error({ err: errorMessage(err), lost: buckets.length + events.length }, 'history write failed');
    }
  }

  /** Downsamples and expires old history now. */
  compact(): void {
    try {
      this.opts.store.compact(this.clock.now());
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'history compaction failed');
    }
  }

  /** Stops listening and writes what is buffered. Does not close the store. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.opts.twin.off('change', this.onChange);
    if (this.flushTimer) this.clock.clearTimeout(this.flushTimer);
    if (this.compactTimer) this.clock.clearTimeout(this.compactTimer);
    this.flushTimer = this.compactTimer = undefined;
    this.flush(true);
  }
}
