/**
 * A minimal, faithful edgecore side of the mapper contract for tests: publishes the retained spec
 * messages, answers `$hw` twin/update (validating it like edgecore, then publishing a delta while
 * desired differs from reported), twin/get, state/update and membership/get, and sends deltas when
 * a test sets a desired value. It records what the mapper reported so tests can assert on it.
 */
import { connect, type MqttClient } from 'mqtt';
import { errorMessage } from '../errors.js';
import type { Device, DeviceModel, ModelProperty } from '../schema/resources.js';
import { decodeStateUpdate, decodeTwinUpdate, errorResult, newEventId, type HwMsgTwin } from '../hw/messages.js';
import { deviceId, hwTopics, parseHwRequestTopic, specTopics, type DeviceRef } from '../hw/topics.js';
import { valuesEqual, wireTypeOf } from '../schema/values.js';
import { waitFor } from './ports.js';

interface TwinRecord {
  device: Device;
  model: DeviceModel;
  desired: Map<string, string>;
  reported: Map<string, string>;
  /** Last `actual.metadata.quality` per property (absent: good). */
  quality: Map<string, string | undefined>;
  /** Every accepted twin/update, as property -> value. */
  updates: Record<string, string>[];
  states: string[];
}

export class TwinSide {
  private readonly twins = new Map<string, TwinRecord>();
  private readonly published = new Set<string>();
  /** Rejected twin/update requests with edgecore's reason. */
  readonly rejected: { device: string; reason: string }[] = [];

  private constructor(
    private readonly client: MqttClient,
    readonly nodeName: string,
  ) {}

  static async start(opts: { mqttUrl: string; nodeName: string }): Promise<TwinSide> {
    const client = connect(opts.mqttUrl, { reconnectPeriod: 200, connectTimeout: 5000 });
    const side = new TwinSide(client, opts.nodeName);
    client.on('message', (topic, payload) => side.onRequest(topic, payload));
    client.on('error', () => undefined); // reconnects on its own; tests see the effects
    client.on('connect', () => {
      client.subscribe([...hwTopics.requestFilters], { qos: 1 }, () => undefined);
    });
    await waitFor(() => client.connected, 10_000, `twin side to connect to ${opts.mqttUrl}`);
    await client.subscribeAsync([...hwTopics.requestFilters], { qos: 1 });
    return side;
  }

  /** Publishes (retained) the spec of a device of this node; its twin starts with the spec's desired values. */
  async publishSpec(device: Device, model: DeviceModel): Promise<void> {
    const id = deviceId(ref(device));
    const prev = this.twins.get(id);
    const desired = prev?.desired ?? new Map<string, string>();
    for (const p of device.spec.properties) if (p.desired?.value) desired.set(p.name, p.desired.value);
    this.twins.set(id, {
      device,
      model,
      desired,
      reported: prev?.reported ?? new Map<string, string>(),
      quality: prev?.quality ?? new Map<string, string | undefined>(),
      updates: prev?.updates ?? [],
      states: prev?.states ?? [],
    });
    const topic = specTopics.device(this.nodeName, ref(device));
    this.published.add(topic);
    await this.client.publishAsync(topic, JSON.stringify({ device, model }), { qos: 1, retain: true });
    await this.publishMembership({ added_devices: [{ id, name: device.metadata.name }] });
  }

  /** Clears the retained spec: the device is removed from the node. */
  async removeSpec(d: DeviceRef): Promise<void> {
    const topic = specTopics.device(this.nodeName, d);
    this.published.delete(topic);
    await this.client.publishAsync(topic, '', { qos: 1, retain: true });
  }

  /** Publishes `membership/updated` removing the device from the node (its spec stays). */
  async removeMember(d: DeviceRef): Promise<void> {
    await this.publishMembership({ removed_devices: [{ id: deviceId(d), name: d.name }] });
  }

  /** Publishes `membership/updated` adding the device to the node again. */
  async addMember(d: DeviceRef): Promise<void> {
    await this.publishMembership({ added_devices: [{ id: deviceId(d), name: d.name }] });
  }

  /** Sets a desired value (wire string) and publishes the delta, as edgecore does. */
  async setDesired(d: DeviceRef, property: string, value: string): Promise<void> {
    this.twin(d).desired.set(property, value);
    await this.publishDelta(d);
  }

  clearDesired(d: DeviceRef, property: string): void {
    this.twin(d).desired.delete(property);
  }

  reported(d: DeviceRef, property: string): string | undefined {
    return this.twins.get(deviceId(d))?.reported.get(property);
  }

  /** The quality sent with the last reported value of a property (undefined: good or none). */
  quality(d: DeviceRef, property: string): string | undefined {
    return this.twins.get(deviceId(d))?.quality.get(property);
  }

  /** Accepted twin updates of the device, oldest first. */
  updates(d: DeviceRef): readonly Record<string, string>[] {
    return this.twins.get(deviceId(d))?.updates ?? [];
  }

  /** State updates of the device, oldest first. */
  states(d: DeviceRef): readonly string[] {
    return this.twins.get(deviceId(d))?.states ?? [];
  }

  lastState(d: DeviceRef): string | undefined {
    return this.states(d).at(-1);
  }

  private twin(d: DeviceRef): TwinRecord {
    const t = this.twins.get(deviceId(d));
    if (!t) throw new Error(`twin side: no spec published for ${deviceId(d)}`);
    return t;
  }

  private prop(t: TwinRecord, name: string): ModelProperty | undefined {
    return t.model.spec.properties.find((p) => p.name === name);
  }

  private delta(t: TwinRecord): Record<string, string> {
    const delta: Record<string, string> = {};
    for (const [name, want] of t.desired) {
      const p = this.prop(t, name);
      const have = t.reported.get(name);
      if (!p || have === undefined || !valuesEqual(p.type, want, have)) delta[name] = want;
    }
    return delta;
  }

  private twinDoc(t: TwinRecord): Record<string, HwMsgTwin> {
    const doc: Record<string, HwMsgTwin> = {};
    for (const p of t.model.spec.properties) {
      const want = t.desired.get(p.name);
      const have = t.reported.get(p.name);
      doc[p.name] = {
        ...(want === undefined ? {} : { expected: { value: want } }),
        ...(have === undefined ? {} : { actual: { value: have } }),
        metadata: { type: wireTypeOf(p.type) },
      };
    }
    return doc;
  }

  private async publishDelta(d: DeviceRef): Promise<void> {
    const t = this.twin(d);
    const delta = this.delta(t);
    if (Object.keys(delta).length === 0) return;
    const body = { event_id: newEventId(), timestamp: Date.now(), twin: this.twinDoc(t), delta };
    await this.client.publishAsync(hwTopics.twinUpdateDelta(d), JSON.stringify(body), { qos: 1 });
  }

  private async publishMembership(body: object): Promise<void> {
    const msg = JSON.stringify({ event_id: newEventId(), timestamp: Date.now(), ...body });
    await this.client.publishAsync(hwTopics.membershipUpdated(this.nodeName), msg, { qos: 1 });
  }

  private answer(topic: string, body: object): void {
    this.client.publish(topic, JSON.stringify(body), { qos: 1 });
  }

  private onRequest(topic: string, payload: Buffer): void {
    const req = parseHwRequestTopic(topic);
    if (!req) return;
    let eventId: string | undefined;
    try {
      eventId = (JSON.parse(payload.toString('utf8')) as { event_id?: string }).event_id;
    } catch {
      eventId = undefined;
    }
    if (req.kind === 'membership/get') {
      const devices = [...this.twins.values()].map((t) => ({
        id: deviceId(ref(t.device)),
        name: t.device.metadata.name,
      }));
      this.answer(hwTopics.membershipGetResult(req.node), { event_id: eventId, timestamp: Date.now(), devices });
      return;
    }
    const d = req.device;
    const t = this.twins.get(deviceId(d));
    const resultTopic =
      req.kind === 'twin/get'
        ? hwTopics.twinGetResult(d)
        : req.kind === 'twin/update'
          ? hwTopics.twinUpdateResult(d)
          : hwTopics.stateUpdateResult(d);
    if (!t) {
      this.answer(resultTopic, errorResult(eventId, 404, `device ${deviceId(d)} does not exist`));
      return;
    }
    try {
      if (req.kind === 'twin/get') {
        this.answer(resultTopic, { event_id: eventId, timestamp: Date.now(), twin: this.twinDoc(t) });
      } else if (req.kind === 'state/update') {
        t.states.push(decodeStateUpdate(payload, topic).state);
        this.answer(resultTopic, { event_id: eventId, timestamp: Date.now() });
      } else {
        const msg = decodeTwinUpdate(payload, topic);
        const update: Record<string, string> = {};
        for (const [name, tw] of Object.entries(msg.twin)) {
          if (!this.prop(t, name)) throw new Error(`property ${name} is not in the model`);
          const v = tw?.actual?.value;
          if (v !== undefined) {
            update[name] = v;
            t.quality.set(name, tw?.actual?.metadata?.quality);
          }
        }
        for (const [name, v] of Object.entries(update)) t.reported.set(name, v);
        t.updates.push(update);
        this.answer(resultTopic, { event_id: eventId, timestamp: Date.now(), twin: this.twinDoc(t) });
        void this.publishDelta(d).catch(() => undefined);
      }
    } catch (err) {
      this.rejected.push({ device: deviceId(d), reason: errorMessage(err) });
      this.answer(resultTopic, errorResult(eventId, 400, errorMessage(err)));
    }
  }

  /** Clears the retained specs it published and disconnects. */
  async stop(): Promise<void> {
    if (this.client.connected) {
      for (const topic of this.published)
        await this.client.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => undefined);
    }
    this.published.clear();
    await this.client.endAsync(true);
  }
}

function ref(device: Device): DeviceRef {
  return { namespace: device.metadata.namespace ?? 'default', name: device.metadata.name };
}
