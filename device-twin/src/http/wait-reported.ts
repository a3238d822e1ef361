/**
 * `?wait=reported`: resolves once every patched property is applied (its write status says
 * applied, or the device reports the desired value: it left the delta), rejects with
 * ET_WRITE_FAILED (502) as soon as the device refused one (its code and reason in `details`), or
 * with ET_TIMEOUT (504) when nothing was heard within `timeoutMs`. The desired values are stored
 * either way.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { TwinService } from '../engine/twin-service.js';
import type { TwinChangeEvent, TwinSnapshot } from '../types.js';

type Verdict = { done: true } | { failed: string } | { pending: string[] };

function verdict(s: TwinSnapshot, properties: string[], versions: Map<string, number>): Verdict {
  const pending: string[] = [];
  for (const p of properties) {
    const d = s.desired[p];
    // Replaced by a newer desired value: that one is someone else's wait.
    if (!d || d.version !== versions.get(p)) continue;
    if (d.write?.status === 'failed') return { failed: p };
    if (d.write?.status === 'applied' || !(p in s.delta)) continue;
    pending.push(p);
  }
  return pending.length === 0 ? { done: true } : { pending };
}

function refused(s: TwinSnapshot, property: string): EdgeTwinError {
  const w = s.desired[property]?.write;
  const code = w?.code ?? 'unknown';
  return new EdgeTwinError(
    'ET_WRITE_FAILED',
    `device ${s.id} refused ${property}: ${code}${w?.reason ? ` (${w.reason})` : ''}; the desired value stays stored as failed, fix the cause and PATCH it again`,
    {
      details: {
        property,
        deviceCode: code,
        reason: w?.reason ?? '',
        desiredVersion: s.desiredVersion,
      },
    },
  );
}

export function waitForReported(
  twin: TwinService,
  snap: TwinSnapshot,
  properties: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<TwinSnapshot> {
  const versions = new Map<string, number>();
  for (const p of properties) {
    const v = snap.desired[p]?.version;
    if (v !== undefined) versions.set(p, v);
  }
  const first = verdict(snap, properties, versions);
  if ('done' in first) return Promise.resolve(snap);
  if ('failed' in first) return Promise.reject(refused(snap, first.failed));
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      twin.off('change', onChange);
      signal.removeEventListener('abort', onAbort);
    };
    const onChange = (ev: TwinChangeEvent) => {
      if (ev.id !== snap.id) return;
      const v = verdict(ev.snapshot, properties, versions);
      if ('pending' in v) return;
      done();
      if ('failed' in v) reject(refused(ev.snapshot, v.failed));
      else resolve(ev.snapshot);
    };
    const onAbort = () => {
      done();
      reject(new EdgeTwinError('ET_ABORTED', 'the client went away'));
    };
    const timer = setTimeout(() => {
      done();
      const now = twin.getTwin(snap.id) ?? snap;
      const v = verdict(now, properties, versions);
      const pending = 'pending' in v ? v.pending : [];
      reject(
        new EdgeTwinError(
          'ET_TIMEOUT',
          `the desired values are stored (desiredVersion ${now.desiredVersion}) but nothing was heard from device ${snap.id} about ${pending.join(', ')} within ${timeoutMs} ms; the device will still get them`,
          { details: { pending, desiredVersion: now.desiredVersion } },
        ),
      );
    }, timeoutMs);
    twin.on('change', onChange);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
