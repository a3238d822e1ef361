import { EdgeTwinError } from '@edgetwin/sdk';

/**
 * Settles with `promise`, or rejects with ET_TIMEOUT after `ms`, or with ET_ABORTED / the signal's
 * reason when any of `signals` aborts. noble's promises never time out by themselves.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  signals: readonly (AbortSignal | undefined)[] = [],
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    const cleanup = () => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      const reason = live.find((s) => s.aborted)?.reason as unknown;
      reject(
        reason instanceof EdgeTwinError
          ? reason
          : new EdgeTwinError('ET_ABORTED', `${what}: cancelled`, reason === undefined ? {} : { cause: reason }),
      );
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new EdgeTwinError('ET_TIMEOUT', `${what}: no answer within ${ms} ms; is the peripheral in range and powered?`),
      );
    }, ms);
    for (const s of live) {
      if (s.aborted) {
        onAbort();
        return;
      }
      s.addEventListener('abort', onAbort, { once: true });
    }
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (err: unknown) => {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
