/**
 * One desired value to one property: written once, read back, compared in the device's own
 * representation (`session.represent`). A value that does not read back as written, or a write
 * that fails for a transient reason (timeout, lost link), is tried again a bounded number of
 * times with backoff; a refusal by the device (ET_PROTOCOL and value/config errors) is final at
 * once. The result is an outcome, never a loop.
 */
import { errorMessage, isEdgeTwinError } from '../errors.js';
import { formatValue, valuesEqual, type TwinValue } from '../schema/values.js';
import { clip, WRITE_CODE_MAX, WRITE_REASON_MAX } from '../schema/write-status.js';
import { Backoff } from '../util/backoff.js';
import { sleep, type Clock } from '../util/clock.js';
import { callWithTimeout } from './call.js';
import type { DeviceSession, MapperProperty, Reading } from './types.js';

export interface WriteOutcome {
  status: 'applied' | 'failed';
  /** applied: the value the device holds (read back, or its representation of the desired value). */
  reading?: Reading;
  /** failed: the device's status (e.g. BadUserAccessDenied) or an EdgeTwin code. */
  code?: string;
  reason?: string;
  /** Writes sent to the device. */
  writes: number;
}

export interface WriteAttemptOptions {
  deviceId: string;
  session: DeviceSession<unknown>;
  property: MapperProperty<unknown>;
  value: TwinValue;
  /** Reads the property right after a write when the driver returned no read-back. */
  readBack(): Promise<Reading | Error | undefined>;
  clock: Clock;
  callTimeoutMs: number;
  signal: AbortSignal;
  /** Writes at most (default 3). */
  maxAttempts?: number;
  /** First pause between attempts in ms, doubling (default 200). */
  retryDelayMs?: number;
}

/** Errors that say the device (or the config) refuses this value: retrying cannot help. */
const FINAL = new Set(['ET_PROTOCOL', 'ET_BAD_VALUE', 'ET_READ_ONLY', 'ET_CONFIG_INVALID', 'ET_UNKNOWN_PROPERTY']);

/** The device's status carried by a driver error (`details.status`), else the EdgeTwin code. */
export function deviceCodeOf(err: unknown): string {
  if (isEdgeTwinError(err)) {
    const s = err.details.status;
    if (typeof s === 'string' || typeof s === 'number') return clip(String(s), WRITE_CODE_MAX);
    return err.code;
  }
  return 'ET_INTERNAL';
}

/** `a` and `b` as the device holds them are the same value. */
export function sameOnDevice(
  session: DeviceSession<unknown>,
  p: MapperProperty<unknown>,
  a: TwinValue,
  b: TwinValue,
): boolean {
  if (valuesEqual(p.model.type, a, b)) return true;
  if (!session.represent) return false;
  try {
    return valuesEqual(p.model.type, session.represent(p, a), session.represent(p, b));
  } catch {
    return false;
  }
}

export async function writeUntilApplied(o: WriteAttemptOptions): Promise<WriteOutcome> {
  const max = o.maxAttempts ?? 3;
  const backoff = new Backoff({ initialMs: o.retryDelayMs ?? 200, maxMs: 5000, jitter: 0.2 });
  let last: { code: string; reason: string } = { code: 'ET_INTERNAL', reason: 'not written' };
  let writes = 0;
  for (let attempt = 1; attempt <= max; attempt++) {
    if (attempt > 1) await sleep(backoff.next(), o.signal, o.clock);
    let reading: Reading | undefined;
    try {
      writes++;
      reading = await callWithTimeout((s) => o.session.write(o.property, o.value, s), {
        timeoutMs: o.callTimeoutMs,
        clock: o.clock,
        signal: o.signal,
        what: `write of device ${o.deviceId} property ${o.property.name}`,
      });
    } catch (err) {
      if (o.signal.aborted) throw err;
      last = { code: deviceCodeOf(err), reason: clip(errorMessage(err), WRITE_REASON_MAX) };
      if (isEdgeTwinError(err) && FINAL.has(err.code)) return { status: 'failed', ...last, writes };
      continue;
    }
    if (!reading) {
      const r = await o.readBack();
      // Accepted but not readable (a write-only characteristic, a failed read): the device holds what it was sent.
      reading = r instanceof Error || r === undefined ? { value: representOr(o) } : r;
    }
    if (sameOnDevice(o.session, o.property, o.value, reading.value)) return { status: 'applied', reading, writes };
    last = {
      code: 'ET_NOT_CONVERGED',
      reason: clip(
        `wrote ${formatValue(o.value)} to property ${o.property.name} ${attempt} time(s); the device reads back ${formatValue(reading.value)}`,
        WRITE_REASON_MAX,
      ),
    };
  }
  return { status: 'failed', ...last, writes };
}

function representOr(o: WriteAttemptOptions): TwinValue {
  try {
    return o.session.represent ? o.session.represent(o.property, o.value) : o.value;
  } catch {
    return o.value;
  }
}
