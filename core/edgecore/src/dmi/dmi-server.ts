/**
 * edgecore's DMI server: KubeEdge's DeviceManagerService v1beta1 on a unix socket (mode 0660, in a
 * directory of mode 0750, so only the edge's user and group reach it). Mappers register
 * (MapperRegister answers with the devices and models of their protocol on this node), report twins
 * (ReportDeviceStatus) and states (ReportDeviceStates); edgecore calls each mapper's
 * DeviceMapperService through a MapperLink when devices or desired values change.
 * Better than KubeEdge's: registrations are kept in the data dir and survive a restart (edgecore
 * brings each mapper up to date when it starts); a second live mapper for a protocol is refused.
 * The transport is the sdk's gRPC over node:http2 (`DmiGrpcServer`), not @grpc/grpc-js.
 * Every call is first authenticated (DmiAccess: the per-mapper token, or anonymous), then bound to
 * the caller's protocol: registering for, or reporting a device of, a protocol that is not the
 * caller's is PERMISSION_DENIED and changes nothing. A token-holding mapper's registration replaces
 * whatever was registered for its protocol; edgecore's calls to it carry its token.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmod } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage, isEdgeTwinError, modelKey, type ResolvedDevice } from '@edgetwin/sdk';
import {
  DmiGrpcServer,
  GrpcError,
  type DmiCall,
  Status,
  toPbDevice,
  toPbModel,
  type PbMapperRegisterRequest,
  type PbReportDeviceStatesRequest,
  type PbReportDeviceStatusRequest,
} from '@edgetwin/sdk/dmi';
import { RepeatedLog } from '@edgetwin/sdk/util';
import type { ReportInput, TwinService, TwinChangeEvent, WriteOutcomeInput } from '@edgetwin/device-twin';
import { MapperLink, type DesiredDevice, type Registration } from './mapper-link.js';
import type { DmiAccess, DmiCaller } from './dmi-access.js';

export interface DmiServerOptions {
  socketPath: string;
  /** Who may call, and for which protocols. */
  access: DmiAccess;
  /** Where registrations are kept (a JSON file, mode 0600). */
  stateFile: string;
  twin: TwinService;
  logger: Logger;
  /** Called when a mapper registers (edgecore then stops its own mapper for that protocol). */
  onMappersChanged?: () => void;
  /** The group of the socket and its directory (--mapper-uids: the mappers' group); default edgecore's. */
  group?: number | undefined;
}

/** mapper-framework's states, as edgecore's: "disconnected" is offline; the rest are twin states. */
const STATES: Record<string, string> = { disconnected: 'offline' };

export class DmiServer {
  private server: DmiGrpcServer<'DeviceManagerService', DmiCaller> | undefined;
  readonly links = new Map<string, MapperLink>();
  private readonly log: Logger;
  /** Refused calls, the same refusal logged once a minute per method (a flood of bad calls stays a few lines). */
  private readonly refusals: RepeatedLog;
  private readonly onChange = (ev: TwinChangeEvent) => {
    if (ev.kind !== 'desired') return;
    const protocol = this.opts.twin.getDevice(ev.id)?.protocolName;
    if (protocol) void this.links.get(protocol)?.syncDevice(ev.id);
  };
  private readonly onMembership = () => {
    for (const link of this.links.values()) void link.syncAll();
  };

  constructor(private readonly opts: DmiServerOptions) {
    this.log = opts.logger.child({ module: 'dmi' });
    this.refusals = new RepeatedLog(this.log);
  }

  async start(): Promise<void> {
    const dir = dirname(this.opts.socketPath);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    chmodSync(dir, 0o750);
    const group = this.opts.group;
    if (group !== undefined) chownSync(dir, process.getuid?.() ?? 0, group);
    rmSync(this.opts.socketPath, { force: true }); // a socket left by a killed edgecore
    const access = this.opts.access;
    const server = new DmiGrpcServer<'DeviceManagerService', DmiCaller>({
      service: 'DeviceManagerService',
      authenticate: (metadata, method) => {
        try {
          return access.authenticate(metadata);
        } catch (err) {
          const why = errorMessage(err);
          this.refusals.warn(`${method} unauthenticated`, { method, err: why }, `DMI ${method} refused: ${why}`);
          throw err;
        }
      },
      handlers: {
        MapperRegister: this.handler((req: PbMapperRegisterRequest, c) => this.register(req, c)),
        ReportDeviceStatus: this.handler((req: PbReportDeviceStatusRequest, c) => this.reportStatus(req, c)),
        ReportDeviceStates: this.handler((req: PbReportDeviceStatesRequest, c) => this.reportStates(req, c)),
      },
      onError: (method, code, details) => {
        if (code !== Status.INTERNAL) return; // INTERNAL from handlers is logged by handler()
        this.log.warn({ method, err: details }, `malformed DMI ${method} request: ${details}`);
      },
    });
    try {
      await server.listen(this.opts.socketPath);
    } catch (err) {
      throw new EdgeTwinError('ET_CONFIG_INVALID', `DMI socket ${this.opts.socketPath}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    chmodSync(this.opts.socketPath, 0o660);
    if (group !== undefined) chownSync(this.opts.socketPath, process.getuid?.() ?? 0, group);
    this.server = server;
    let dropped = false;
    for (const reg of this.loadRegistrations()) {
      if (!reg.managed && access.managed(reg.protocol)) {
        dropped = true;
        // Made without a token, for a protocol whose mapper edgecore now runs itself: not trusted.
        this.log.warn(
          { mapper: reg.name, protocol: reg.protocol, address: reg.address },
          `dropping the ${reg.protocol} registration made without a DMI token: edgecore runs that mapper itself`,
        );
        continue;
      }
      this.link(reg);
    }
    if (dropped) this.saveRegistrations();
    this.opts.twin.on('change', this.onChange);
    this.opts.twin.on('membership', this.onMembership);
    for (const link of this.links.values()) void link.syncAll(); // the mapper may have missed changes
    this.log.info({ socket: this.opts.socketPath, mappers: [...this.links.keys()] }, 'DMI server listening');
  }

  async stop(): Promise<void> {
    this.opts.twin.off('change', this.onChange);
    this.opts.twin.off('membership', this.onMembership);
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const server = this.server;
    this.server = undefined;
    await server?.close();
    rmSync(this.opts.socketPath, { force: true });
  }

  /** The devices of a protocol on this node, as DMI messages with their current desired values. */
  private devicesOf(protocol: string): DesiredDevice[] {
    const twin = this.opts.twin;
    return twin
      .listDevices()
      .filter((d) => d.protocolName === protocol)
      .map((d: ResolvedDevice) => ({
        id: d.id,
        modelId: modelKey(d.namespace, d.model.metadata.name),
        device: toPbDevice(d, twin.getTwin(d.id)?.desired ?? {}),
        model: toPbModel(d.model),
      }));
  }

  private link(reg: Registration): MapperLink {
    this.links.get(reg.protocol)?.close();
    const access = this.opts.access;
    const link = new MapperLink(
      reg,
      () => (reg.managed ? access.tokenFor(reg.protocol) : undefined),
      () => this.devicesOf(reg.protocol),
      () => this.saveRegistrations(),
      this.log.child({ mapper: reg.name, protocol: reg.protocol }),
    );
    this.links.set(reg.protocol, link);
    return link;
  }

  private async register(req: PbMapperRegisterRequest, caller: DmiCaller) {
    const m = req.mapper;
    const address = m ? Buffer.from(m.address).toString('utf8') : '';
    if (!m?.protocol) throw invalid('MapperRegister needs mapper.protocol (the protocolName of the devices it serves)');
    this.opts.access.check(caller, m.protocol, `register as the mapper of protocol "${m.protocol}"`);
    if (!address) throw invalid(`mapper ${m.name}: MapperRegister needs mapper.address (its unix socket)`);
    const managed = caller.kind === 'mapper';
    const existing = this.links.get(m.protocol);
    // The mapper edgecore started (it holds the token) replaces any earlier registration of its protocol.
    if (!managed && existing && existing.reg.address !== address && (await existing.alive())) {
      throw new GrpcError(
        Status.ALREADY_EXISTS,
        `a mapper for protocol "${m.protocol}" is already registered and running (${existing.reg.name} at ${existing.reg.address}); stop it before starting ${m.name} at ${address}`,
      );
    }
    const reg: Registration = {
      protocol: m.protocol,
      name: m.name,
      version: m.version,
      apiVersion: m.api_version,
      address,
      managed,
      sent: {},
      models: [],
    };
    const link = this.link(reg);
    this.opts.onMappersChanged?.();
    const devices = this.devicesOf(m.protocol);
    this.log.info({ mapper: m.name, protocol: m.protocol, address, devices: devices.length }, 'mapper registered');
    if (!req.withData) {
      this.saveRegistrations();
      void link.syncAll(); // it asked for nothing: it gets its devices through RegisterDevice
      return { modelList: [], deviceList: [] };
    }
    link.markSent(devices);
    const models = new Map(devices.map((d) => [d.modelId, d.model]));
    return { modelList: [...models.values()], deviceList: devices.map((d) => d.device) };
  }

  /** Refuses a caller reporting for a device that is not of its protocol (an unknown device is the twin's NOT_FOUND). */
  private checkDevice(caller: DmiCaller, id: string, what: string): void {
    const protocol = this.opts.twin.getDevice(id)?.protocolName;
    if (protocol !== undefined) this.opts.access.check(caller, protocol, `${what} ${id}`);
  }

  private async reportStatus(req: PbReportDeviceStatusRequest, caller: DmiCaller) {
    const id = `${req.deviceNamespace || 'default'}/${req.deviceName}`;
    this.checkDevice(caller, id, 'report the twin of');
    const values: Record<string, ReportInput> = {};
    const outcomes: Record<string, WriteOutcomeInput> = {};
    for (const t of req.reportedDevice?.twins ?? []) {
      if (t.reported) {
        const r: ReportInput = { value: t.reported.value };
        const ts = Number(t.reported.metadata?.timestamp);
        if (Number.isFinite(ts) && ts > 0) r.sourceTime = ts;
        const quality = t.reported.metadata?.quality;
        if (quality) r.quality = quality;
        values[t.propertyName] = r;
      }
      const od = t.observedDesired;
      const status = od?.metadata?.status;
      if (od && (status === 'applied' || status === 'failed')) {
        // EdgeTwin's write outcome (metadata status, version, code, reason); KubeEdge mappers send none.
        const o: WriteOutcomeInput = { value: od.value, status };
        const version = Number(od.metadata.version);
        if (Number.isSafeInteger(version) && version > 0) o.version = version;
        if (od.metadata.code) o.code = od.metadata.code;
        if (od.metadata.reason) o.reason = od.metadata.reason;
        outcomes[t.propertyName] = o;
      }
    }
    if (Object.keys(values).length === 0 && Object.keys(outcomes).length === 0)
      throw invalid(`ReportDeviceStatus for ${id} carries no reported twin`);
    await this.opts.twin.report(id, values, { cause: 'dmi', outcomes });
    return {};
  }

  private async reportStates(req: PbReportDeviceStatesRequest, caller: DmiCaller) {
    const id = `${req.deviceNamespace || 'default'}/${req.deviceName}`;
    this.checkDevice(caller, id, 'report the state of');
    const state = req.state.toLowerCase();
    await this.opts.twin.setState(id, STATES[state] ?? state, { cause: 'dmi' });
    return {};
  }

  /** A unary handler: answers with the result, or a gRPC status that says what was wrong. */
  private handler<Req, Res extends object>(
    fn: (req: Req, caller: DmiCaller) => Promise<Res>,
  ): (req: Req, call: DmiCall<DmiCaller>) => Promise<Res> {
    return (req, call) =>
      fn(req, call.caller).catch((err: unknown) => {
        const e = toGrpcError(err);
        if (e.code === Status.INTERNAL) this.log.error({ err: errorMessage(err) }, 'DMI request failed');
        if (e.code === Status.PERMISSION_DENIED)
          this.refusals.warn(`${call.method} denied`, { method: call.method, err: e.details }, e.details);
        throw e;
      });
  }

  private loadRegistrations(): Registration[] {
    if (!existsSync(this.opts.stateFile)) return [];
    try {
      return (JSON.parse(readFileSync(this.opts.stateFile, 'utf8')) as { mappers: Registration[] }).mappers;
    } catch (err) {
      this.log.warn(
        { file: this.opts.stateFile, err: errorMessage(err) },
        'DMI registrations unreadable; mappers must register again',
      );
      return [];
    }
  }

  private saveRegistrations(): void {
    const mappers = [...this.links.values()].map((l) => l.reg);
    writeFileSync(this.opts.stateFile, JSON.stringify({ mappers }), { mode: 0o600 });
    chmod(this.opts.stateFile, 0o600, () => undefined);
  }
}

const invalid = (details: string) => new GrpcError(Status.INVALID_ARGUMENT, details);

function toGrpcError(err: unknown): GrpcError {
  if (err instanceof GrpcError) return err;
  if (isEdgeTwinError(err)) {
    const code =
      err.code === 'ET_NOT_FOUND'
        ? Status.NOT_FOUND
        : err.code === 'ET_UNAVAILABLE'
          ? Status.UNAVAILABLE
          : Status.INVALID_ARGUMENT;
    return new GrpcError(code, `${err.code}: ${err.message}`, { cause: err });
  }
  return new GrpcError(Status.INTERNAL, errorMessage(err), { cause: err });
}

export const DMI_STATE_FILE = 'dmi-mappers.json';
export const defaultDmiSocket = (dataDir: string) => join(dataDir, 'dmi', 'dmi.sock');
