/**
 * KubeEdge `$hw` payloads built from twin snapshots: message twins (values as strings with
 * `metadata.type`), documents, deltas, get results and membership lists.
 */
import {
  formatValue,
  newEventId,
  wireTypeOf,
  type HwDocumentEntry,
  type HwMembershipDevice,
  type HwMsgTwin,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import type { DesiredEntry, ReportedEntry, TwinChangeEvent, TwinSnapshot } from '../types.js';

export function msgTwin(
  prop: ResolvedDevice['properties'][number],
  desired?: DesiredEntry,
  reported?: ReportedEntry,
): HwMsgTwin {
  const t: HwMsgTwin = { optional: false, metadata: { type: wireTypeOf(prop.model.type) } };
  if (desired) {
    t.expected = { value: formatValue(desired.value), metadata: { timestamp: desired.updatedAt } };
    t.expected_version = { cloud: 0, edge: desired.version };
    const w = desired.write;
    if (w && w.status !== 'pending') {
      // What the mapper reported about this desired version, so a restarted mapper does not write it again.
      const metadata: NonNullable<HwMsgTwin['observed_desired']>['metadata'] = {
        status: w.status,
        timestamp: w.at,
        version: desired.version,
      };
      if (w.code !== undefined) metadata.code = w.code;
      if (w.reason !== undefined) metadata.reason = w.reason;
      t.observed_desired = { value: formatValue(desired.value), metadata };
    }
  }
  if (reported)
    t.actual = {
      value: formatValue(reported.value),
      metadata: { timestamp: reported.sourceTime ?? reported.updatedAt },
    };
  return t;
}

/** Every property of the device as a message twin. */
export function twinsOf(
  device: ResolvedDevice,
  snap: TwinSnapshot,
  only?: readonly string[],
): Record<string, HwMsgTwin> {
  const out: Record<string, HwMsgTwin> = {};
  for (const p of device.properties) {
    if (only && !only.includes(p.name)) continue;
    out[p.name] = msgTwin(p, snap.desired[p.name], snap.reported[p.name]);
  }
  return out;
}

export function documentOf(
  device: ResolvedDevice,
  ev: TwinChangeEvent,
  now: number,
): { event_id: string; timestamp: number; twin: Record<string, HwDocumentEntry> } {
  const twin: Record<string, HwDocumentEntry> = {};
  const snap = ev.snapshot;
  for (const name of ev.changed) {
    const p = device.properties.find((x) => x.name === name);
    if (!p) continue;
    const before = ev.last[name] ?? {};
    const lastDesired = ev.kind === 'desired' ? before.desired : snap.desired[name];
    const lastReported = ev.kind === 'reported' ? before.reported : snap.reported[name];
    const entry: HwDocumentEntry = { current: msgTwin(p, snap.desired[name], snap.reported[name]) };
    if (lastDesired || lastReported) entry.last = msgTwin(p, lastDesired, lastReported);
    twin[name] = entry;
  }
  return { event_id: ev.cause ?? newEventId(), timestamp: now, twin };
}

export function deltaOf(device: ResolvedDevice, snap: TwinSnapshot, now: number, eventId?: string) {
  const delta: Record<string, string> = {};
  for (const [k, v] of Object.entries(snap.delta)) delta[k] = formatValue(v);
  return { event_id: eventId ?? newEventId(), timestamp: now, twin: twinsOf(device, snap), delta };
}

export function membershipDevice(device: ResolvedDevice, snap: TwinSnapshot | undefined): HwMembershipDevice {
  const d: HwMembershipDevice = { id: device.id, name: device.name };
  if (snap) {
    d.state = snap.state;
    d.twin = twinsOf(device, snap);
  }
  return d;
}
