/**
 * Data topics for edge apps: retained `{base}/{ns}/{name}/{property}` values (or the property's
 * `pushMethod.mqtt.topic`), retained `{base}/{ns}/{name}/state`, and `.../{property}/set` to set
 * a desired value with a JSON typed value, answered on `.../{property}/set/result`.
 */
import {
  EdgeTwinError,
  VALUE_LIMITS,
  dataTopics,
  deviceId,
  isEdgeTwinError,
  parseBoundedJson,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import type { TwinService } from '../engine/twin-service.js';
import type { DesiredEntry, ReportedEntry, TwinSnapshot } from '../types.js';
import { hwReason, hwStatus } from './errors.js';
import type { Publisher, PublishOptions } from './publisher.js';

export class DataTopics {
  readonly topics: ReturnType<typeof dataTopics>;

  constructor(
    private readonly twin: TwinService,
    private readonly pub: Publisher,
    base: string,
    private readonly now: () => number,
    private readonly onError: (kind: string) => void,
    private readonly defaultQos: 0 | 1 = 1,
    /** Largest `/set` payload; a larger one gets 413. */
    private readonly maxPayloadBytes: number = VALUE_LIMITS.maxPayloadBytes,
  ) {
    this.topics = dataTopics(base);
  }

  /** Where a property's values go, and how (pushMethod.mqtt overrides the defaults). */
  private target(dev: ResolvedDevice, property: string): { topic: string; opts: PublishOptions } {
    const spec = dev.device.spec.properties.find((p) => p.name === property);
    const mqtt = spec?.pushMethod?.mqtt;
    const qos = mqtt?.qos;
    return {
      topic: mqtt?.topic ?? this.topics.property(dev, property),
      opts: { qos: qos === 0 || qos === 1 || qos === 2 ? qos : this.defaultQos, retain: mqtt?.retained ?? true },
    };
  }

  publishReported(dev: ResolvedDevice, property: string, e: ReportedEntry): void {
    const { topic, opts } = this.target(dev, property);
    const body: Record<string, unknown> = { value: e.value, timestamp: e.sourceTime ?? e.updatedAt };
    if (e.quality !== undefined) body.quality = e.quality;
    this.pub.publish(topic, body, opts);
  }

  publishState(dev: ResolvedDevice, snap: TwinSnapshot): void {
    this.pub.publish(
      this.topics.state(dev),
      { state: snap.state, lastOnline: snap.lastOnline ?? null },
      { retain: true },
    );
  }

  /**
   * A write outcome on `.../{property}/set/result`: code 200 with `write.status` applied, or 502
   * with `write.status` failed and the device's `write.code` and `write.reason`. Pending is only
   * sent as the answer to a `/set`.
   */
  publishWrite(dev: ResolvedDevice, property: string, snap: TwinSnapshot): void {
    const d = snap.desired[property];
    if (!d?.write || d.write.status === 'pending') return;
    this.pub.publish(`${this.topics.set(dev, property)}/result`, setResult(d, d.version, this.now()));
  }

  /** Everything current, e.g. after a (re)start against a broker that lost its retained messages. */
  publishAll(dev: ResolvedDevice, snap: TwinSnapshot): void {
    for (const [p, e] of Object.entries(snap.reported)) this.publishReported(dev, p, e);
    this.publishState(dev, snap);
  }

  private parse(topic: string, payload: Buffer): unknown {
    try {
      return parseBoundedJson(payload, `payload on ${topic}`, { maxPayloadBytes: this.maxPayloadBytes });
    } catch (err) {
      if (!isEdgeTwinError(err, 'ET_SCHEMA')) throw err;
      throw new EdgeTwinError(
        'ET_SCHEMA',
        `payload on ${topic} is not JSON; send a JSON value such as 21.5, true or "eco" (strings in quotes)`,
      );
    }
  }

  /** Handles `{base}/{ns}/{name}/{property}/set`; returns false when the topic is not one. */
  async handleSet(topic: string, payload: Buffer): Promise<boolean> {
    const parsed = this.topics.parseSet(topic);
    if (!parsed) return false;
    const resultTopic = `${topic}/result`;
    const id = deviceId(parsed.device);
    try {
      const value = this.parse(topic, payload);
      if (typeof value === 'object' && value !== null) {
        throw new EdgeTwinError('ET_BAD_VALUE', `payload on ${topic} must be a JSON number, boolean, string or null`);
      }
      const snap = await this.twin.setDesired(id, { [parsed.property]: value }, { source: 'mqtt' });
      const d = snap.desired[parsed.property];
      this.pub.publish(
        resultTopic,
        d
          ? setResult(d, snap.desiredVersion, this.now())
          : { code: 200, timestamp: this.now(), desiredVersion: snap.desiredVersion, value: null },
      );
    } catch (err) {
      this.onError('set');
      this.pub.publish(resultTopic, { code: hwStatus(err), timestamp: this.now(), reason: hwReason(err) });
    }
    return true;
  }
}

/** The `/set/result` body for a desired entry: its version, value and write status. */
function setResult(d: DesiredEntry, desiredVersion: number, now: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    code: d.write?.status === 'failed' ? 502 : 200,
    timestamp: now,
    desiredVersion,
    value: d.value,
  };
  if (d.write) body.write = d.write;
  return body;
}
