/**
 * A minimal, faithful edgecore side of the DMI contract for mapper tests: it serves
 * DeviceManagerService on a unix socket (MapperRegister answers with the devices published so
 * far, ReportDeviceStatus is checked like edgecore checks it: known properties, values of the
 * model's type) and calls the registered mapper's DeviceMapperService when a test publishes,
 * changes or removes a device or sets a desired value (UpdateDevice with a new desired version).
 * It records what the mapper reported so tests can assert on it. `restart()` stops and starts the
 * server on the same socket, as an edgecore restart does.
 * With a `token` it plays an edgecore that started the mapper with that DMI token: its calls to the
 * mapper carry it, and it records the token each call from the mapper carried (`tokensSeen`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { deviceHash, toPbDevice, toPbModel, type DesiredForDmi } from '../dmi/convert.js';
import { loadDmi, unary } from '../dmi/grpc.js';
import type {
  PbMapperRegisterRequest,
  PbReportDeviceStatesRequest,
  PbReportDeviceStatusRequest,
} from '../dmi/messages.js';
import { errorMessage } from '../errors.js';
import { deviceId, type DeviceRef } from '../hw/topics.js';
import type { Device, DeviceModel, ModelProperty } from '../schema/resources.js';
import { modelKey, resolveDevice } from '../schema/resolve.js';
import { coerceValue } from '../schema/values.js';

interface TwinRecord {
  device: Device;
  model: DeviceModel;
  desired: Map<string, { value: string; version: number; updatedAt: number }>;
  reported: Map<string, string>;
  /** Last reported `metadata.quality` per property (absent: good). */
  quality: Map<string, string | undefined>;
  /** Every accepted report, as property -> value. */
  updates: Record<string, string>[];
  /** Write outcomes (observedDesired), oldest first. */
  outcomes: { property: string; value: string; metadata: Record<string, string> }[];
  states: string[];
  /** Hash of what the mapper holds. */
  sent?: string;
}

/** A write outcome the mapper reported. */
export interface ReportedOutcome {
  property: string;
  value: string;
  metadata: Record<string, string>;
}

export class DmiSide {
  private readonly twins = new Map<string, TwinRecord>();
  private server: Grpc.Server | undefined;
  private mapper: Grpc.Client | undefined;
  private desiredVersion = 0;
  /** Rejected reports with the reason edgecore would give. */
  readonly rejected: { device: string; reason: string }[] = [];
  /** MapperRegister calls answered. */
  registrations = 0;
  /** The bearer token of each call the mapper made ('' without one), oldest first. */
  readonly tokensSeen: string[] = [];
  mapperAddress: string | undefined;

  private constructor(
    readonly socketPath: string,
    readonly nodeName: string,
    private readonly dir: string | undefined,
    private readonly token: string | undefined,
  ) {}

  static async start(opts: { nodeName: string; socketPath?: string; token?: string }): Promise<DmiSide> {
    const dir = opts.socketPath ? undefined : mkdtempSync(join(tmpdir(), 'edgetwin-dmi-'));
    const side = new DmiSide(opts.socketPath ?? join(dir!, 'dmi.sock'), opts.nodeName, dir, opts.token);
    await side.listen();
    return side;
  }

  private async listen(): Promise<void> {
    const { grpc, Manager } = loadDmi();
    rmSync(this.socketPath, { force: true });
    const server = new grpc.Server();
    const handle =
      <Req>(fn: (req: Req) => object): Grpc.handleUnaryCall<Req, object> =>
      (call, callback) => {
        const auth = call.metadata.get('authorization')[0];
        this.tokensSeen.push(typeof auth === 'string' ? auth.replace(/^Bearer /, '') : '');
        try {
          callback(null, fn(call.request));
        } catch (err) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: errorMessage(err), message: errorMessage(err) });
        }
      };
    server.addService(Manager.service, {
      MapperRegister: handle((req: PbMapperRegisterRequest) => this.register(req)),
      ReportDeviceStatus: handle((req: PbReportDeviceStatusRequest) => this.reportStatus(req)),
      ReportDeviceStates: handle((req: PbReportDeviceStatesRequest) => {
        this.twin({ namespace: req.deviceNamespace || 'default', name: req.deviceName }).states.push(req.state);
        return {};
      }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    this.server = server;
  }

  /** Stops the server (the mapper's connection drops) and serves again on the same socket. */
  async restart(): Promise<void> {
    await this.shutdown();
    await this.listen();
  }

  private shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.forceShutdown();
    this.mapper?.close();
    this.mapper = undefined;
    return Promise.resolve();
  }

  private register(req: PbMapperRegisterRequest): object {
    const address = req.mapper ? Buffer.from(req.mapper.address).toString('utf8') : '';
    if (!address) throw new Error('MapperRegister needs mapper.address');
    if (this.mapperAddress !== address || !this.mapper) {
      this.mapper?.close();
      const { grpc, Mapper } = loadDmi();
      this.mapper = new Mapper(`unix:${address}`, grpc.credentials.createInsecure());
      this.mapperAddress = address;
    }
    this.registrations++;
    const devices = [...this.twins.values()].map((t) => this.pb(t));
    for (const t of this.twins.values()) t.sent = deviceHash(this.pb(t).device);
    const models = new Map(
      [...this.twins.values()].map((t) => [
        modelKey(t.model.metadata.namespace, t.model.metadata.name),
        toPbModel(t.model),
      ]),
    );
    return req.withData ? { modelList: [...models.values()], deviceList: devices.map((d) => d.device) } : {};
  }

  private pb(t: TwinRecord) {
    const models = new Map([[modelKey(t.device.metadata.namespace, t.device.spec.deviceModelRef.name), t.model]]);
    const resolved = resolveDevice(t.device, models);
    const desired: Record<string, DesiredForDmi> = {};
    for (const [name, d] of t.desired) desired[name] = { value: d.value, updatedAt: d.updatedAt, version: d.version };
    return { device: toPbDevice(resolved, desired), model: toPbModel(t.model) };
  }

  private reportStatus(req: PbReportDeviceStatusRequest): object {
    const ref = { namespace: req.deviceNamespace || 'default', name: req.deviceName };
    const id = deviceId(ref);
    const t = this.twins.get(id);
    try {
      if (!t) throw new Error(`device ${id} does not exist`);
      const update: Record<string, string> = {};
      const outcomes: ReportedOutcome[] = [];
      for (const tw of req.reportedDevice?.twins ?? []) {
        const p = this.prop(t, tw.propertyName);
        if (!p) throw new Error(`property ${tw.propertyName} is not in the model`);
        if (tw.reported) {
          coerceValue(p.type, tw.reported.value); // as edgecore: a value of the model's type
          update[tw.propertyName] = tw.reported.value;
          t.quality.set(tw.propertyName, tw.reported.metadata?.quality);
        }
        if (tw.observedDesired)
          outcomes.push({
            property: tw.propertyName,
            value: tw.observedDesired.value,
            metadata: tw.observedDesired.metadata ?? {},
          });
      }
      for (const [name, v] of Object.entries(update)) t.reported.set(name, v);
      if (Object.keys(update).length > 0) t.updates.push(update);
      t.outcomes.push(...outcomes);
      return {};
    } catch (err) {
      this.rejected.push({ device: id, reason: errorMessage(err) });
      throw err;
    }
  }

  /** Publishes a device of this node to the mapper; its twin starts with the spec's desired values. */
  async publishSpec(device: Device, model: DeviceModel): Promise<void> {
    const id = deviceId(ref(device));
    const prev = this.twins.get(id);
    const desired = prev?.desired ?? new Map<string, { value: string; version: number; updatedAt: number }>();
    for (const p of device.spec.properties)
      if (p.desired?.value)
        desired.set(p.name, { value: p.desired.value, version: ++this.desiredVersion, updatedAt: Date.now() });
    const t: TwinRecord = {
      device,
      model,
      desired,
      reported: prev?.reported ?? new Map<string, string>(),
      quality: prev?.quality ?? new Map<string, string | undefined>(),
      updates: prev?.updates ?? [],
      outcomes: prev?.outcomes ?? [],
      states: prev?.states ?? [],
      ...(prev?.sent === undefined ? {} : { sent: prev.sent }),
    };
    this.twins.set(id, t);
    await this.send(t);
  }

  /** RemoveDevice: the device is removed from the node. */
  async removeSpec(d: DeviceRef): Promise<void> {
    const t = this.twins.get(deviceId(d));
    if (t?.sent !== undefined && this.mapper)
      await unary(
        this.mapper,
        'RemoveDevice',
        { deviceName: d.name, deviceNamespace: d.namespace },
        undefined,
        this.token,
      );
    if (t) delete t.sent;
  }

  /** Sets a desired value (wire string) and sends it with UpdateDevice, as edgecore does. */
  async setDesired(d: DeviceRef, property: string, value: string): Promise<void> {
    const t = this.twin(d);
    t.desired.set(property, { value, version: ++this.desiredVersion, updatedAt: Date.now() });
    await this.send(t);
  }

  clearDesired(d: DeviceRef, property: string): void {
    this.twin(d).desired.delete(property);
  }

  /** Sends the device to the mapper when it is registered: RegisterDevice, or UpdateDevice when it holds it. */
  private async send(t: TwinRecord): Promise<void> {
    const mapper = this.mapper;
    if (!mapper) return; // sent at registration
    const { device, model } = this.pb(t);
    const hash = deviceHash(device);
    if (t.sent === hash) return;
    if (t.sent === undefined) {
      await unary(mapper, 'CreateDeviceModel', { model }, undefined, this.token);
      await unary(mapper, 'RegisterDevice', { device }, undefined, this.token);
    } else await unary(mapper, 'UpdateDevice', { device }, undefined, this.token);
    t.sent = hash;
  }

  /** GetDevice on the mapper. */
  async getDevice(d: DeviceRef): Promise<unknown> {
    if (!this.mapper) throw new Error('no mapper registered');
    return unary(this.mapper, 'GetDevice', { deviceName: d.name, deviceNamespace: d.namespace }, undefined, this.token);
  }

  reported(d: DeviceRef, property: string): string | undefined {
    return this.twins.get(deviceId(d))?.reported.get(property);
  }

  /** The quality sent with the last reported value of a property (undefined: good or none). */
  quality(d: DeviceRef, property: string): string | undefined {
    return this.twins.get(deviceId(d))?.quality.get(property);
  }

  /** Accepted reports of the device, oldest first. */
  updates(d: DeviceRef): readonly Record<string, string>[] {
    return this.twins.get(deviceId(d))?.updates ?? [];
  }

  /** Write outcomes (observedDesired) of the device, oldest first. */
  outcomes(d: DeviceRef): readonly ReportedOutcome[] {
    return this.twins.get(deviceId(d))?.outcomes ?? [];
  }

  /** State reports of the device, oldest first. */
  states(d: DeviceRef): readonly string[] {
    return this.twins.get(deviceId(d))?.states ?? [];
  }

  lastState(d: DeviceRef): string | undefined {
    return this.states(d).at(-1);
  }

  private twin(d: DeviceRef): TwinRecord {
    const t = this.twins.get(deviceId(d));
    if (!t) throw new Error(`DMI side: no device ${deviceId(d)} published`);
    return t;
  }

  private prop(t: TwinRecord, name: string): ModelProperty | undefined {
    return t.model.spec.properties.find((p) => p.name === name);
  }

  async stop(): Promise<void> {
    await this.shutdown();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function ref(device: Device): DeviceRef {
  return { namespace: device.metadata.namespace ?? 'default', name: device.metadata.name };
}
