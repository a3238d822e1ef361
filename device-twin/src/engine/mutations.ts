/**
 * The twin rules for one change, checked in full before anything is modified: a desired patch,
 * a batch of reported values, a state change. `plan*` functions throw EdgeTwinError and leave
 * the record untouched; `apply*` functions then modify it.
 */
import {
  EdgeTwinError,
  checkRange,
  coerceValue,
  describeType,
  excerpt,
  isEdgeTwinError,
  validateDesired,
  valuesEqual,
  type ResolvedProperty,
  type TwinValue,
  type WriteState,
} from '@edgetwin/sdk';
import {
  DeviceStates,
  type DesiredSource,
  type DeviceState,
  type ReportInput,
  type ReportedEntry,
  type TwinChangeEvent,
  type WriteOutcomeInput,
} from '../types.js';
import { initialWrite, outcomeState, statusFromReport } from './write-status.js';
import type { TwinRecord } from './twin-record.js';

function propertyOf(r: TwinRecord, name: string): ResolvedProperty {
  const p = r.props.get(name);
  if (!p) {
    const known = [...r.props.keys()];
    throw new EdgeTwinError(
      'ET_UNKNOWN_PROPERTY',
      `device ${r.id} has no property ${excerpt(name)} (it has: ${known.join(', ') || 'no properties'})`,
      { details: { property: excerpt(name, 128), device: r.id } },
    );
  }
  return p;
}

/** Re-throws a value error with the property name and the expected type in front. */
function valueError(r: TwinRecord, p: ResolvedProperty, err: unknown): never {
  if (isEdgeTwinError(err)) {
    const expected = describeType(p.model.type);
    throw new EdgeTwinError(err.code, `device ${r.id} property "${p.name}": ${err.message}`, {
      cause: err,
      details: { ...err.details, property: p.name, type: p.model.type, expected },
    });
  }
  throw err;
}

/** A checked desired patch: typed values to set, and names to delete. */
export interface DesiredPlan {
  set: Map<string, TwinValue>;
  remove: string[];
}

export function planDesired(
  r: TwinRecord,
  values: Record<string, unknown>,
  ifDesiredVersion: number | undefined,
): DesiredPlan {
  if (ifDesiredVersion !== undefined && ifDesiredVersion !== r.desiredVersion) {
    throw new EdgeTwinError(
      'ET_PRECONDITION',
      `device ${r.id} desired version is ${r.desiredVersion}, not ${ifDesiredVersion}; read the twin again and retry`,
      { details: { current: r.desiredVersion, expected: ifDesiredVersion } },
    );
  }
  const plan: DesiredPlan = { set: new Map(), remove: [] };
  for (const [name, raw] of Object.entries(values)) {
    const p = propertyOf(r, name);
    if (raw === null) {
      if (r.desired.has(name)) plan.remove.push(name);
      continue;
    }
    let v: TwinValue;
    try {
      v = validateDesired(p.model, raw);
    } catch (err) {
      valueError(r, p, err);
    }
    const cur = r.desired.get(name);
    // Setting the value it already has is accepted without a new version, unless its write
    // failed: then the same value is a new attempt.
    if (!cur || cur.value !== v || cur.write?.status === 'failed') plan.set.set(name, v);
  }
  return plan;
}

/** Applies a checked plan: one new desiredVersion for all of it. Returns the changed names. */
export function applyDesired(r: TwinRecord, plan: DesiredPlan, source: DesiredSource, now: number): string[] {
  const changed = [...plan.set.keys(), ...plan.remove];
  if (changed.length === 0) return changed;
  r.desiredVersion++;
  for (const [name, value] of plan.set)
    r.desired.set(name, {
      value,
      version: r.desiredVersion,
      updatedAt: now,
      source,
      write: initialWrite(r, name, value, now),
    });
  for (const name of plan.remove) r.desired.delete(name);
  return changed;
}

export function planReport(
  r: TwinRecord,
  values: Record<string, ReportInput>,
  now: number,
): Map<string, ReportedEntry> {
  const out = new Map<string, ReportedEntry>();
  for (const [name, input] of Object.entries(values)) {
    const p = propertyOf(r, name);
    let value: TwinValue;
    try {
      value = coerceValue(p.model.type, input.value);
    } catch (err) {
      valueError(r, p, err);
    }
    if (isReordered(r.reported.get(name), input.sourceTime)) continue;
    const e: ReportedEntry = { value, updatedAt: now };
    if (input.sourceTime !== undefined) e.sourceTime = input.sourceTime;
    // A reading outside the model's minimum/maximum is what the device said: kept and flagged, never dropped.
    const quality = isInRange(p, value) ? input.quality : outOfRange(input.quality);
    if (quality !== undefined) e.quality = quality;
    out.set(name, e);
  }
  return out;
}

/**
 * How much older than the stored reading a report's source time may be and still count as
 * overtaken rather than as a device clock that was set back.
 */
export const REORDER_WINDOW_MS = 10 * 60_000;

/**
 * A report overtaken by a newer one: its source time is before the stored reading's, by less than
 * REORDER_WINDOW_MS. Reports of one property can arrive out of order: DMI calls run concurrently
 * (HTTP/2 streams), and a call whose caller gave up may still be committed after a later one.
 * The older reading is then not applied (the newer one stays); the report is still answered as
 * accepted, since nothing is wrong with it. A reading older by more than the window is taken as a
 * device whose clock was set back, and applied.
 */
function isReordered(stored: ReportedEntry | undefined, sourceTime: number | undefined): boolean {
  if (sourceTime === undefined || stored?.sourceTime === undefined) return false;
  const behind = stored.sourceTime - sourceTime;
  return behind > 0 && behind <= REORDER_WINDOW_MS;
}

/** The quality a reading outside minimum/maximum gets: "out-of-range", after the device's own if any. */
export const OUT_OF_RANGE = 'out-of-range';
const outOfRange = (quality: string | undefined): string => (quality ? `${quality}, ${OUT_OF_RANGE}` : OUT_OF_RANGE);

function isInRange(p: ResolvedProperty, value: TwinValue): boolean {
  try {
    checkRange(p.model, value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Write outcomes that still concern the current desired value (same version, or same value when
 * the mapper sent no version), as the write states to store. Stale outcomes are dropped.
 */
export function planOutcomes(
  r: TwinRecord,
  outcomes: Record<string, WriteOutcomeInput>,
  reported: ReadonlyMap<string, ReportedEntry>,
  now: number,
): Map<string, WriteState> {
  const out = new Map<string, WriteState>();
  for (const [name, o] of Object.entries(outcomes)) {
    const p = propertyOf(r, name);
    const d = r.desired.get(name);
    if (!d) continue;
    if (o.version !== undefined ? o.version !== d.version : !valuesEqual(p.model.type, o.value, d.value)) continue;
    out.set(name, outcomeState(o, reported.get(name) ?? r.reported.get(name), now));
  }
  return out;
}

/**
 * Every accepted report counts, even with an unchanged value (its timestamp is news). Returns
 * the reported names, and the names whose write status changed: by an outcome, or because the
 * device now reports the desired value itself.
 */
export function applyReport(
  r: TwinRecord,
  entries: Map<string, ReportedEntry>,
  outcomes: Map<string, WriteState> = new Map(),
  now = Date.now(),
): { changed: string[]; writes: string[] } {
  const writes: string[] = [];
  if (entries.size > 0) r.reportedVersion++;
  for (const [name, e] of entries) {
    r.reported.set(name, e);
    const d = r.desired.get(name);
    const w = d && !outcomes.has(name) ? statusFromReport(r, name, d, e, now) : undefined;
    if (d && w) {
      r.desired.set(name, { ...d, write: w });
      writes.push(name);
    }
  }
  for (const [name, w] of outcomes) {
    const d = r.desired.get(name)!;
    r.desired.set(name, { ...d, write: w });
    writes.push(name);
  }
  return { changed: [...entries.keys()], writes };
}

export function checkState(state: string): DeviceState {
  if (!(DeviceStates as readonly string[]).includes(state)) {
    throw new EdgeTwinError('ET_BAD_VALUE', `state ${excerpt(state)} is not one of ${DeviceStates.join(', ')}`, {
      details: { expected: DeviceStates, got: excerpt(state) },
    });
  }
  return state as DeviceState;
}

/** Returns true when the state changed; `lastOnline` moves whenever the device says it is up. */
export function applyState(r: TwinRecord, state: DeviceState, now: number): boolean {
  const changed = r.state !== state;
  r.state = state;
  if (state === 'online' || state === 'ok') r.lastOnline = now;
  return changed;
}

/** The entries of `keys` before a change (entries are immutable, so no copy is needed). */
export function entriesBefore(r: TwinRecord, kind: 'desired' | 'reported', keys: string[]): TwinChangeEvent['last'] {
  const out: TwinChangeEvent['last'] = {};
  for (const k of keys) {
    const desired = kind === 'desired' ? r.desired.get(k) : undefined;
    const reported = kind === 'reported' ? r.reported.get(k) : undefined;
    if (desired) out[k] = { desired };
    else if (reported) out[k] = { reported };
  }
  return out;
}
