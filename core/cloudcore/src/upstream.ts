/** Grouping one upstream batch per device: the status update and the desired values to write. */
import type { StatusUpdate } from './k8s/index.js';
import type { UpstreamContent } from '@edgetwin/cloud-link';

export interface DeviceUpstream {
  status: StatusUpdate | undefined;
  desired: Map<string, string>;
  keys: Array<{ key: string; seq: number }>;
}

export function groupUpstream(
  entries: UpstreamContent['entries'],
  ownedByNode: (device: string) => boolean,
): { byDevice: Map<string, DeviceUpstream>; dropped: Array<{ key: string; seq: number }> } {
  const byDevice = new Map<string, DeviceUpstream>();
  const dropped: Array<{ key: string; seq: number }> = [];
  for (const { key, seq, entry } of entries) {
    // A node writes only its own devices; entries for a device that moved away are confirmed and dropped.
    if (!ownedByNode(entry.device)) {
      dropped.push({ key, seq });
      continue;
    }
    let g = byDevice.get(entry.device);
    if (!g) byDevice.set(entry.device, (g = { status: undefined, desired: new Map(), keys: [] }));
    g.keys.push({ key, seq });
    if (entry.kind === 'desired') {
      g.desired.set(entry.property, entry.value);
    } else if (entry.kind === 'reported') {
      g.status ??= {};
      g.status.twins ??= {};
      const t: NonNullable<StatusUpdate['twins']>[string] = { value: entry.value, updatedAt: entry.updatedAt };
      if (entry.quality !== undefined) t.quality = entry.quality;
      if (entry.observedDesired !== undefined) t.observedDesired = entry.observedDesired;
      g.status.twins[entry.property] = t;
    } else {
      g.status ??= {};
      g.status.state = entry.state;
      if (entry.lastOnline !== undefined) g.status.lastOnlineTime = new Date(entry.lastOnline).toISOString();
    }
  }
  return { byDevice, dropped };
}
