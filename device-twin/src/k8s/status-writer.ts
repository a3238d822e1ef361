/**
 * Writes what edges report into Device status with JSON merge patches on the status subresource.
 * Updates are coalesced per device: at most one patch per device per `intervalMs` (latest values
 * win), each carrying the resourceVersion it was computed from, retried with backoff on 409
 * Conflict and API errors. `write()` resolves once Kubernetes holds the update, which is when the
 * cloud hub confirms it to the edge.
 */
import { errorMessage } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { CoalescingPatcher } from './coalescing-patcher.js';
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
  private readonly patcher: CoalescingPatcher<StatusUpdate>;
  /** Patches sent, for metrics and the benchmark. */
  patches = 0;
  conflicts = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly opts: StatusWriterOptions,
  ) {
    this.patcher = new CoalescingPatcher<StatusUpdate>({
      name: 'status writer',
      intervalMs: opts.intervalMs ?? 1000,
      backoff: { initialMs: 100, maxMs: 5000 },
      merge: mergeUpdate,
      patch: (key, u, attempt) => this.patch(key, u, attempt),
      onError: (key, err) => {
        if (err instanceof KubeApiError && err.status === 404) return 'drop'; // the Device is gone
        if (err instanceof KubeApiError && err.status === 409) this.conflicts++;
        else this.log.warn({ device: key, err: errorMessage(err) }, 'status patch failed; retrying');
        return 'retry';
      },
    });
  }

  write(key: string, update: StatusUpdate): Promise<void> {
    return this.patcher.submit(key, update);
  }

  /** The first attempt starts from the informer's copy, a retry from a fresh GET (404: gone). */
  private async patch(key: string, u: StatusUpdate, attempt: number): Promise<void> {
    const obj = attempt === 0 ? this.opts.lookup(key) : await this.client.call<KubeObject>('GET', devicePath(key));
    if (!obj) return; // the Device is gone: nothing to write
    const body = { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: applyStatus(obj.status, u) };
    this.patches++;
    await this.client.call('PATCH', devicePath(key, '/status'), body);
  }

  stop(): void {
    this.patcher.stop();
  }
}
