/**
 * Replacing the node's set of devices: the membership diff and the spec desired rules. A new
 * device takes its spec desired values; an existing one takes a spec desired value only when it
 * changed since the last applied spec, so values set over HTTP or MQTT survive a reload of
 * unchanged YAML. Properties gone from the spec lose their desired and reported entries.
 */
import { coerceValue, checkRange, type ResolvedDevice, type TwinValue } from '@edgetwin/sdk';
import type { DesiredEntry, ReportedEntry } from '../types.js';
import { cloneRecord, newRecord, setDevice, type TwinRecord } from './twin-record.js';
import { initialWrite } from './write-status.js';

export interface ResourceDiff {
  records: Map<string, TwinRecord>;
  added: string[];
  removed: string[];
  updated: string[];
  /** Devices whose desired values changed, with the changed names and their entries before. */
  desiredChanges: Map<string, { changed: string[]; last: Record<string, { desired?: DesiredEntry }> }>;
}

export function specKey(d: ResolvedDevice): string {
  return JSON.stringify([d.device.metadata, d.device.spec, d.model.spec]);
}

function retype<T extends { value: TwinValue }>(d: ResolvedDevice, name: string, entry: T): T | undefined {
  const p = d.properties.find((x) => x.name === name);
  if (!p) return undefined;
  try {
    const value = coerceValue(p.model.type, entry.value);
    checkRange(p.model, value);
    return { ...entry, value };
  } catch {
    return undefined; // the model changed and the old value no longer fits: drop it
  }
}

export function diffResources(
  current: ReadonlyMap<string, TwinRecord>,
  devices: readonly ResolvedDevice[],
  now: number,
): ResourceDiff {
  const out: ResourceDiff = { records: new Map(), added: [], removed: [], updated: [], desiredChanges: new Map() };
  for (const d of devices) {
    const old = current.get(d.id);
    if (old && specKey(old.device) === specKey(d)) {
      out.records.set(d.id, old);
      continue;
    }
    const r = old ? cloneRecord(old) : newRecord(d);
    if (old) {
      setDevice(r, d); // keeps the ad hoc twins the new model does not define
      for (const [name, e] of old.desired) {
        const kept = retype<DesiredEntry>(r.device, name, e);
        if (kept) r.desired.set(name, kept);
        else r.desired.delete(name);
      }
      for (const [name, e] of old.reported) {
        const kept = retype<ReportedEntry>(r.device, name, e);
        if (kept) r.reported.set(name, kept);
        else r.reported.delete(name);
      }
      for (const name of old.specDesired.keys()) if (!r.props.has(name)) r.specDesired.delete(name);
    }
    const changed = new Set<string>();
    const last: Record<string, { desired?: DesiredEntry }> = {};
    const before = old?.desired ?? new Map<string, DesiredEntry>();
    for (const name of before.keys()) if (!r.desired.has(name)) changed.add(name);
    let bumped = false;
    for (const p of d.properties) {
      const prev = r.specDesired.get(p.name);
      if (p.specDesired === undefined) {
        r.specDesired.delete(p.name);
        continue;
      }
      if (prev !== undefined && prev === p.specDesired && old) continue;
      r.specDesired.set(p.name, p.specDesired);
      if (!bumped) {
        r.desiredVersion++;
        bumped = true;
      }
      r.desired.set(p.name, {
        value: p.specDesired,
        version: r.desiredVersion,
        updatedAt: now,
        source: 'spec',
        write: initialWrite(r, p.name, p.specDesired, now),
      });
      changed.add(p.name);
    }
    for (const name of changed) {
      const prev = before.get(name);
      last[name] = prev ? { desired: prev } : {};
    }
    if (changed.size > 0) {
      if (!bumped) r.desiredVersion++;
      out.desiredChanges.set(d.id, { changed: [...changed], last });
    }
    out.records.set(d.id, r);
    (old ? out.updated : out.added).push(d.id);
  }
  for (const id of current.keys()) if (!out.records.has(id)) out.removed.push(id);
  return out;
}
