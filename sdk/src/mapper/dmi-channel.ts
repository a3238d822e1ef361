/**
 * The mapper's control channel to edgecore: KubeEdge's DMI v1beta1 over unix sockets. It serves
 * DeviceMapperService on the mapper's own socket (edgecore calls Register/Update/RemoveDevice,
 * Create/Update/RemoveDeviceModel, GetDevice), registers with edgecore's DeviceManagerService
 * (MapperRegister with data: the devices and models of its protocol on this node), and reports
 * twins (ReportDeviceStatus) and states (ReportDeviceStates). When edgecore restarts, the channel
 * notices its HTTP/2 session to edgecore closing and registers again, with backoff, until edgecore
 * answers. The transport is the sdk's own gRPC over node:http2 (no @grpc/grpc-js in a mapper).
 * With a `token` (the one edgecore made for this mapper process), the channel sends it on every call
 * to edgecore and its own server refuses, with UNAUTHENTICATED and without acting on them, calls
 * that do not carry it. Without one (a mapper started by hand) both sides send and take calls
 * without a token, as before.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http2';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage } from '../errors.js';
import { bearerToken, dmiTokenDigest, dmiTokenMatches } from '../dmi/auth.js';
import { DmiClient } from '../dmi/h2-client.js';
import { DmiGrpcServer } from '../dmi/h2-server.js';
import { GrpcError, Status } from '../dmi/grpc-status.js';
import type { PbDevice, PbDeviceModel, PbMapperRegisterResponse, PbTwin } from '../dmi/messages.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';

export interface DmiDeviceEvents {
  /** A device to serve (new or changed), with its model when edgecore sent it. */
  device(id: string, device: PbDevice, model: PbDeviceModel | undefined): void;
  remove(id: string): void;
  /** GetDevice: the device as the mapper holds it, with the twins it last reported. */
  get(id: string): PbDevice | undefined;
  /** A registration succeeded (the first one, or again after edgecore restarted). */
  registered(): void;
}

export interface DmiChannelOptions {
  protocol: string;
  /** Mapper name sent in MapperRegister. */
  name: string;
  version: string;
  /** edgecore's DMI socket. */
  dmiSocket: string;
  /** This mapper's own socket, where it serves DeviceMapperService. */
  mapperSocket: string;
  logger: Logger;
  events: DmiDeviceEvents;
  /** Re-registration backoff (default 500 ms doubling up to 10 s). */
  backoff?: BackoffOptions;
  /** Deadline of each call to edgecore (default 5000 ms). */
  callTimeoutMs?: number;
  /** The DMI token edgecore gave this mapper: sent to edgecore, required from edgecore. */
  token?: string;
}

const idOf = (namespace: string, name: string) => `${namespace || 'default'}/${name}`;

export class DmiChannel {
  private server: DmiGrpcServer<'DeviceMapperService'> | undefined;
  private client: DmiClient<'DeviceManagerService'> | undefined;
  private unwatch: (() => void) | undefined;
  private readonly models = new Map<string, PbDeviceModel>();
  private readonly devices = new Map<string, PbDevice>();
  private readonly backoff: Backoff;
  private registered = false;
  private registering: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  /** Completed registrations (the first one and one after each edgecore restart). */
  registrations = 0;

  constructor(private readonly opts: DmiChannelOptions) {
    this.backoff = new Backoff({ initialMs: 500, maxMs: 10_000, ...opts.backoff });
  }

  get connected(): boolean {
    return this.registered;
  }

  /** Serves DeviceMapperService on the mapper's socket, then registers in the background. */
  async start(): Promise<void> {
    const path = this.opts.mapperSocket;
    mkdirSync(dirname(path), { recursive: true });
    rmSync(path, { force: true }); // left by a killed mapper
    const handle =
      <Req, Res extends object>(fn: (req: Req) => Res) =>
      (req: Req): Res => {
        try {
          return fn(req);
        } catch (err) {
          throw new GrpcError(err instanceof NotFound ? Status.NOT_FOUND : Status.INVALID_ARGUMENT, errorMessage(err));
        }
      };
    const token = this.opts.token;
    const digest = token === undefined ? undefined : dmiTokenDigest(token);
    const server = new DmiGrpcServer({
      service: 'DeviceMapperService',
      ...(digest === undefined
        ? {}
        : { authenticate: (metadata: IncomingHttpHeaders) => checkEdgecore(metadata, digest) }),
      handlers: {
        RegisterDevice: handle((req: { device?: PbDevice | null }) => this.upsert(req.device)),
        UpdateDevice: handle((req: { device?: PbDevice | null }) => (this.upsert(req.device), {})),
        RemoveDevice: handle((req: { deviceName: string; deviceNamespace: string }) => {
          this.remove(idOf(req.deviceNamespace, req.deviceName));
          return {};
        }),
        CreateDeviceModel: handle((req: { model?: PbDeviceModel | null }) => this.upsertModel(req.model)),
        UpdateDeviceModel: handle((req: { model?: PbDeviceModel | null }) => (this.upsertModel(req.model), {})),
        RemoveDeviceModel: handle((req: { modelName: string; modelNamespace: string }) => {
          this.models.delete(idOf(req.modelNamespace, req.modelName));
          return {};
        }),
        GetDevice: handle((req: { deviceName: string; deviceNamespace: string }) => {
          const id = idOf(req.deviceNamespace, req.deviceName);
          const device = this.opts.events.get(id);
          if (!device) throw new NotFound(`device ${id} is not served by this mapper`);
          return { device };
        }),
      },
      onError: (method, code, details) =>
        this.opts.logger.warn({ method, code, err: details }, `DMI call ${method} from edgecore failed: ${details}`),
    });
    try {
      await server.listen(path);
    } catch (err) {
      throw new EdgeTwinError('ET_CONFIG_INVALID', `mapper DMI socket ${path}: ${errorMessage(err)}`, { cause: err });
    }
    chmodSync(path, 0o660);
    this.server = server;
    this.client = new DmiClient({
      socketPath: this.opts.dmiSocket,
      service: 'DeviceManagerService',
      ...(token === undefined ? {} : { token }),
    });
    this.registerSoon();
  }

  /** Registers (again) until edgecore answers, with backoff; the answer replaces what the mapper serves. */
  private registerSoon(): void {
    if (this.registering || this.stopped) return;
    this.registered = false;
    this.registering = this.registerLoop().finally(() => (this.registering = undefined));
  }

  private async registerLoop(): Promise<void> {
    const log = this.opts.logger;
    while (!this.stopped) {
      try {
        const res = await this.client!.call<PbMapperRegisterResponse>(
          'MapperRegister',
          {
            withData: true,
            mapper: {
              name: this.opts.name,
              version: this.opts.version,
              api_version: 'v1beta1',
              protocol: this.opts.protocol,
              address: Buffer.from(this.opts.mapperSocket, 'utf8'),
              state: 'ok',
            },
          },
          this.opts.callTimeoutMs ?? 5000,
        );
        if (this.stopped) return;
        this.registered = true;
        this.registrations++;
        this.backoff.reset();
        this.applyRegistration(res);
        this.opts.events.registered();
        log.info(
          { socket: this.opts.dmiSocket, devices: res.deviceList.length },
          `registered with edgecore over DMI (${res.deviceList.length} devices)`,
        );
        this.watch();
        return;
      } catch (err) {
        if (this.stopped) return;
        const delay = this.backoff.next();
        const attempts = this.backoff.attempts;
        if (attempts === 1 || attempts % 10 === 0)
          log.warn(
            { err: errorMessage(err), retryInMs: delay, attempts },
            `cannot register with edgecore at ${this.opts.dmiSocket}: ${errorMessage(err)}; retrying`,
          );
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, delay);
        });
        this.wake = undefined;
      }
    }
  }

  /** Registers again once the session to edgecore closes (edgecore stopped or restarted). */
  private watch(): void {
    const client = this.client!;
    this.unwatch?.();
    this.unwatch = undefined;
    if (!client.connected) {
      this.registerSoon();
      return;
    }
    this.unwatch = client.onDisconnect(() => {
      this.unwatch?.();
      this.unwatch = undefined;
      if (this.stopped) return;
      this.opts.logger.warn('lost the DMI connection to edgecore; registering again');
      this.registerSoon();
    });
  }

  private applyRegistration(res: PbMapperRegisterResponse): void {
    this.models.clear();
    for (const m of res.modelList) this.models.set(idOf(m.namespace, m.name), m);
    const ids = new Set<string>();
    for (const d of res.deviceList) {
      ids.add(idOf(d.namespace, d.name));
      this.upsert(d);
    }
    for (const id of [...this.devices.keys()]) if (!ids.has(id)) this.remove(id);
  }

  private upsert(device: PbDevice | null | undefined): { deviceName: string; deviceNamespace: string } {
    if (!device?.name) throw new Error('RegisterDevice/UpdateDevice needs device.name');
    const id = idOf(device.namespace, device.name);
    this.devices.set(id, device);
    const model = this.models.get(idOf(device.namespace, device.spec?.deviceModelReference ?? ''));
    this.opts.events.device(id, device, model);
    return { deviceName: device.name, deviceNamespace: device.namespace || 'default' };
  }

  private remove(id: string): void {
    if (!this.devices.delete(id)) return;
    this.opts.events.remove(id);
  }

  private upsertModel(model: PbDeviceModel | null | undefined): {
    deviceModelName: string;
    deviceModelNamespace: string;
  } {
    if (!model?.name) throw new Error('CreateDeviceModel/UpdateDeviceModel needs model.name');
    const key = idOf(model.namespace, model.name);
    const had = this.models.has(key);
    this.models.set(key, model);
    if (had) {
      // A changed model changes its devices: serve them again with it.
      for (const [id, d] of this.devices)
        if (idOf(d.namespace, d.spec?.deviceModelReference ?? '') === key) this.opts.events.device(id, d, model);
    }
    return { deviceModelName: model.name, deviceModelNamespace: model.namespace || 'default' };
  }

  /** ReportDeviceStatus: reported values and write outcomes of one device. */
  async reportStatus(ref: { namespace: string; name: string }, twins: PbTwin[]): Promise<void> {
    await this.call('ReportDeviceStatus', {
      deviceName: ref.name,
      deviceNamespace: ref.namespace,
      reportedDevice: { twins },
    });
  }

  /** ReportDeviceStates: the device's state (online, offline, unhealthy). */
  async reportState(ref: { namespace: string; name: string }, state: string): Promise<void> {
    await this.call('ReportDeviceStates', { deviceName: ref.name, deviceNamespace: ref.namespace, state });
  }

  private async call(method: 'ReportDeviceStatus' | 'ReportDeviceStates', req: object): Promise<void> {
    const client = this.client;
    if (!client || this.stopped) throw new EdgeTwinError('ET_UNAVAILABLE', 'the DMI channel is closed');
    try {
      await client.call(method, req, this.opts.callTimeoutMs ?? 5000);
    } catch (err) {
      throw toEdgeTwinError(method, err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.registered = false;
    clearTimeout(this.timer);
    this.wake?.();
    await this.registering;
    this.unwatch?.();
    this.unwatch = undefined;
    this.client?.close();
    this.client = undefined;
    const server = this.server;
    this.server = undefined;
    await server?.close();
    rmSync(this.opts.mapperSocket, { force: true });
  }
}

class NotFound extends Error {}

/** Refuses a call to this mapper that does not carry the token edgecore started it with. */
function checkEdgecore(metadata: IncomingHttpHeaders, digest: string): undefined {
  const presented = bearerToken(metadata);
  if (dmiTokenMatches(presented, digest)) return undefined;
  throw new GrpcError(
    Status.UNAUTHENTICATED,
    presented === undefined
      ? 'this mapper was started by edgecore with a DMI token; a call without it is refused'
      : 'wrong DMI token: only the edgecore that started this mapper may call it',
  );
}

/** gRPC failures as the runtime's error codes: not delivered (retry next cycle) or refused. */
function toEdgeTwinError(method: string, err: unknown): EdgeTwinError {
  const code = (err as { code?: number }).code;
  const details = (err as { details?: string }).details ?? errorMessage(err);
  if (code === Status.DEADLINE_EXCEEDED)
    return new EdgeTwinError('ET_TIMEOUT', `${method}: edgecore did not answer in time; is it running?`, {
      cause: err,
    });
  if (code === Status.RESOURCE_EXHAUSTED)
    // Refused by our own client before it was sent (too many calls wait): not delivered, sent next cycle.
    return new EdgeTwinError('ET_UNAVAILABLE', `${method}: edgecore is not keeping up: ${details}`, { cause: err });
  if (code === Status.UNAVAILABLE || code === Status.CANCELLED)
    return new EdgeTwinError('ET_UNAVAILABLE', `${method}: edgecore is not reachable: ${details}`, { cause: err });
  return new EdgeTwinError('ET_PROTOCOL', `edgecore refused ${method}: ${details}`, {
    cause: err,
    details: { code: code ?? -1, reason: details },
  });
}
