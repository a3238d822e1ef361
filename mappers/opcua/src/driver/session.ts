/**
 * One OPC UA device as a DeviceSession: batched reads, one subscription per device with monitored
 * items grouped by sampling interval and deadband, typed writes checked by StatusCode and read back.
 */
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  TimestampsToReturn,
  type ClientSubscription,
  type DataValue,
  type MonitoringParametersOptions,
} from 'node-opcua-client';
import { EdgeTwinError, type TwinValue } from '@edgetwin/sdk';
import {
  type MapperContext,
  type DeviceSession,
  type MapperProperty,
  type Reading,
  type SessionHooks,
} from '@edgetwin/sdk/mapper';
import { RepeatedLog } from '@edgetwin/sdk/util';
import type { OpcuaVisitorConfig } from '../config.js';
import { dataTypeName, heldValue, toReading, toVariant } from '../codec/values.js';
import type { OpcuaConnection } from '../transport/client.js';
import type { PropertyNode } from './nodes.js';

type Logger = MapperContext['logger'];

type Prop = MapperProperty<OpcuaVisitorConfig>;

/** The fastest sampling the mapper asks for, in ms. */
export const MIN_SAMPLING_MS = 50;

/** Runs `p` unless `signal` aborts first; the abort listener is removed when `p` settles. */
export async function withSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    throw new EdgeTwinError('ET_ABORTED', 'the operation was cancelled');
  }
  let onAbort: (() => void) | undefined;
  const abort = new Promise<never>((_, reject) => {
    onAbort = () => reject(new EdgeTwinError('ET_ABORTED', 'the operation was cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  p.catch(() => undefined);
  try {
    return await Promise.race([p, abort]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function filterOf(v: OpcuaVisitorConfig): DataChangeFilter | null {
  if (v.deadbandType === 'None') return null;
  return new DataChangeFilter({
    trigger: DataChangeTrigger.StatusValue,
    deadbandType: v.deadbandType === 'Absolute' ? DeadbandType.Absolute : DeadbandType.Percent,
    deadbandValue: v.deadbandValue,
  });
}

export class OpcuaDeviceSession implements DeviceSession<OpcuaVisitorConfig> {
  private subscription: ClientSubscription | undefined;
  private readonly groups: ClientMonitoredItemGroup[] = [];
  /** A node pushing unusable values does so on every change: said once, then counted. */
  private readonly repeated: RepeatedLog;

  constructor(
    private readonly deviceId: string,
    private readonly conn: OpcuaConnection,
    private readonly nodes: ReadonlyMap<string, PropertyNode>,
    private readonly hooks: SessionHooks,
    private readonly logger: Logger,
  ) {
    this.repeated = new RepeatedLog(logger);
  }

  private node(p: Prop): PropertyNode {
    const n = this.nodes.get(p.name);
    if (!n) {
      throw new EdgeTwinError(
        'ET_UNKNOWN_PROPERTY',
        `Device ${this.deviceId}: property ${p.name} was not part of the device when it connected`,
        {
          details: { property: p.name },
        },
      );
    }
    return n;
  }

  async read(properties: readonly Prop[], signal: AbortSignal): Promise<Map<string, Reading | Error>> {
    const out = new Map<string, Reading | Error>();
    const wanted: PropertyNode[] = [];
    for (const p of properties) {
      const n = this.node(p);
      if (n.error || !n.nodeId)
        out.set(p.name, n.error ?? new EdgeTwinError('ET_INTERNAL', `property ${p.name} has no node`));
      else wanted.push(n);
    }
    if (wanted.length === 0) return out;
    const results = await withSignal(
      this.conn.session.read(
        wanted.map((n) => ({ nodeId: n.nodeId!, attributeId: AttributeIds.Value })),
        0,
      ),
      signal,
    );
    wanted.forEach((n, i) => {
      const dv = results[i];
      out.set(
        n.property.name,
        dv
          ? toReading(n.property.model.type, dv, n.label)
          : new EdgeTwinError('ET_PROTOCOL', `no result for ${n.label}`),
      );
    });
    return out;
  }

  private async ensureSubscription(publishingInterval: number, signal: AbortSignal): Promise<ClientSubscription> {
    if (this.subscription) return this.subscription;
    const sub = await withSignal(
      this.conn.session.createSubscription2({
        requestedPublishingInterval: publishingInterval,
        requestedLifetimeCount: 120,
        requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      }),
      signal,
    );
    sub.on('terminated', () =>
      this.conn.lost(new EdgeTwinError('ET_UNAVAILABLE', `Device ${this.deviceId}: the server ended the subscription`)),
    );
    this.subscription = sub;
    return sub;
  }

  async subscribe(properties: readonly Prop[], signal: AbortSignal): Promise<string[]> {
    const notSubscribed: string[] = [];
    const byParams = new Map<string, PropertyNode[]>();
    for (const p of properties) {
      const n = this.node(p);
      if (p.visitor.collect === 'poll' || n.error || !n.nodeId) {
        notSubscribed.push(p.name);
        continue;
      }
      const sampling = Math.max(MIN_SAMPLING_MS, p.collectCycle);
      const key = `${sampling}|${p.visitor.deadbandType}|${p.visitor.deadbandValue}`;
      const list = byParams.get(key) ?? [];
      list.push(n);
      byParams.set(key, list);
    }
    if (byParams.size === 0) return notSubscribed;
    const fastest = Math.min(
      ...[...byParams.values()].map((l) => Math.max(MIN_SAMPLING_MS, l[0]!.property.collectCycle)),
    );
    const sub = await this.ensureSubscription(fastest, signal);
    for (const list of byParams.values()) {
      const first = list[0]!.property;
      const params: MonitoringParametersOptions = {
        samplingInterval: Math.max(MIN_SAMPLING_MS, first.collectCycle),
        discardOldest: true,
        queueSize: 1,
        filter: filterOf(first.visitor),
      };
      // Listen before the items exist: the initial value of each item may be dispatched before
      // a promise-based monitorItems() would hand the group back, and a value that never
      // changes (a pump that stays off) would then never be reported.
      const group = ClientMonitoredItemGroup.create(
        sub,
        list.map((n) => ({ nodeId: n.nodeId!, attributeId: AttributeIds.Value })),
        params,
        TimestampsToReturn.Both,
      );
      group.on('changed', (_item, dv: DataValue, index: number) => {
        const n = list[index];
        if (!n) return;
        const r = toReading(n.property.model.type, dv, n.label);
        if (r instanceof Error)
          this.repeated.warn(
            `push:${n.property.name}`,
            { property: n.property.name, err: r.message },
            `pushed value of property ${n.property.name} not usable: ${r.message}`,
          );
        else {
          this.repeated.clear(`push:${n.property.name}`);
          this.hooks.onReading(n.property.name, r);
        }
      });
      this.groups.push(group);
      try {
        await withSignal(
          new Promise<void>((resolve, reject) => {
            group.once('initialized', () => resolve());
            group.once('err', (message: string) => reject(new Error(message)));
          }),
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        this.logger.warn({ err: (err as Error).message }, 'creating monitored items failed; polling instead');
        notSubscribed.push(...list.map((n) => n.property.name));
        continue;
      }
      group.monitoredItems.forEach((item, i) => {
        const n = list[i]!;
        if (!item.statusCode.isGood()) {
          this.logger.warn(
            { property: n.property.name, nodeId: n.label, status: item.statusCode.name },
            'the server refused a monitored item; polling the property instead',
          );
          notSubscribed.push(n.property.name);
        }
      });
    }
    return notSubscribed;
  }

  async write(property: Prop, value: TwinValue, signal: AbortSignal): Promise<Reading | undefined> {
    const n = this.node(property);
    if (n.error || !n.nodeId)
      throw n.error ?? new EdgeTwinError('ET_INTERNAL', `property ${property.name} has no node`);
    if (n.dataType === undefined) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `property ${property.name}: the DataType of ${n.label} is unknown; set dataType in the visitor`,
      );
    }
    let variant;
    try {
      variant = toVariant(n.dataType, value);
    } catch (err) {
      if (err instanceof EdgeTwinError) {
        throw new EdgeTwinError(err.code, `property ${property.name} (${n.label}): ${err.message}`, {
          cause: err,
          details: { ...err.details, nodeId: n.label, property: property.name },
        });
      }
      throw err;
    }
    const status = await withSignal(
      this.conn.session.write({ nodeId: n.nodeId, attributeId: AttributeIds.Value, value: { value: variant } }),
      signal,
    );
    if (!status.isGood()) {
      throw new EdgeTwinError(
        'ET_PROTOCOL',
        `property ${property.name}: writing ${JSON.stringify(value)} as ${dataTypeName(n.dataType)} to ${n.label} failed with ${status.name}: ${status.description}`,
        { details: { status: status.name, statusCode: status.value, nodeId: n.label, property: property.name } },
      );
    }
    const back = await this.read([property], signal);
    const r = back.get(property.name);
    return r instanceof Error ? undefined : r;
  }

  /** The value a node of this DataType holds for `value` (a Float node keeps float32 precision). */
  represent(property: Prop, value: TwinValue): TwinValue {
    const n = this.node(property);
    return n.dataType === undefined ? value : heldValue(n.dataType, value);
  }

  async close(): Promise<void> {
    for (const g of this.groups) g.removeAllListeners();
    this.groups.length = 0;
    this.subscription?.removeAllListeners();
    this.subscription = undefined;
    await this.conn.close();
  }
}
