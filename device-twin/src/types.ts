/** The twin's public data shapes: what TwinService returns and emits. */
import type { TwinValue, WriteState } from '@edgetwin/sdk';

/** Who set a desired value: the Device spec (YAML or Kubernetes), the cloud link, HTTP or MQTT. */
export type DesiredSource = 'spec' | 'cloud' | 'http' | 'mqtt';
export const DesiredSources: readonly DesiredSource[] = ['spec', 'cloud', 'http', 'mqtt'];

export type DeviceState = 'online' | 'offline' | 'ok' | 'unknown' | 'unhealthy';
export const DeviceStates: readonly DeviceState[] = ['online', 'offline', 'ok', 'unknown', 'unhealthy'];

export interface DesiredEntry {
  value: TwinValue;
  /** The device's desiredVersion when this value was set. */
  version: number;
  /** Edge clock, ms since epoch. */
  updatedAt: number;
  source: DesiredSource;
  /** The outcome of writing this value to the device: pending, applied or failed (with the device's code). */
  write?: WriteState;
}

export interface ReportedEntry {
  value: TwinValue;
  /** Edge clock, ms since epoch. */
  updatedAt: number;
  /** Device clock, when the mapper knows when the value was measured. */
  sourceTime?: number;
  /** Protocol status, absent means good. */
  quality?: string;
}

export interface TwinSnapshot {
  /** `{namespace}/{name}` */
  id: string;
  namespace: string;
  name: string;
  desired: Record<string, DesiredEntry>;
  reported: Record<string, ReportedEntry>;
  /** Desired values that differ from the reported ones (compared by the property's type). */
  delta: Record<string, TwinValue>;
  desiredVersion: number;
  reportedVersion: number;
  state: DeviceState;
  lastOnline?: number;
  /** Sequence number of the last change event of this device (SSE `id`). */
  seq: number;
}

export interface MembershipChange {
  added: string[];
  removed: string[];
  updated: string[];
}

/** `write`: only write statuses changed (a mapper's outcome without a new reported value). */
export type TwinChangeKind = 'desired' | 'reported' | 'state' | 'write';

export interface TwinChangeEvent {
  id: string;
  /** Per-device sequence number, +1 on every change event, persisted. */
  seq: number;
  kind: TwinChangeKind;
  /** Properties whose desired (kind 'desired'), reported (kind 'reported') or write status (kind 'write') changed. */
  changed: string[];
  /** Properties whose write status changed (`desired[p].write`), for any kind. */
  writes?: string[];
  /** The twin after the change. */
  snapshot: TwinSnapshot;
  /** The changed properties' entries before the change (for `twin/update/document`). */
  last: Record<string, { desired?: DesiredEntry; reported?: ReportedEntry }>;
  /** The MQTT event_id or HTTP request id that caused the change, when known. */
  cause?: string;
}

export interface TwinServiceEvents {
  change: [TwinChangeEvent];
  membership: [MembershipChange];
}

/** A mapper's outcome of writing a desired value (`observed_desired` of a `$hw` twin/update). */
export interface WriteOutcomeInput {
  /** The desired value written; must still be the desired value for the outcome to count. */
  value: unknown;
  /** The desired version written, when the mapper knew it. */
  version?: number;
  status: 'applied' | 'failed';
  code?: string;
  reason?: string;
}

/** One reported value as mappers send it. */
export interface ReportInput {
  value: unknown;
  sourceTime?: number;
  quality?: string;
}
