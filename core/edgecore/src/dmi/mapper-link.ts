/**
 * edgecore's side of one registered DMI mapper: a persistent gRPC channel to the mapper's socket
 * and what the mapper was last sent. `syncAll` and `syncDevice` send RegisterDevice (after
 * CreateDeviceModel), UpdateDevice only when a device's spec or desired values changed, and
 * RemoveDevice; calls to one mapper go one at a time, in order. A failed call is retried with
 * backoff, from the current state, so nothing is lost while a mapper restarts.
 * The channel is the sdk's `DmiClient` (gRPC over node:http2, one persistent session). For a mapper
 * edgecore started, every call carries that mapper's current DMI token.
 */
import type { Logger } from 'pino';
import { errorMessage } from '@edgetwin/sdk';
import { DmiClient, deviceHash, type DmiMethod, type PbDevice, type PbDeviceModel } from '@edgetwin/sdk/dmi';
import { Backoff } from '@edgetwin/sdk/util';

export interface Registration {
  protocol: string;
  name: string;
  version: string;
  apiVersion: string;
  /** The mapper's unix socket. */
  address: string;
  /** Registered with the DMI token of a mapper edgecore started (absent in files of older versions: false). */
  managed?: boolean;
  /** Device id -> hash of the Device message the mapper holds. */
  sent: Record<string, string>;
  /** Model ids the mapper was sent. */
  models: string[];
}

export interface DesiredDevice {
  id: string;
  modelId: string;
  device: PbDevice;
  model: PbDeviceModel;
}

export class MapperLink {
  private readonly client: DmiClient<'DeviceMapperService'>;
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private closed = false;
  calls = 0;

  constructor(
    readonly reg: Registration,
    token: () => string | undefined,
    private readonly current: () => DesiredDevice[],
    private readonly saved: () => void,
    private readonly log: Logger,
  ) {
    this.client = new DmiClient({ socketPath: reg.address, service: 'DeviceMapperService', token });
  }

  /** True when the mapper's socket accepts a connection within `timeoutMs`. */
  alive(timeoutMs = 1000): Promise<boolean> {
    return this.client.ready(timeoutMs);
  }

  /** Brings the mapper to the current devices of its protocol. */
  syncAll(): Promise<void> {
    return this.enqueue(async () => {
      const want = this.current();
      const ids = new Set(want.map((d) => d.id));
      for (const d of want) await this.send(d);
      for (const id of Object.keys(this.reg.sent)) {
        if (ids.has(id)) continue;
        const [ns, name] = id.split('/') as [string, string];
        await this.call('RemoveDevice', { deviceName: name, deviceNamespace: ns });
        delete this.reg.sent[id];
        this.saved();
      }
    });
  }

  /** Sends one device if it changed (a desired value set, a spec edited). */
  syncDevice(id: string): Promise<void> {
    return this.enqueue(async () => {
      const d = this.current().find((x) => x.id === id);
      if (d) await this.send(d);
    });
  }

  /** Marks devices as held by the mapper (answered in MapperRegister with withData). */
  markSent(devices: DesiredDevice[]): void {
    this.reg.sent = Object.fromEntries(devices.map((d) => [d.id, deviceHash(d.device)]));
    this.reg.models = [...new Set(devices.map((d) => d.modelId))];
    this.saved();
  }

  private async send(d: DesiredDevice): Promise<void> {
    const hash = deviceHash(d.device);
    const had = this.reg.sent[d.id];
    if (had === hash) return;
    if (!this.reg.models.includes(d.modelId)) {
      await this.call('CreateDeviceModel', { model: d.model });
      this.reg.models.push(d.modelId);
    }
    await this.call(had === undefined ? 'RegisterDevice' : 'UpdateDevice', { device: d.device });
    this.reg.sent[d.id] = hash;
    this.saved();
  }

  private async call(method: DmiMethod<'DeviceMapperService'>, req: object): Promise<void> {
    this.calls++;
    await this.client.call(method, req);
    this.log.debug({ method }, 'DMI call');
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await work();
        this.backoff.reset();
      } catch (err) {
        this.scheduleRetry(err);
      }
    });
    this.queue = run;
    return run;
  }

  private scheduleRetry(err: unknown): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.backoff.next();
    if (this.backoff.attempts === 1 || this.backoff.attempts % 10 === 0)
      this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'DMI call to the mapper failed; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.syncAll();
    }, delay);
    this.retryTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.client.close();
  }
}
