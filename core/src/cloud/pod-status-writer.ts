/**
 * Writes the pod status edges report into `pods/status` with JSON merge patches, coalesced per
 * pod like device status: at most one patch per pod per `intervalMs`, the latest status wins.
 * Each patch names the pod's uid, so a status never lands on a newer pod of the same name (the
 * API server answers 409, and the stale status is dropped). API errors are retried with backoff.
 */
import { Backoff, errorMessage, sleep } from '@edgetwin/sdk';
import { KubeApiError, type KubeClient } from '@edgetwin/device-twin/k8s';
import type { Logger } from 'pino';

interface Pending {
  uid: string | undefined;
  status: unknown;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export function podPath(key: string, sub = ''): string {
  const i = key.indexOf('/');
  const ns = encodeURIComponent(key.slice(0, i));
  return `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(key.slice(i + 1))}${sub}`;
}

export class PodStatusWriter {
  private readonly pending = new Map<string, Pending>();
  private readonly busy = new Set<string>();
  private readonly lastPatch = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly abort = new AbortController();
  /** Patches sent and patches refused because the pod was replaced (for metrics and tests). */
  patches = 0;
  stale = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** Resolves once Kubernetes holds this status (or a newer one), or the pod is gone. */
  write(key: string, uid: string | undefined, status: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = this.pending.get(key);
      if (p && p.uid === uid) {
        p.status = status;
        p.waiters.push({ resolve, reject });
      } else {
        // A different uid is a new pod: the older pod's status no longer matters.
        for (const w of p?.waiters ?? []) w.resolve();
        this.pending.set(key, { uid, status, waiters: [{ resolve, reject }] });
      }
      this.schedule(key);
    });
  }

  private schedule(key: string): void {
    if (this.busy.has(key) || this.timers.has(key) || this.abort.signal.aborted) return;
    const wait = Math.max(0, (this.lastPatch.get(key) ?? 0) + this.intervalMs - Date.now());
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.flush(key);
      }, wait),
    );
  }

  private async flush(key: string): Promise<void> {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    this.busy.add(key);
    try {
      await this.patch(key, p);
      for (const w of p.waiters) w.resolve();
    } catch (err) {
      for (const w of p.waiters) w.reject(err);
    } finally {
      this.busy.delete(key);
      this.lastPatch.set(key, Date.now());
      if (this.pending.has(key)) this.schedule(key);
    }
  }

  private async patch(key: string, p: Pending): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    const body = { ...(p.uid ? { metadata: { uid: p.uid } } : {}), status: p.status };
    for (;;) {
      try {
        this.patches++;
        await this.client.call('PATCH', podPath(key, '/status'), body);
        return;
      } catch (err) {
        if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) {
          // Gone, or replaced by a pod with another uid: this status describes nothing any more.
          if (err.status === 409) this.stale++;
          return;
        }
        if (this.abort.signal.aborted) throw err;
        this.log.warn({ pod: key, err: errorMessage(err) }, 'pod status patch failed; retrying');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }

  stop(): void {
    this.abort.abort();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const p of this.pending.values()) for (const w of p.waiters) w.reject(new Error('pod status writer stopped'));
    this.pending.clear();
  }
}
