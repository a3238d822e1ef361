/**
 * Simulated ZigBee end devices behind the emulated coordinator. Each device has endpoints with
 * ZCL clusters and attribute values, answers ZCL reads, writes and cluster commands, and sends
 * attribute reports. ZCL frames are encoded and decoded with zigbee-herdsman's own ZCL module.
 */
import { Zcl } from 'zigbee-herdsman';

export type AttributeValue = number | string | boolean;

export interface SimEndpoint {
  id: number;
  profileId: number;
  deviceId: number;
  inClusters: string[];
  outClusters: string[];
}

export interface SimDeviceSpec {
  /** `0x` + 16 hex digits. */
  ieeeAddress: string;
  networkAddress: number;
  /** 1 router (mains powered), 2 end device. */
  logicalType: 1 | 2;
  manufacturerCode: number;
  endpoints: SimEndpoint[];
  /** Initial attribute values, `{ "1/genOnOff": { onOff: 0 } }` (endpoint/cluster -> attribute -> value). */
  attributes: Record<string, Record<string, AttributeValue>>;
  /** Attributes reported periodically (the device drifts them), `endpoint/cluster/attribute`. */
  periodic?: { path: string; min: number; max: number; step: number }[];
  /** Joins as soon as the coordinator permits joining (otherwise only through `join()`). */
  joinOnPermit?: boolean;
}

/** A ZCL frame the device wants to send to the coordinator. */
export interface OutgoingZcl {
  device: SimDevice;
  endpoint: number;
  clusterId: number;
  /** The coordinator endpoint it goes to. */
  dstEndpoint: number;
  data: Buffer;
}

export class SimDevice {
  joined = false;
  private readonly values = new Map<string, AttributeValue>();
  /** Attributes set from outside: they keep their value instead of drifting. */
  private readonly pinned = new Set<string>();
  private tsn = 0;

  constructor(readonly spec: SimDeviceSpec) {
    for (const [ec, attrs] of Object.entries(spec.attributes)) {
      for (const [name, v] of Object.entries(attrs)) this.values.set(`${ec}/${name}`, v);
    }
  }

  get ieee(): string {
    return this.spec.ieeeAddress;
  }

  get nwk(): number {
    return this.spec.networkAddress;
  }

  endpoint(id: number): SimEndpoint | undefined {
    return this.spec.endpoints.find((e) => e.id === id);
  }

  getAttribute(endpoint: number, cluster: string, attribute: string): AttributeValue | undefined {
    return this.values.get(`${endpoint}/${cluster}/${attribute}`);
  }

  /**
   * Sets a value and returns the report frame the device sends about it. A pinned value (the
   * default) stops drifting, so a test or demo sees exactly the value it set.
   */
  setAttribute(
    endpoint: number,
    cluster: string,
    attribute: string,
    value: AttributeValue,
    pin = true,
  ): OutgoingZcl | undefined {
    const key = `${endpoint}/${cluster}/${attribute}`;
    this.values.set(key, value);
    if (pin) this.pinned.add(key);
    return this.report(endpoint, cluster, [attribute]);
  }

  /** An attribute report (ZCL global `report`) for the named attributes. */
  report(endpoint: number, clusterName: string, attributes: string[]): OutgoingZcl | undefined {
    const cluster = Zcl.Utils.getCluster(clusterName);
    const payload: { attrId: number; dataType: number; attrData: unknown }[] = [];
    for (const name of attributes) {
      const attr = Zcl.Utils.getClusterAttribute(cluster, name, undefined);
      const v = this.getAttribute(endpoint, clusterName, name);
      if (!attr || v === undefined) continue;
      payload.push({ attrId: attr.ID, dataType: attr.type, attrData: toZcl(v) });
    }
    if (payload.length === 0) return undefined;
    const frame = Zcl.Frame.create(
      Zcl.FrameType.GLOBAL,
      Zcl.Direction.SERVER_TO_CLIENT,
      true,
      undefined,
      this.nextTsn(),
      'report',
      cluster.ID,
      payload,
      {},
    );
    return { device: this, endpoint, clusterId: cluster.ID, dstEndpoint: 1, data: frame.toBuffer() };
  }

  /** Moves the periodic attributes one step and returns their reports. */
  tick(): OutgoingZcl[] {
    const out: OutgoingZcl[] = [];
    for (const p of this.spec.periodic ?? []) {
      const [ep, cluster, attr] = p.path.split('/');
      if (!ep || !cluster || !attr || this.pinned.has(p.path)) continue;
      const cur = Number(this.getAttribute(Number(ep), cluster, attr) ?? p.min);
      const dir = Math.random() < 0.5 ? -1 : 1;
      const next = Math.max(p.min, Math.min(p.max, cur + dir * p.step));
      const r = this.setAttribute(Number(ep), cluster, attr, next, false);
      if (r) out.push(r);
    }
    return out;
  }

  private nextTsn(): number {
    this.tsn = (this.tsn + 1) & 0xff;
    return this.tsn;
  }

  /**
   * Handles a ZCL frame from the coordinator to `endpoint`; returns the frames the device sends
   * back (a response, and reports of attributes a command changed).
   */
  handleZcl(endpoint: number, clusterId: number, srcEndpoint: number, data: Buffer): OutgoingZcl[] {
    const ep = this.endpoint(endpoint);
    const header = Zcl.Header.fromBuffer(data);
    if (!ep || !header) return [];
    const cluster = Zcl.Utils.getCluster(clusterId);
    const reply = (commandKey: string, payload: unknown, global = true): OutgoingZcl => {
      const f = Zcl.Frame.create(
        global ? Zcl.FrameType.GLOBAL : Zcl.FrameType.SPECIFIC,
        Zcl.Direction.SERVER_TO_CLIENT,
        true,
        header.manufacturerCode,
        header.transactionSequenceNumber,
        commandKey,
        clusterId,
        payload,
        {},
      );
      return { device: this, endpoint, clusterId, dstEndpoint: srcEndpoint, data: f.toBuffer() };
    };
    const defaultRsp = (status: number): OutgoingZcl[] =>
      header.frameControl.disableDefaultResponse && status === 0
        ? []
        : [reply('defaultRsp', { cmdId: header.commandIdentifier, statusCode: status })];

    if (!ep.inClusters.includes(cluster.name)) return defaultRsp(Zcl.Status.UNSUPPORTED_CLUSTER);
    let frame: Zcl.Frame;
    try {
      frame = Zcl.Frame.fromBuffer(clusterId, header, data, {});
    } catch {
      return defaultRsp(Zcl.Status.MALFORMED_COMMAND);
    }
    const key = (attr: string) => `${endpoint}/${cluster.name}/${attr}`;

    if (header.isGlobal) {
      switch (frame.command.name) {
        case 'read': {
          const records = (frame.payload as { attrId: number }[]).map((r) => {
            const attr = Object.values(cluster.attributes).find((a) => a.ID === r.attrId);
            const v = attr ? this.values.get(key(attr.name)) : undefined;
            if (!attr || v === undefined) return { attrId: r.attrId, status: Zcl.Status.UNSUPPORTED_ATTRIBUTE };
            return { attrId: r.attrId, status: Zcl.Status.SUCCESS, dataType: attr.type, attrData: toZcl(v) };
          });
          return [reply('readRsp', records)];
        }
        case 'write': {
          const statuses = (frame.payload as { attrId: number; attrData: AttributeValue }[]).map((r) => {
            const attr = Object.values(cluster.attributes).find((a) => a.ID === r.attrId);
            if (!attr || !this.values.has(key(attr.name))) {
              return { attrId: r.attrId, status: Zcl.Status.UNSUPPORTED_ATTRIBUTE };
            }
            if (!attr.write) return { attrId: r.attrId, status: Zcl.Status.READ_ONLY };
            this.values.set(key(attr.name), r.attrData);
            return { attrId: r.attrId, status: Zcl.Status.SUCCESS };
          });
          return [reply('writeRsp', statuses)];
        }
        case 'configReport':
          return [reply('configReportRsp', [{ status: Zcl.Status.SUCCESS }])];
        default:
          return defaultRsp(Zcl.Status.UNSUP_COMMAND);
      }
    }

    const changed = this.applyCommand(
      endpoint,
      cluster.name,
      frame.command.name,
      frame.payload as Record<string, unknown>,
    );
    if (changed === undefined) return defaultRsp(Zcl.Status.UNSUP_COMMAND);
    const out = defaultRsp(Zcl.Status.SUCCESS);
    const rep = this.report(endpoint, cluster.name, changed);
    if (rep) out.push(rep);
    return out;
  }

  /** Cluster commands the simulated devices obey; returns the attributes changed, undefined if unsupported. */
  private applyCommand(
    ep: number,
    cluster: string,
    command: string,
    payload: Record<string, unknown>,
  ): string[] | undefined {
    const set = (attr: string, v: AttributeValue) => this.values.set(`${ep}/${cluster}/${attr}`, v);
    if (cluster === 'genOnOff') {
      const cur = this.getAttribute(ep, cluster, 'onOff');
      if (command === 'on') set('onOff', 1);
      else if (command === 'off') set('onOff', 0);
      else if (command === 'toggle') set('onOff', cur === 1 ? 0 : 1);
      else return undefined;
      return ['onOff'];
    }
    if (cluster === 'genLevelCtrl') {
      if (command !== 'moveToLevel' && command !== 'moveToLevelWithOnOff') return undefined;
      const level = Number(payload.level);
      set('currentLevel', level);
      if (command === 'moveToLevelWithOnOff' && this.getAttribute(ep, 'genOnOff', 'onOff') !== undefined) {
        this.values.set(`${ep}/genOnOff/onOff`, level > 0 ? 1 : 0);
      }
      return ['currentLevel'];
    }
    return undefined;
  }
}

function toZcl(v: AttributeValue): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}
