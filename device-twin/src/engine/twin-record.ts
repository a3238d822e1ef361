/** The in-memory twin of one device and the pure rules on it: snapshots and the typed delta. */
import { valuesEqual, type ResolvedDevice, type ResolvedProperty, type TwinValue } from '@edgetwin/sdk';
import type { DesiredEntry, DeviceState, ReportedEntry, TwinSnapshot } from '../types.js';
import { heldAfterWrite } from './write-status.js';

export interface TwinRecord {
  id: string;
  device: ResolvedDevice;
  props: Map<string, ResolvedProperty>;
  desired: Map<string, DesiredEntry>;
  reported: Map<string, ReportedEntry>;
  /** The spec desired value last applied per property (to see when the spec changes). */
  specDesired: Map<string, TwinValue>;
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
  };
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
