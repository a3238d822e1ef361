/**
 * `withDeadline(promise, ms, onTimeout)`: the promise's result, or the error `onTimeout()` builds
 * when it takes longer than `ms`. The timer is always cleared. For work that cannot be cancelled
 * (a first list, an MQTT acknowledgement); work that can takes an AbortSignal (`callWithTimeout`).
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
