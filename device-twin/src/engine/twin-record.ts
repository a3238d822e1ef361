/** The in-memory twin of one device and the pure rules on it: snapshots and the typed delta. */
import {
  valuesEqual,
  type PropertyType,
  type ResolvedDevice,
  type ResolvedProperty,
  type TwinValue,
} from '@edgetwin/sdk';
import type { DesiredEntry, DeviceState, ReportedEntry, TwinSnapshot } from '../types.js';
import { heldAfterWrite } from './write-status.js';

export interface TwinRecord {
  id: string;
  /** The resolved device, with the record's ad hoc twins appended to its properties. */
  device: ResolvedDevice;
  props: Map<string, ResolvedProperty>;
  desired: Map<string, DesiredEntry>;
  reported: Map<string, ReportedEntry>;
  /** The spec desired value last applied per property (to see when the spec changes). */
  specDesired: Map<string, TwinValue>;
  /**
   * Twins a `$hw` twin/update added for keys the device's model does not have, as KubeEdge's
   * edgecore adds them: name -> type. They are properties of the twin only (no visitor, never sent
   * to a mapper); a model that later defines the name takes it over.
   */
  adhoc: Map<string, PropertyType>;
  desiredVersion: number;
  reportedVersion: number;
  state: DeviceState;
  lastOnline: number | undefined;
  seq: number;
}

export function newRecord(device: ResolvedDevice): TwinRecord {
  return {
    id: device.id,
    device,
    props: new Map(device.properties.map((p) => [p.name, p])),
    desired: new Map(),
    reported: new Map(),
    specDesired: new Map(),
    adhoc: new Map(),
    desiredVersion: 0,
    reportedVersion: 0,
    state: 'unknown',
    lastOnline: undefined,
    seq: 0,
  };
}

/** A copy that shares the (immutable) entries but not the maps: enough to roll a change back. */
export function cloneRecord(r: TwinRecord): TwinRecord {
  return {
    ...r,
    desired: new Map(r.desired),
    reported: new Map(r.reported),
    specDesired: new Map(r.specDesired),
    adhoc: new Map(r.adhoc),
  };
}

/** An ad hoc twin as a property: read-write, no visitor, not polled. */
export function adhocProperty(name: string, type: PropertyType): ResolvedProperty {
  return {
    name,
    model: { name, type, accessMode: 'ReadWrite' },
    specDesired: undefined,
    visitorConfig: {},
    collectCycle: 0,
    reportCycle: 0,
  };
}

/**
 * Gives the record `device` with its ad hoc twins appended (copy on write: `props` and `device` are
 * replaced, never changed, so a clone taken before stays as it was). A name the model defines
 * stops being ad hoc.
 */
export function setDevice(
  r: TwinRecord,
  device: ResolvedDevice,
  adhoc: ReadonlyMap<string, PropertyType> = r.adhoc,
): void {
  const own = new Set(device.properties.map((p) => p.name));
  const extra: ResolvedProperty[] = [];
  const kept = new Map<string, PropertyType>();
  for (const [name, type] of adhoc) {
    if (own.has(name)) continue;
    kept.set(name, type);
    extra.push(adhocProperty(name, type));
  }
  r.adhoc = kept;
  r.device = extra.length > 0 ? { ...device, properties: [...device.properties, ...extra] } : device;
  r.props = new Map(r.device.properties.map((p) => [p.name, p]));
}

/**
 * Desired values that differ from reported ones, compared by the property's type; a value the
 * device holds after an applied write (21.299999237060547 for 21.3 on a float32) is no difference.
 */
export function computeDelta(r: TwinRecord): Record<string, TwinValue> {
  const delta: Record<string, TwinValue> = {};
  for (const [name, d] of r.desired) {
    const prop = r.props.get(name);
    const rep = r.reported.get(name);
    if (!rep || !prop) delta[name] = d.value;
    else if (!valuesEqual(prop.model.type, d.value, rep.value) && !heldAfterWrite(prop.model.type, d, rep))
      delta[name] = d.value;
  }
  return delta;
}

export function snapshotOf(r: TwinRecord): TwinSnapshot {
  const snap: TwinSnapshot = {
    id: r.id,
    namespace: r.device.namespace,
    name: r.device.name,
    desired: Object.fromEntries(r.desired),
    reported: Object.fromEntries(r.reported),
    delta: computeDelta(r),
    desiredVersion: r.desiredVersion,
    reportedVersion: r.reportedVersion,
    state: r.state,
    seq: r.seq,
  };
  if (r.lastOnline !== undefined) snap.lastOnline = r.lastOnline;
  return snap;
}
