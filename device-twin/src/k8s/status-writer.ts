/**
 * Writes what edges report into Device status with JSON merge patches on the status subresource.
 * Updates are coalesced per device: at most one patch per device per `intervalMs` (latest values
 * win), each carrying the resourceVersion it was computed from, retried with backoff on 409
 * Conflict and API errors. `write()` resolves once Kubernetes holds the update, which is when the
 * cloud hub confirms it to the edge.
 */
import { Backoff, errorMessage, sleep } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient, type KubeObject } from './kube-client.js';

export interface ReportedTwin {
  value: string;
  /** Edge time of the report, ms. */
  updatedAt?: number;
  quality?: string;
  observedDesired?: string;
}

export interface StatusUpdate {
  twins?: Record<string, ReportedTwin>;
  state?: string;
  lastOnlineTime?: string;
}

interface TwinStatus {
  propertyName: string;
  reported?: { value: string; metadata?: Record<string, string> };
  observedDesired?: { value: string; metadata?: Record<string, string> };
  [k: string]: unknown;
}

interface Pending {
  update: StatusUpdate;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export interface StatusWriterOptions {
  intervalMs?: number;
  /** Fresh copy of the Device (the informer cache); undefined when it is gone. */
  lookup: (key: string) => KubeObject | undefined;
}

export function devicePath(key: string, sub = ''): string {
  const [ns, name] = key.split('/') as [string, string];
  return `/apis/devices.kubeedge.io/v1beta1/namespaces/${encodeURIComponent(ns)}/devices/${encodeURIComponent(name)}${sub}`;
}

function mergeUpdate(a: StatusUpdate, b: StatusUpdate): StatusUpdate {
  const out: StatusUpdate = { ...a, ...b };
  if (a.twins || b.twins) out.twins = { ...a.twins, ...b.twins };
  return out;
}

/** The new status: the current one with the update's twins replaced by property name. */
export function applyStatus(current: unknown, u: StatusUpdate): Record<string, unknown> {
  const cur = (current ?? {}) as { twins?: TwinStatus[] } & Record<string, unknown>;
  const twins = new Map<string, TwinStatus>((cur.twins ?? []).map((t) => [t.propertyName, t]));
  for (const [prop, r] of Object.entries(u.twins ?? {})) {
    const metadata: Record<string, string> = {};
    if (r.updatedAt !== undefined) metadata.timestamp = String(r.updatedAt);
    if (r.quality !== undefined) metadata.quality = r.quality;
    const t: TwinStatus = { ...twins.get(prop), propertyName: prop, reported: { value: r.value, metadata } };
    if (r.observedDesired !== undefined) t.observedDesired = { value: r.observedDesired };
    twins.set(prop, t);
  }
  const status: Record<string, unknown> = { twins: [...twins.values()] };
  if (u.state !== undefined) status.state = u.state;
  if (u.lastOnlineTime !== undefined) status.lastOnlineTime = u.lastOnlineTime;
  return status;
}

export class StatusWriter {
  private readonly pending = new Map<string, Pending>();
  private readonly busy = new Set<string>();
  private readonly lastPatch = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly abort = new AbortController();
  /** Patches sent, for metrics and the benchmark. */
  patches = 0;
  conflicts = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly opts: StatusWriterOptions,
  ) {}

  write(key: string, update: StatusUpdate): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = this.pending.get(key);
      if (p) {
        p.update = mergeUpdate(p.update, update);
        p.waiters.push({ resolve, reject });
      } else {
        this.pending.set(key, { update, waiters: [{ resolve, reject }] });
      }
      this.schedule(key);
    });
  }

  private schedule(key: string): void {
    if (this.busy.has(key) || this.timers.has(key) || this.abort.signal.aborted) return;
    const interval = this.opts.intervalMs ?? 1000;
    const wait = Math.max(0, (this.lastPatch.get(key) ?? 0) + interval - Date.now());
    const t = setTimeout(() => {
      this.timers.delete(key);
      void this.flush(key);
    }, wait);
    this.timers.set(key, t);
  }

  private async flush(key: string): Promise<void> {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    this.busy.add(key);
    try {
      await this.patch(key, p.update);
      for (const w of p.waiters) w.resolve();
    } catch (err) {
      for (const w of p.waiters) w.reject(err);
    } finally {
      this.busy.delete(key);
      this.lastPatch.set(key, Date.now());
      if (this.pending.has(key)) this.schedule(key);
    }
  }

  private async patch(key: string, u: StatusUpdate): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 5000 });
    let obj = this.opts.lookup(key);
    for (;;) {
      if (!obj) return; // the Device is gone: nothing to write
      try {
        const body = {
          metadata: { resourceVersion: obj.metadata.resourceVersion },
          status: applyStatus(obj.status, u),
        };
        this.patches++;
        await this.client.call('PATCH', devicePath(key, '/status'), body);
        return;
      } catch (err) {
        if (this.abort.signal.aborted) throw err;
        if (err instanceof KubeApiError && err.status === 404) return;
        if (err instanceof KubeApiError && err.status === 409) this.conflicts++;
        else this.log.warn({ device: key, err: errorMessage(err) }, 'status patch failed; retrying');
        await sleep(backoff.next(), this.abort.signal);
        obj = await this.client.call<KubeObject>('GET', devicePath(key)).catch((e: unknown) => {
          if (e instanceof KubeApiError && e.status === 404) return undefined;
          return obj;
        });
      }
    }
  }

  stop(): void {
    this.abort.abort();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const p of this.pending.values()) for (const w of p.waiters) w.reject(new Error('status writer stopped'));
    this.pending.clear();
  }
}
