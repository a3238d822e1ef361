/**
 * Write status rules of a desired entry: `pending` when set (or `applied` at once when the device
 * already reports that value), `applied`/`failed` from a mapper's outcome, `applied` when the
 * device reports the desired value by itself. `deviceValue` is the value the device held when
 * applied: a reported value equal to it keeps the property out of the delta (float32, scale).
 */
import { WRITE_CODE_MAX, WRITE_REASON_MAX, clip, valuesEqual, type TwinValue, type WriteState } from '@edgetwin/sdk';
import type { DesiredEntry, ReportedEntry, WriteOutcomeInput } from '../types.js';
import type { TwinRecord } from './twin-record.js';

export function initialWrite(r: TwinRecord, name: string, value: TwinValue, now: number): WriteState {
  const rep = r.reported.get(name);
  const p = r.props.get(name);
  if (rep && p && valuesEqual(p.model.type, value, rep.value))
    return { status: 'applied', at: now, deviceValue: rep.value };
  return { status: 'pending', at: now };
}

export function outcomeState(o: WriteOutcomeInput, reported: ReportedEntry | undefined, now: number): WriteState {
  if (o.status === 'applied') {
    return reported ? { status: 'applied', at: now, deviceValue: reported.value } : { status: 'applied', at: now };
  }
  const w: WriteState = { status: 'failed', at: now, code: clip(o.code ?? 'ET_INTERNAL', WRITE_CODE_MAX) };
  if (o.reason !== undefined) w.reason = clip(o.reason, WRITE_REASON_MAX);
  return w;
}

/** A report of the desired value itself applies a write not applied yet; else nothing changes. */
export function statusFromReport(
  r: TwinRecord,
  name: string,
  d: DesiredEntry,
  e: ReportedEntry,
  now: number,
): WriteState | undefined {
  const p = r.props.get(name);
  if (!p || d.write?.status === 'applied' || !valuesEqual(p.model.type, d.value, e.value)) return undefined;
  return { status: 'applied', at: now, deviceValue: e.value };
}

/** The device holds what the write left there (in its own precision): not a difference. */
export function heldAfterWrite(type: Parameters<typeof valuesEqual>[0], d: DesiredEntry, rep: ReportedEntry): boolean {
  const w = d.write;
  return w?.status === 'applied' && w.deviceValue !== undefined && valuesEqual(type, w.deviceValue, rep.value);
}
