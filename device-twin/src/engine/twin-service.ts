/**
 * The device twin service: the node's devices and models, each device's desired and reported
 * state, persisted in SQLite with group commit. Callers (MQTT handler, HTTP API, cloud sync)
 * change twins through `setDesired`, `report` and `setState`; each resolves once committed, then
 * a `change` event carries the new snapshot.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage, type DeviceModel, type PropertyType, type ResolvedDevice } from '@edgetwin/sdk';
import { systemClock, type Clock } from '@edgetwin/sdk/util';
import { MetricsRegistry } from '../metrics.js';
import { TwinMetrics } from './twin-metrics.js';
import type { TwinStore } from '../store/twin-store.js';
import type {
  DesiredSource,
  DeviceState,
  MembershipChange,
  ReportInput,
  TwinChangeEvent,
  TwinChangeKind,
  TwinServiceEvents,
  TwinSnapshot,
  WriteOutcomeInput,
} from '../types.js';
import { CommitBatch } from './commit-batch.js';
import {
  applyDesired,
  applyReport,
  applyState,
  checkState,
  entriesBefore,
  planDesired,
  planOutcomes,
  planReport,
} from './mutations.js';
import { diffResources } from './resources.js';
import { setDevice, snapshotOf, type TwinRecord } from './twin-record.js';
import { loadRecords, persistRecord, writeBatch } from './persist.js';

export interface TwinServiceOptions {
  store: TwinStore;
  logger: Logger;
  nodeName: string;
  clock?: Clock;
  /** Where the twin's metrics go; a private registry when absent (see `metrics`). */
  metrics?: MetricsRegistry;
  /** Commit at once when this many updates are waiting (default 5000). */
  maxBatch?: number;
}

export interface ChangeOptions {
  /** MQTT event_id or HTTP request id, passed on in the change event. */
  cause?: string;
}

export class TwinService extends EventEmitter<TwinServiceEvents> {
  readonly nodeName: string;
  readonly metrics: MetricsRegistry;
  private readonly store: TwinStore;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly maxBatch: number;
  private records = new Map<string, TwinRecord>();
  private models: DeviceModel[] = [];
  private batch: CommitBatch | undefined;
  private flushTimer: NodeJS.Immediate | undefined;
  private started = false;
  private readonly m: TwinMetrics;

  constructor(opts: TwinServiceOptions) {
    super();
    this.store = opts.store;
    this.nodeName = opts.nodeName;
    this.log = opts.logger.child({ module: 'twin' });
    this.clock = opts.clock ?? systemClock;
    this.maxBatch = opts.maxBatch ?? 5000;
    this.metrics = opts.metrics ?? new MetricsRegistry();
    this.m = new TwinMetrics(
      this.metrics,
      () => this.batch?.size ?? 0,
      () => this.records.size,
    );
  }

  /** Loads every persisted resource and twin. */
  start(): Promise<void> {
    this.load();
    return Promise.resolve();
  }

  private load(): void {
    if (this.started) return;
    const loaded = loadRecords(this.store, this.log);
    this.models = loaded.models;
    this.records = loaded.records;
    this.started = true;
    this.log.info({ devices: this.records.size, models: this.models.length }, 'twin store loaded');
  }

  /** Commits what is pending. Does not close the store: its opener does. */
  stop(): Promise<void> {
    this.flushNow();
    this.started = false;
    return Promise.resolve();
  }

  applyResources(input: { models: DeviceModel[]; devices: ResolvedDevice[] }): MembershipChange {
    this.load(); // never replace what is stored without having read it
    this.flushNow();
    const mine = input.devices.filter(
      (d) => d.device.spec.nodeName === undefined || d.device.spec.nodeName === this.nodeName,
    );
    const skipped = input.devices.length - mine.length;
    if (skipped > 0) this.log.debug({ skipped }, 'devices of other nodes ignored');
    const now = this.clock.now();
    const diff = diffResources(this.records, mine, now);
    for (const id of diff.desiredChanges.keys()) diff.records.get(id)!.seq++;
    try {
      this.store.transaction(() => {
        this.store.replaceResources(
          input.models,
          mine.map((d) => d.device),
        );
        for (const id of diff.removed) this.store.deleteTwin(id);
        for (const id of [...diff.added, ...diff.updated]) persistRecord(this.store, diff.records.get(id)!);
      });
    } catch (err) {
      throw new EdgeTwinError('ET_UNAVAILABLE', `could not store the devices: ${errorMessage(err)}`, { cause: err });
    }
    this.records = diff.records;
    this.models = [...input.models];
    const change: MembershipChange = { added: diff.added, removed: diff.removed, updated: diff.updated };
    if (change.added.length + change.removed.length + change.updated.length > 0) {
      this.log.info(
        { added: change.added.length, removed: change.removed.length, updated: change.updated.length },
        'devices changed',
      );
      this.safeEmit('membership', change);
    }
    for (const [id, c] of diff.desiredChanges) {
      const r = this.records.get(id)!;
      this.safeEmit('change', {
        id,
        seq: r.seq,
        kind: 'desired',
        changed: c.changed,
        snapshot: snapshotOf(r),
        last: c.last,
      });
    }
    return change;
  }

  /**
   * Adds twins for keys the device's model does not have, as KubeEdge's edgecore does for a `$hw`
   * twin/update that names them (each with its `metadata.type`). They are stored at once and kept
   * across restarts and spec changes; a model that later defines the name takes it over. Names the
   * device already has are left alone. At most `MAX_ADHOC_TWINS` per device.
   */
  addTwins(id: string, twins: ReadonlyMap<string, PropertyType>): string[] {
    const r = this.require(id);
    const added = [...twins].filter(([name]) => !r.props.has(name));
    if (added.length === 0) return [];
    if (r.adhoc.size + added.length > MAX_ADHOC_TWINS) {
      throw new EdgeTwinError(
        'ET_TOO_LARGE',
        `device ${id} would have more than ${MAX_ADHOC_TWINS} twins its model does not define (it has ${r.adhoc.size}); add the properties to its DeviceModel instead`,
        { details: { device: id, limit: MAX_ADHOC_TWINS, adhoc: r.adhoc.size, adding: added.map(([n]) => n) } },
      );
    }
    this.flushNow(); // what is pending was checked against the properties as they were
    const adhoc = new Map([...r.adhoc, ...added]);
    try {
      this.store.transaction(() => {
        for (const [name, type] of added) this.store.putAdhoc(id, name, type);
      });
    } catch (err) {
      throw new EdgeTwinError('ET_UNAVAILABLE', `could not store the new twins: ${errorMessage(err)}`, { cause: err });
    }
    // r.device carries the ad hoc twins so far; setDevice appends them all again to the model's own.
    const own = { ...r.device, properties: r.device.properties.filter((p) => !r.adhoc.has(p.name)) };
    setDevice(r, own, adhoc);
    this.log.info(
      { device: id, twins: added.map(([n, t]) => `${n} (${t})`) },
      'twins added for keys the model does not have',
    );
    return added.map(([n]) => n);
  }

  /** The device's property (model or ad hoc twin) of this name. */
  hasProperty(id: string, name: string): boolean {
    return this.records.get(id)?.props.has(name) ?? false;
  }

  listDevices(): ResolvedDevice[] {
    return [...this.records.values()].map((r) => r.device);
  }

  getDevice(id: string): ResolvedDevice | undefined {
    return this.records.get(id)?.device;
  }

  listModels(): DeviceModel[] {
    return [...this.models];
  }

  getTwin(id: string): TwinSnapshot | undefined {
    const r = this.records.get(id);
    return r && snapshotOf(r);
  }

  setDesired(
    id: string,
    values: Record<string, unknown>,
    opts: { source: DesiredSource; ifDesiredVersion?: number; cause?: string },
  ): Promise<TwinSnapshot> {
    return this.mutate(id, 'desired', opts.cause, (r) => {
      const plan = planDesired(r, values, opts.ifDesiredVersion);
      return {
        keys: [...plan.set.keys(), ...plan.remove],
        apply: () => ({ changed: applyDesired(r, plan, opts.source, this.clock.now()) }),
      };
    });
  }

  /**
   * Reported values and write outcomes (`outcomes`, from a mapper's `observed_desired`). An
   * outcome counts only while its desired value is still the current one.
   */
  report(
    id: string,
    values: Record<string, ReportInput>,
    opts: ChangeOptions & { outcomes?: Record<string, WriteOutcomeInput> } = {},
  ): Promise<TwinSnapshot> {
    const outcomes = opts.outcomes ?? {};
    const kind: TwinChangeKind =
      Object.keys(values).length === 0 && Object.keys(outcomes).length > 0 ? 'write' : 'reported';
    return this.mutate(id, kind, opts.cause, (r) => {
      const now = this.clock.now();
      const entries = planReport(r, values, now);
      const states = planOutcomes(r, outcomes, entries, now);
      return {
        keys: [...entries.keys()],
        desiredKeys: [...new Set([...entries.keys(), ...states.keys()])].filter((k) => r.desired.has(k)),
        apply: () => applyReport(r, entries, states, now),
      };
    });
  }

  /**
   * A `$hw` twin/update with both sides: desired (expected) and reported (actual) values are
   * checked together, so a bad value rejects the whole message.
   */
  update(
    id: string,
    input: {
      desired?: Record<string, unknown>;
      reported?: Record<string, ReportInput>;
      outcomes?: Record<string, WriteOutcomeInput>;
      source: DesiredSource;
      cause?: string;
    },
  ): Promise<TwinSnapshot> {
    const desired = input.desired !== undefined && Object.keys(input.desired).length > 0 ? input.desired : undefined;
    const reported = input.reported ?? {};
    const cause = input.cause !== undefined ? { cause: input.cause } : {};
    if (!desired)
      return this.report(id, reported, { ...cause, ...(input.outcomes ? { outcomes: input.outcomes } : {}) });
    if (Object.keys(reported).length === 0) return this.setDesired(id, desired, { source: input.source, ...cause });
    try {
      // Both sides: check both before changing either.
      const r = this.require(id);
      planDesired(r, desired, undefined);
      planReport(r, reported, this.clock.now());
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const afterDesired = this.setDesired(id, desired, { source: input.source, ...cause });
    const afterReport = this.report(id, reported, cause);
    return Promise.all([afterDesired, afterReport]).then(([, snap]) => snap);
  }

  setState(
    id: string,
    state: DeviceState | (string & Record<never, never>),
    opts: ChangeOptions = {},
  ): Promise<TwinSnapshot> {
    return this.mutate(id, 'state', opts.cause, (r) => {
      const s = checkState(state);
      return { keys: [], apply: () => ({ changed: applyState(r, s, this.clock.now()) ? ['state'] : [] }) };
    });
  }

  /** Resolves once everything changed so far is committed. */
  flush(): Promise<void> {
    if (!this.batch) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.batch!.waiters.push({ resolve, reject });
    });
  }

  private require(id: string): TwinRecord {
    const r = this.records.get(id);
    if (!r) {
      throw new EdgeTwinError('ET_NOT_FOUND', `device ${id} does not exist on node ${this.nodeName}`, {
        details: { device: id },
      });
    }
    return r;
  }

  /**
   * Checks a change (`plan` throws on bad input), applies it to the in-memory record, queues its
   * write and returns a promise that resolves after the commit.
   */
  private mutate(
    id: string,
    kind: TwinChangeKind,
    cause: string | undefined,
    plan: (r: TwinRecord) => {
      keys: string[];
      /** Desired entries the change may touch besides `keys` (write statuses). */
      desiredKeys?: string[];
      apply: () => { changed: string[]; writes?: string[] };
    },
  ): Promise<TwinSnapshot> {
    try {
      const r = this.require(id);
      const { keys, desiredKeys = [], apply } = plan(r);
      const batch = this.currentBatch();
      const dirty = batch.touch(r);
      if (kind === 'desired' || kind === 'reported') batch.saveEntries(dirty, kind, keys);
      batch.saveEntries(dirty, 'desired', desiredKeys);
      const last = kind === 'desired' || kind === 'reported' ? entriesBefore(r, kind, keys) : {};
      const stateBefore = r.state;
      const onlineBefore = r.lastOnline;
      const applied = apply();
      const writes = applied.writes ?? [];
      const changed = kind === 'write' ? writes : applied.changed;
      if (kind === 'desired') changed.forEach((p) => dirty.desired.add(p));
      if (kind === 'reported') changed.forEach((p) => dirty.reported.add(p));
      writes.forEach((p) => dirty.desired.add(p));
      if (changed.length > 0 || stateBefore !== r.state || onlineBefore !== r.lastOnline) dirty.meta = true;
      if (changed.length > 0) r.seq++;
      const snapshot = snapshotOf(r);
      if (changed.length > 0) {
        if (kind !== 'write') batch.updates[kind]++;
        const lastChanged: TwinChangeEvent['last'] = {};
        for (const p of changed) lastChanged[p] = last[p] ?? {};
        const ev: TwinChangeEvent = { id, seq: r.seq, kind, changed, snapshot, last: lastChanged };
        if (writes.length > 0 || kind === 'desired')
          ev.writes = kind === 'desired' ? changed.filter((p) => p in snapshot.desired) : writes;
        if (cause !== undefined) ev.cause = cause;
        batch.events.push(ev);
      }
      const p = new Promise<TwinSnapshot>((resolve, reject) =>
        batch.waiters.push({ resolve: () => resolve(snapshot), reject }),
      );
      if (batch.size >= this.maxBatch) this.flushNow();
      return p;
    } catch (err) {
      return Promise.reject(asError(err));
    }
  }

  private currentBatch(): CommitBatch {
    if (!this.batch) {
      this.batch = new CommitBatch();
      this.flushTimer = setImmediate(() => this.flushNow());
    }
    return this.batch;
  }

  /** Commits the pending batch now (synchronously), then settles its callers and emits its events. */
  private flushNow(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = undefined;
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const t0 = process.hrtime.bigint();
    try {
      this.store.transaction(() => writeBatch(this.store, b, this.records));
    } catch (err) {
      b.rollback();
      this.m.failedBatch();
      this.log.error({ err: errorMessage(err), updates: b.size }, 'twin commit failed; changes rolled back');
      const e = new EdgeTwinError('ET_UNAVAILABLE', `the twin store could not commit: ${errorMessage(err)}`, {
        cause: err,
      });
      for (const w of b.waiters) w.reject(e);
      return;
    }
    this.m.committedBatch(b, Number(process.hrtime.bigint() - t0) / 1e9);
    for (const w of b.waiters) w.resolve();
    for (const ev of b.events) this.safeEmit('change', ev);
  }

  private safeEmit(event: 'change', ev: TwinChangeEvent): void;
  private safeEmit(event: 'membership', ev: MembershipChange): void;
  private safeEmit(event: 'change' | 'membership', ev: TwinChangeEvent | MembershipChange): void {
    try {
      if (event === 'change') this.emit('change', ev as TwinChangeEvent);
      else this.emit('membership', ev as MembershipChange);
    } catch (err) {
      this.log.error({ err: errorMessage(err), event }, 'a twin event listener threw');
    }
  }
}

/** Twins a device may have beyond its model's properties (bounded: each is stored and served). */
export const MAX_ADHOC_TWINS = 64;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
