/** Twin records and the store: loading them all, writing a whole record or a batch's dirty parts. */
import type { Logger } from 'pino';
import { errorMessage, indexModels, resolveDevice, type DeviceModel, type ResolvedDevice } from '@edgetwin/sdk';
import type { TwinStore } from '../store/twin-store.js';
import type { CommitBatch } from './commit-batch.js';
import { newRecord, setDevice, type TwinRecord } from './twin-record.js';

/** Everything persisted, devices resolved again against the stored models. */
export function loadRecords(
  store: TwinStore,
  log: Logger,
): { models: DeviceModel[]; records: Map<string, TwinRecord> } {
  const state = store.loadAll();
  const models = indexModels(state.models);
  const records = new Map<string, TwinRecord>();
  for (const dev of state.devices) {
    let resolved: ResolvedDevice;
    try {
      resolved = resolveDevice(dev, models);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'a stored device no longer resolves; skipped');
      continue;
    }
    const r = newRecord(resolved);
    const t = state.twins.get(r.id);
    if (t) {
      if (t.adhoc.size > 0) setDevice(r, resolved, t.adhoc);
      Object.assign(r, t.meta);
      for (const [k, v] of t.desired) if (r.props.has(k)) r.desired.set(k, v);
      for (const [k, v] of t.reported) if (r.props.has(k)) r.reported.set(k, v);
      for (const [k, v] of t.specDesired) if (r.props.has(k)) r.specDesired.set(k, v);
    }
    records.set(r.id, r);
  }
  return { models: state.models, records };
}

function putMeta(store: TwinStore, r: TwinRecord): void {
  store.putMeta(r.id, {
    desiredVersion: r.desiredVersion,
    reportedVersion: r.reportedVersion,
    state: r.state,
    lastOnline: r.lastOnline,
    seq: r.seq,
  });
}

/** Replaces everything stored for the record's device. */
export function persistRecord(store: TwinStore, r: TwinRecord): void {
  store.deleteTwin(r.id);
  putMeta(store, r);
  for (const [k, e] of r.desired) store.putDesired(r.id, k, e);
  for (const [k, e] of r.reported) store.putReported(r.id, k, e);
  for (const [k, v] of r.specDesired) store.putSpecDesired(r.id, k, v);
  for (const [k, type] of r.adhoc) store.putAdhoc(r.id, k, type);
}

/** Writes the current value of every dirty key (several changes to one key cost one write). */
export function writeBatch(store: TwinStore, b: CommitBatch, records: ReadonlyMap<string, TwinRecord>): void {
  for (const [id, d] of b.dirty) {
    const r = records.get(id);
    if (!r) continue;
    if (d.meta) putMeta(store, r);
    for (const p of d.desired) {
      const e = r.desired.get(p);
      if (e) store.putDesired(id, p, e);
      else store.deleteDesired(id, p);
    }
    for (const p of d.reported) {
      const e = r.reported.get(p);
      if (e) store.putReported(id, p, e);
      else store.deleteReported(id, p);
    }
  }
}
