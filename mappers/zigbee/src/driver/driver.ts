/**
 * The ZigBee driver: coordinators by path (one herdsman controller each), sessions per declared
 * device, permit-join requests over MQTT and the list of joined-but-undeclared devices.
 */
import { EdgeTwinError, errorMessage, isEdgeTwinError } from '@edgetwin/sdk';
import {
  type DeviceSession,
  type MapperContext,
  type MapperDevice,
  type MapperDriver,
  type SessionHooks,
} from '@edgetwin/sdk/mapper';
import type { Logger } from 'pino';
import { checkVisitor } from '../codec/zcl.js';
import { DeclaredDevices } from './declared.js';
import { Coordinator, type HerdsmanDevice } from '../transport/coordinator.js';
import type { ZigbeeJoinEvent } from '@edgetwin/sdk';
import { parsePermitJoin, zigbeeTopics, type PermitJoinResult, type UndeclaredDevice } from '../pairing/pairing.js';
import type { CoordinatorConfig, ZigbeeProtocolConfig, ZigbeeVisitorConfig } from '../config.js';
import { ZigbeeSession } from './session.js';

export interface ZigbeeMapperOptions {
  /** Default coordinator (serial path or tcp://host:port) for devices whose configData names none. */
  coordinator?: string;
  adapter?: CoordinatorConfig['adapter'];
  /** Default radio channel (11..26, default 11). */
  channel?: number;
  /** Default PAN id (default 0x1a62). */
  panId?: number;
  /**
   * When set, a declared device that has not joined yet opens the network for this many seconds
   * (once per window) so it can pair. Off by default: pairing is an operator's decision.
   */
  permitJoinForMissingSeconds?: number;
  /** How long connect() waits for the coordinator to come up (default 8 s; the runtime retries). */
  coordinatorWaitMs?: number;
  /** Coordinator reconnect backoff. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Timeout of one ZCL exchange (default 10 s). */
  zclTimeoutMs?: number;
}

export class ZigbeeDriver implements MapperDriver<ZigbeeProtocolConfig, ZigbeeVisitorConfig> {
  private readonly coordinators = new Map<string, Coordinator>();
  private readonly declared = new DeclaredDevices();
  private readonly warnedUndeclared = new Set<string>();
  private readonly warnedMismatch = new Set<string>();
  private readonly permitUntil = new Map<string, number>();
  private readonly unsubscribers: (() => Promise<void>)[] = [];
  private readonly subscribing: Promise<void>;
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private readonly ctx: MapperContext,
    private readonly options: ZigbeeMapperOptions,
  ) {
    this.log = ctx.logger;
    this.subscribing = this.subscribeAll().catch((err: unknown) =>
      this.log.error({ err: errorMessage(err) }, `cannot subscribe to the mapper's MQTT topics: ${errorMessage(err)}`),
    );
  }

  /** permit_join requests. */
  private async subscribeAll(): Promise<void> {
    const { mqtt, nodeName } = this.ctx;
    const a = await mqtt.subscribe(zigbeeTopics.permitJoin(nodeName), (_t, payload) => void this.onPermitJoin(payload));
    this.unsubscribers.push(a);
    if (this.stopped) await this.unsubscribeAll();
  }

  private async unsubscribeAll(): Promise<void> {
    const all = this.unsubscribers.splice(0);
    await Promise.all(all.map((u) => u().catch(() => undefined)));
  }

  /** A Device was deleted: its IEEE address is undeclared again (and listed if it is still joined). */
  removed(id: string): void {
    if (this.declared.forget(id)) void this.publishUndeclared();
  }

  configFor(p: ZigbeeProtocolConfig): CoordinatorConfig {
    const path = p.coordinator ?? this.options.coordinator;
    if (!path) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        'no ZigBee coordinator: set protocol configData "coordinator" (serial path or tcp://host:port) or EDGETWIN_ZIGBEE_COORDINATOR',
        { details: { path: '/coordinator' } },
      );
    }
    return {
      path,
      adapter: p.adapter ?? this.options.adapter ?? 'zstack',
      channel: p.channel ?? this.options.channel ?? 11,
      panId: p.panId ?? this.options.panId ?? 0x1a62,
    };
  }

  /** The coordinator at `path`, started on first use. */
  coordinator(cfg: CoordinatorConfig): Coordinator {
    let c = this.coordinators.get(cfg.path);
    const mismatch = `${cfg.path}|${cfg.adapter}|${cfg.channel}|${cfg.panId}`;
    if (
      c &&
      (c.config.channel !== cfg.channel || c.config.panId !== cfg.panId || c.config.adapter !== cfg.adapter) &&
      !this.warnedMismatch.has(mismatch)
    ) {
      this.warnedMismatch.add(mismatch);
      this.log.warn(
        { coordinator: cfg.path, running: c.config, requested: cfg },
        `coordinator ${cfg.path} already runs with adapter ${c.config.adapter}, channel ${c.config.channel}, PAN id ${c.config.panId}; a device asks for other values, which are ignored (give all devices of a coordinator the same values, best in the DeviceModel)`,
      );
    }
    if (!c) {
      c = new Coordinator({
        config: cfg,
        dataDir: this.ctx.dataDir,
        logger: this.log,
        clock: this.ctx.clock,
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      });
      const coord = c;
      c.on({
        joined: (d, status) => this.onJoined(coord, d, status),
        up: () => void this.publishUndeclared(),
      });
      this.coordinators.set(cfg.path, c);
      c.start();
    }
    return c;
  }

  async connect(
    device: MapperDevice<ZigbeeProtocolConfig, ZigbeeVisitorConfig>,
    hooks: SessionHooks,
    signal: AbortSignal,
  ): Promise<DeviceSession<ZigbeeVisitorConfig>> {
    for (const p of device.properties) checkVisitor(p.name, p.visitor);
    const ieee = device.protocol.ieeeAddress.toLowerCase();
    if (this.declared.declare(ieee, device.id)) void this.publishUndeclared();
    const coord = this.coordinator(this.configFor(device.protocol));
    const controller = await coord.ready(signal, this.options.coordinatorWaitMs ?? 8_000);
    const zdev = controller.getDeviceByIeeeAddr(ieee);
    if (!zdev || String(zdev.interviewState) !== 'SUCCESSFUL') {
      await this.maybePermitForMissing(coord);
      throw new EdgeTwinError(
        'ET_UNAVAILABLE',
        zdev
          ? `ZigBee device ${ieee} (${device.id}) joined but its interview is ${zdev.interviewState.toLowerCase()}; wake it up (press its button) so the interview can finish`
          : `ZigBee device ${ieee} (${device.id}) has not joined coordinator ${coord.path}; permit joining (publish {"seconds":60} to ${zigbeeTopics.permitJoin(this.ctx.nodeName)} or run edgetwin-mapper-zigbee permit-join) and pair it`,
        { details: { ieeeAddress: ieee, coordinator: coord.path } },
      );
    }
    return new ZigbeeSession({
      coordinator: coord,
      device: zdev,
      endpoint: device.protocol.endpoint,
      hooks,
      ...(this.options.zclTimeoutMs ? { timeoutMs: this.options.zclTimeoutMs } : {}),
    });
  }

  private async maybePermitForMissing(coord: Coordinator): Promise<void> {
    const secs = this.options.permitJoinForMissingSeconds;
    if (!secs || (this.permitUntil.get(coord.path) ?? 0) > this.ctx.clock.now()) return;
    this.permitUntil.set(coord.path, this.ctx.clock.now() + secs * 1000);
    this.log.info(`a declared ZigBee device has not joined; permitting joining on ${coord.path} for ${secs} s`);
    await coord
      .permitJoin(secs)
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, `permit join failed: ${errorMessage(err)}`));
  }

  /** Handles a permit_join request and answers on the result topic. */
  async onPermitJoin(payload: Buffer): Promise<void> {
    let result: PermitJoinResult;
    let id: string | undefined;
    try {
      const req = parsePermitJoin(payload);
      id = req.id;
      const targets = [...this.coordinators.values()].filter(
        (c) => req.coordinator === undefined || c.path === req.coordinator,
      );
      if (targets.length === 0) {
        throw new EdgeTwinError(
          'ET_NOT_FOUND',
          req.coordinator
            ? `no coordinator ${req.coordinator} in use by this mapper`
            : 'no coordinator in use yet: declare a zigbee Device on this node first',
        );
      }
      for (const c of targets) await c.permitJoin(req.seconds);
      for (const c of targets) this.permitUntil.set(c.path, this.ctx.clock.now() + req.seconds * 1000);
      this.log.info(
        { seconds: req.seconds },
        req.seconds > 0 ? `joining permitted for ${req.seconds} s` : 'joining closed',
      );
      result = {
        ok: true,
        seconds: req.seconds,
        coordinators: targets.map((c) => c.path),
        until: Date.now() + req.seconds * 1000,
      };
    } catch (err) {
      const code = isEdgeTwinError(err) ? err.code : 'ET_INTERNAL';
      this.log.warn({ code }, `permit_join request refused: ${errorMessage(err)}`);
      result = { ok: false, code, reason: errorMessage(err) };
    }
    if (id !== undefined) result.id = id;
    await this.ctx.mqtt
      .publish(zigbeeTopics.permitJoinResult(this.ctx.nodeName), JSON.stringify(result), { qos: 1 })
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'cannot publish the permit_join result'));
  }

  private onJoined(coord: Coordinator, d: HerdsmanDevice, status: ZigbeeJoinEvent['status']): void {
    const ieee = d.ieeeAddr;
    const declaredAs = this.declared.get(ieee);
    const endpoints = d.endpoints.map((e) => ({ id: e.ID, inputClusters: e.getInputClusters().map((c) => c.name) }));
    const fields = {
      device: declaredAs ?? ieee,
      ieeeAddress: ieee,
      modelId: d.modelID,
      manufacturer: d.manufacturerName,
      endpoints,
    };
    if (status === 'successful')
      this.log.info(fields, `interview of ZigBee device ${ieee} succeeded (${d.modelID ?? 'unknown model'})`);
    else if (status === 'failed')
      this.log.warn(
        fields,
        `interview of ZigBee device ${ieee} failed; it is listed but cannot be served until re-paired`,
      );
    else
      this.log.info(
        fields,
        `ZigBee device ${ieee} ${status === 'joined' ? 'joined' : 'interview started'} on ${coord.path}`,
      );
    if (!declaredAs && (status === 'successful' || status === 'failed') && !this.warnedUndeclared.has(ieee)) {
      this.warnedUndeclared.add(ieee);
      this.log.warn(
        fields,
        `ZigBee device ${ieee} joined but no Device declares it; declare it with protocol configData ieeeAddress ${ieee}`,
      );
    }
    void this.publishJoinEvent({
      ieeeAddress: ieee,
      networkAddress: d.networkAddress,
      coordinator: coord.path,
      status,
      ...(d.modelID ? { modelId: d.modelID } : {}),
      ...(d.manufacturerName ? { manufacturerName: d.manufacturerName } : {}),
      ...(declaredAs ? { device: declaredAs } : {}),
      timestamp: Date.now(),
    });
    void this.publishUndeclared();
  }

  /** One join or interview step, for edgecore's pairing view (not retained: it is an event). */
  private async publishJoinEvent(e: ZigbeeJoinEvent): Promise<void> {
    if (this.stopped) return;
    await this.ctx.mqtt
      .publish(zigbeeTopics.joined(this.ctx.nodeName), JSON.stringify(e), { qos: 1 })
      .catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'cannot publish a join event'));
  }

  /** Devices the coordinators know that no Device declares. */
  undeclared(): UndeclaredDevice[] {
    const out: UndeclaredDevice[] = [];
    for (const c of this.coordinators.values()) {
      const ctl = c.current;
      if (!ctl) continue;
      for (const d of ctl.getDevicesIterator((x) => x.type !== 'Coordinator')) {
        if (this.declared.has(d.ieeeAddr)) continue;
        out.push({
          ieeeAddress: d.ieeeAddr,
          networkAddress: d.networkAddress,
          coordinator: c.path,
          interview: d.interviewState,
          ...(d.modelID ? { modelId: d.modelID } : {}),
          ...(d.manufacturerName ? { manufacturerName: d.manufacturerName } : {}),
          endpoints: d.endpoints.map((e) => ({ id: e.ID, inputClusters: e.getInputClusters().map((x) => x.name) })),
        });
      }
    }
    return out;
  }

  private async publishUndeclared(): Promise<void> {
    if (this.stopped) return;
    const devices = this.undeclared();
    await this.ctx.mqtt
      .publish(zigbeeTopics.undeclared(this.ctx.nodeName), JSON.stringify({ devices, timestamp: Date.now() }), {
        qos: 1,
        retain: true,
      })
      .catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'cannot publish the undeclared device list'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscribing;
    await this.unsubscribeAll();
    await Promise.all([...this.coordinators.values()].map((c) => c.stop()));
    this.coordinators.clear();
  }
}
