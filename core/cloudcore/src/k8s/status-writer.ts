/**
 * Writes what edges report into Kubernetes, in one of two layouts (`StatusLayout`): `Device.status`
 * through the Device's status subresource (EdgeTwin's CRDs, KubeEdge < 1.23), or KubeEdge 1.23's
 * separate `DeviceStatus` resource of the same name, owned by the Device, patched on its `status`.
 * Updates are coalesced per device: at most one patch per device per `intervalMs` (latest values
 * win), each carrying the resourceVersion it was computed from, retried with backoff on 409
 * Conflict and API errors. `write()` resolves once Kubernetes holds the update, which is when the
 * cloud hub confirms it to the edge.
 */
import { API_GROUP, EdgeTwinError, errorMessage } from '@edgetwin/sdk';
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

/** `device`: Device.status (status subresource); `devicestatus`: KubeEdge 1.23's DeviceStatus resource. */
export type StatusLayout = 'device' | 'devicestatus';
export const StatusLayouts: readonly StatusLayout[] = ['device', 'devicestatus'];

export interface StatusWriterOptions {
  intervalMs?: number;
  /** Where reported values go (default `device`); see `detectStatusLayout`. */
  layout?: StatusLayout;
  /** Fresh copy of the Device (the informer cache); undefined when it is gone. */
  lookup: (key: string) => KubeObject | undefined;
}

export function devicePath(key: string, sub = ''): string {
  const [ns, name] = key.split('/') as [string, string];
  return `/apis/devices.kubeedge.io/v1beta1/namespaces/${encodeURIComponent(ns)}/devices/${encodeURIComponent(name)}${sub}`;
}

export function deviceStatusPath(key: string): string {
  const [ns, name] = key.split('/') as [string, string];
  return `/apis/${API_GROUP}/v1beta1/namespaces/${encodeURIComponent(ns)}/devicestatuses/${encodeURIComponent(name)}`;
}

/**
 * The layout the API server offers, from its discovery document: KubeEdge 1.23's `devicestatuses`
 * when that CRD is installed, else `Device.status` when the Device CRD has a status subresource.
 * Throws ET_CONFIG_INVALID, saying what to install, when it has neither (KubeEdge 1.23's Device CRD
 * alone: without its DeviceStatus CRD no status can be written).
 */
export async function detectStatusLayout(client: KubeClient): Promise<StatusLayout> {
  const list = await client.call<{ resources?: { name: string }[] }>('GET', `/apis/${API_GROUP}/v1beta1`);
  const names = new Set((list.resources ?? []).map((r) => r.name));
  if (names.has('devicestatuses')) return 'devicestatus';
  if (names.has('devices/status')) return 'device';
  throw new EdgeTwinError(
    'ET_CONFIG_INVALID',
    `the Device CRD of ${API_GROUP}/v1beta1 has no status subresource and there is no DeviceStatus CRD (devicestatuses), so reported values cannot be written; install EdgeTwin's CRDs (kubectl apply -f deploy/crds.yaml) or KubeEdge >= 1.23's devicestatuses CRD`,
    { details: { resources: [...names] } },
  );
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
  /** Set at start by the DeviceController when the layout is detected. */
  layout: StatusLayout;
  private unsupportedReported = false;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly opts: StatusWriterOptions,
  ) {
    this.layout = opts.layout ?? 'device';
    this.patcher = new CoalescingPatcher<StatusUpdate>({
      name: 'status writer',
      intervalMs: opts.intervalMs ?? 1000,
      backoff: { initialMs: 100, maxMs: 5000 },
      merge: mergeUpdate,
      patch: (key, u, attempt) => this.patch(key, u, attempt),
      onError: (key, err) => {
        if (err instanceof EdgeTwinError && err.code === 'ET_STATUS_UNSUPPORTED') {
          if (!this.unsupportedReported) this.log.error({ err: err.message }, 'reported values are not written');
          this.unsupportedReported = true;
          return 'drop';
        }
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
    if (this.layout === 'devicestatus') return this.patchDeviceStatus(key, obj, u);
    const body = { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: applyStatus(obj.status, u) };
    this.patches++;
    try {
      await this.client.call('PATCH', devicePath(key, '/status'), body);
    } catch (err) {
      // The Device exists (just read), so a 404 means the CRD serves no status subresource.
      if (err instanceof KubeApiError && err.status === 404) throw noStatusSubresource(key, err);
      throw err;
    }
  }

  /** KubeEdge 1.23: the DeviceStatus of the same name, created (owned by the Device) when missing. */
  private async patchDeviceStatus(key: string, device: KubeObject, u: StatusUpdate): Promise<void> {
    const path = deviceStatusPath(key);
    let current: KubeObject;
    try {
      current = await this.client.call<KubeObject>('GET', path);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      current = await this.client.call<KubeObject>(
        'POST',
        path.slice(0, path.lastIndexOf('/')),
        newDeviceStatus(device),
      );
    }
    const body = {
      metadata: { resourceVersion: current.metadata.resourceVersion },
      status: applyStatus(current.status, u),
    };
    this.patches++;
    await this.client.call('PATCH', path, body);
  }

  stop(): void {
    this.patcher.stop();
  }
}

function newDeviceStatus(device: KubeObject): KubeObject {
  const { name, namespace, uid } = device.metadata as { name: string; namespace?: string; uid?: string };
  const owner = {
    apiVersion: `${API_GROUP}/v1beta1`,
    kind: 'Device',
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  return {
    apiVersion: `${API_GROUP}/v1beta1`,
    kind: 'DeviceStatus',
    metadata: { name, ...(namespace ? { namespace } : {}), ...(uid ? { ownerReferences: [owner] } : {}) },
    spec: {},
    status: {},
  };
}

function noStatusSubresource(key: string, cause: unknown): EdgeTwinError {
  return new EdgeTwinError(
    'ET_STATUS_UNSUPPORTED',
    `Device ${key} exists but PATCH on its status subresource answers 404: the Device CRD serves no status subresource (KubeEdge 1.23's CRDs keep status in DeviceStatus); run cloudcore with --status-layout devicestatus and KubeEdge's devicestatuses CRD, or install EdgeTwin's CRDs (deploy/crds.yaml)`,
    { cause, details: { device: key } },
  );
}
