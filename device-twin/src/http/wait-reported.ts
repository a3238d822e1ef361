/**
 * `?wait=reported`: resolves once the device reported values equal to the patched desired
 * values (they left the delta), or rejects with ET_TIMEOUT after `timeoutMs`. The desired values
 * are stored either way.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { TwinService } from '../engine/twin-service.js';
import type { TwinChangeEvent, TwinSnapshot } from '../types.js';

export function waitForReported(
  twin: TwinService,
  snap: TwinSnapshot,
  properties: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<TwinSnapshot> {
  const pending = (s: TwinSnapshot) => properties.filter((p) => p in s.delta);
  if (pending(snap).length === 0) return Promise.resolve(snap);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      twin.off('change', onChange);
      signal.removeEventListener('abort', onAbort);
    };
    const onChange = (ev: TwinChangeEvent) => {
      if (ev.id !== snap.id || pending(ev.snapshot).length > 0) return;
      done();
      resolve(ev.snapshot);
    };
    const onAbort = () => {
      done();
      reject(new EdgeTwinError('ET_ABORTED', 'the client went away'));
    };
    const timer = setTimeout(() => {
      done();
      const now = twin.getTwin(snap.id) ?? snap;
      reject(
        new EdgeTwinError(
          'ET_TIMEOUT',
          `the desired values are stored (desiredVersion ${now.desiredVersion}) but device ${snap.id} did not report ${pending(now).join(', ')} within ${timeoutMs} ms; the device will still get them`,
          { details: { pending: pending(now), desiredVersion: now.desiredVersion } },
        ),
      );
    }, timeoutMs);
    twin.on('change', onChange);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
