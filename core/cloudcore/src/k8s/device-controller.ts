/**
 * The Kubernetes side of cloud-joined mode: informers over Devices and DeviceModels, the status
 * writer for what edges report, and the spec writer for desired values set at an edge.
 */
import { API_GROUP, EdgeTwinError, errorMessage, type Device, type DeviceModel } from '@edgetwin/sdk';
import { Backoff, sleep, withDeadline } from '@edgetwin/sdk/util';
import type { Logger } from 'pino';
import { Informer } from './informer.js';
import { KubeApiError, KubeClient, loadKubeConfig, type KubeObject } from './kube-client.js';
import { detectStatusLayout, devicePath, StatusWriter, type StatusLayout, type StatusUpdate } from './status-writer.js';

export type KubeDevice = Device & KubeObject;
export type KubeDeviceModel = DeviceModel & KubeObject;

export interface DeviceControllerOptions {
  /** kubeconfig file; the default locations when omitted. */
  kubeconfig?: string;
  logger: Logger;
  /** Minimum time between two status patches of one device (default 1000 ms). */
  statusIntervalMs?: number;
  watchTimeoutSeconds?: number;
  /** Where reported values go; `auto` (default) asks the API server (`detectStatusLayout`). */
  statusLayout?: StatusLayout | 'auto';
}

export class DeviceController {
  readonly client: KubeClient;
  readonly devices: Informer<KubeDevice>;
  readonly models: Informer<KubeDeviceModel>;
  readonly status: StatusWriter;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly statusLayout: StatusLayout | 'auto';

  constructor(opts: DeviceControllerOptions) {
    this.statusLayout = opts.statusLayout ?? 'auto';
    this.log = opts.logger.child({ module: 'device-controller' });
    this.client = new KubeClient(loadKubeConfig(opts.kubeconfig));
    const base = `/apis/${API_GROUP}/v1beta1`;
    const w = opts.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: opts.watchTimeoutSeconds };
    this.devices = new Informer<KubeDevice>(this.client, `${base}/devices`, this.log, w);
    this.models = new Informer<KubeDeviceModel>(this.client, `${base}/devicemodels`, this.log, w);
    this.status = new StatusWriter(this.client, this.log, {
      layout: this.statusLayout === 'auto' ? 'device' : this.statusLayout,
      intervalMs: opts.statusIntervalMs ?? 1000,
      lookup: (key) => this.devices.cache.get(key),
    });
  }

  /** Starts both informers and resolves once both have listed (bounded by `timeoutMs`). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.devices.start();
    this.models.start();
    await withDeadline(
      Promise.all([this.devices.synced, this.models.synced]),
      timeoutMs,
      () =>
        new EdgeTwinError(
          'ET_TIMEOUT',
          `Kubernetes API did not answer the first list within ${timeoutMs} ms; check the kubeconfig and that the CRDs are installed (kubectl apply -f deploy/crds.yaml)`,
        ),
    );
    if (this.statusLayout === 'auto') await this.detectLayout();
  }

  /** Picks the status layout the API server offers; says once, clearly, when it offers none. */
  private async detectLayout(): Promise<void> {
    try {
      this.status.layout = await detectStatusLayout(this.client);
      this.log.info({ layout: this.status.layout }, 'device status layout');
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'reported values will not reach Kubernetes');
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.status.stop();
    await Promise.all([this.devices.stop(), this.models.stop()]);
  }

  writeStatus(key: string, update: StatusUpdate): Promise<void> {
    return this.status.write(key, update);
  }

  /**
   * Writes desired values set at an edge into `spec.properties[i].desired.value` with a merge
   * patch guarded by the resourceVersion it read; retried on conflicts. Unknown properties are
   * added to the list. Resolves without writing when the Device is gone.
   */
  async writeDesired(key: string, values: Record<string, string>): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 5000 });
    for (;;) {
      let dev: KubeDevice;
      try {
        dev = await this.client.call<KubeDevice>('GET', devicePath(key));
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return;
        throw err;
      }
      const props = dev.spec.properties.map((p) => ({ ...p }));
      for (const [name, value] of Object.entries(values)) {
        const p = props.find((x) => x.name === name);
        if (p) p.desired = { ...p.desired, value };
        else props.push({ name, desired: { value } });
      }
      try {
        await this.client.call('PATCH', devicePath(key), {
          metadata: { resourceVersion: dev.metadata.resourceVersion },
          spec: { properties: props },
        });
        return;
      } catch (err) {
        if (this.abort.signal.aborted) throw err;
        if (!(err instanceof KubeApiError) || err.status !== 409)
          this.log.warn({ device: key, err: errorMessage(err) }, 'desired patch failed; retrying');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }
}
