/**
 * Answers KubeEdge `$hw` requests: twin/update, twin/get, state/update, membership/get. Every
 * request gets an answer on its result topic; a bad one gets `{event_id, timestamp, code, reason}`.
 */
import {
  EdgeTwinError,
  coerceValue,
  errorMessage,
  VALUE_LIMITS,
  checkPayloadSize,
  decodeBase,
  decodeStateUpdate,
  decodeTwinUpdate,
  deviceId,
  errorResult,
  formatLastOnline,
  hwTopics,
  type DeviceRef,
  type HwRequest,
  type HwTwinUpdate,
  type PropertyType,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import type { Logger } from 'pino';
import type { TwinService } from '../engine/twin-service.js';
import type { ReportInput, WriteOutcomeInput } from '../types.js';
import { eventIdOf, hwReason, hwStatus } from './errors.js';
import { membershipDevice, twinsOf } from './hw-payloads.js';
import type { Publisher } from './publisher.js';

export class HwRequests {
  constructor(
    private readonly twin: TwinService,
    private readonly pub: Publisher,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly onError: (kind: string) => void,
    /** Largest request payload answered normally; a larger one gets 413. */
    private readonly maxPayloadBytes: number = VALUE_LIMITS.maxPayloadBytes,
  ) {}

  async handle(req: HwRequest, topic: string, payload: Buffer): Promise<void> {
    // Answer on the request topic + /result, so KubeEdge-era single-segment ids get their answer too.
    const resultTopic = req.kind === 'membership/get' ? hwTopics.membershipGetResult(req.node) : `${topic}/result`;
    try {
      checkPayloadSize(payload.length, `payload on ${topic}`, this.maxPayloadBytes);
      switch (req.kind) {
        case 'twin/update':
          await this.twinUpdate(req.device, topic, payload, resultTopic);
          return;
        case 'twin/get':
          this.twinGet(req.device, topic, payload, resultTopic);
          return;
        case 'state/update':
          await this.stateUpdate(req.device, topic, payload, resultTopic);
          return;
        case 'membership/get':
          this.membershipGet(topic, payload, resultTopic);
          return;
      }
    } catch (err) {
      const code = hwStatus(err);
      this.onError(req.kind);
      this.log.debug({ topic, code, err: hwReason(err) }, 'request rejected');
      this.pub.publish(
        resultTopic,
        errorResult(eventIdOf(payload, this.maxPayloadBytes), code, hwReason(err), this.now()),
      );
    }
  }

  private device(ref: DeviceRef): ResolvedDevice {
    const id = deviceId(ref);
    const d = this.twin.getDevice(id);
    if (!d) {
      throw new EdgeTwinError(
        'ET_NOT_FOUND',
        `device ${id} is not on node ${this.twin.nodeName}; check the device id`,
        {
          details: { device: id },
        },
      );
    }
    return d;
  }

  private async twinUpdate(ref: DeviceRef, topic: string, payload: Buffer, resultTopic: string): Promise<void> {
    const msg = decodeTwinUpdate(payload, topic);
    let dev = this.device(ref);
    const adhoc = newTwins(msg.twin, (name) => this.twin.hasProperty(dev.id, name));
    if (adhoc.size > 0) {
      this.twin.addTwins(dev.id, adhoc);
      dev = this.device(ref);
    }
    const desired: Record<string, unknown> = {};
    const reported: Record<string, ReportInput> = {};
    const outcomes: Record<string, WriteOutcomeInput> = {};
    for (const [name, t] of Object.entries(msg.twin)) {
      if (t === null) {
        desired[name] = null; // KubeEdge: a null twin deletes it; the reported value stays the device's
        continue;
      }
      const od = t.observed_desired;
      if (od) {
        const o: WriteOutcomeInput = { value: od.value, status: od.metadata.status };
        if (od.metadata.version !== undefined) o.version = od.metadata.version;
        if (od.metadata.code !== undefined) o.code = od.metadata.code;
        if (od.metadata.reason !== undefined) o.reason = od.metadata.reason;
        outcomes[name] = o;
      }
      const deleted = t.metadata?.type === 'deleted';
      if (t.expected) {
        if (deleted) desired[name] = null;
        else if (t.expected.value === undefined) throw missingValue(name, 'expected');
        else desired[name] = t.expected.value;
      } else if (deleted && !t.actual) {
        desired[name] = null;
      }
      if (t.actual) {
        if (t.actual.value === undefined) throw missingValue(name, 'actual');
        const r: ReportInput = { value: t.actual.value };
        const ts = t.actual.metadata?.timestamp;
        if (ts !== undefined) r.sourceTime = ts;
        const quality = t.actual.metadata?.quality;
        if (quality !== undefined) r.quality = quality;
        reported[name] = r;
      }
    }
    const cause = msg.event_id ?? '';
    const snap = await this.twin.update(dev.id, { desired, reported, outcomes, source: 'mqtt', cause });
    this.pub.publish(resultTopic, {
      event_id: cause,
      timestamp: this.now(),
      twin: twinsOf(dev, snap, Object.keys(msg.twin)),
    });
  }

  private twinGet(ref: DeviceRef, topic: string, payload: Buffer, resultTopic: string): void {
    const msg = decodeBase(payload, topic);
    const dev = this.device(ref);
    const snap = this.twin.getTwin(dev.id)!;
    this.pub.publish(resultTopic, { event_id: msg.event_id ?? '', timestamp: this.now(), twin: twinsOf(dev, snap) });
  }

  private async stateUpdate(ref: DeviceRef, topic: string, payload: Buffer, resultTopic: string): Promise<void> {
    const msg = decodeStateUpdate(payload, topic);
    const dev = this.device(ref);
    const snap = await this.twin.setState(dev.id, msg.state, { cause: msg.event_id ?? '' });
    const device: Record<string, unknown> = { id: dev.id, name: dev.name, state: snap.state };
    if (snap.lastOnline !== undefined) device.lastOnlineTime = formatLastOnline(snap.lastOnline);
    this.pub.publish(resultTopic, { event_id: msg.event_id ?? '', timestamp: this.now(), device });
  }

  private membershipGet(topic: string, payload: Buffer, resultTopic: string): void {
    const msg = decodeBase(payload, topic);
    const devices = this.twin.listDevices().map((d) => membershipDevice(d, this.twin.getTwin(d.id)));
    this.pub.publish(resultTopic, { event_id: msg.event_id ?? '', timestamp: this.now(), devices });
  }
}

function missingValue(name: string, side: string): EdgeTwinError {
  return new EdgeTwinError('ET_SCHEMA', `twin ${name}: ${side} has no "value"; send {"${side}":{"value":"..."}}`, {
    details: { path: `/twin/${name}/${side}/value` },
  });
}

/** The property type KubeEdge gives a twin it adds: by its `metadata.type`, string when absent. */
const ADHOC_TYPES: Record<string, PropertyType> = { int: 'INT', integer: 'INT', float: 'DOUBLE', boolean: 'BOOLEAN' };

/**
 * Keys of a twin/update the device does not have, with the type KubeEdge gives them: its
 * `metadata.type` (string when absent). KubeEdge's edgecore adds such a twin; so does edgecore here,
 * after checking that every value it carries fits that type, so a bad value adds nothing. A key
 * sent as null (delete) or as "deleted" is not added: deleting what does not exist stays an error.
 */
function newTwins(twins: HwTwinUpdate['twin'], has: (name: string) => boolean): Map<string, PropertyType> {
  const out = new Map<string, PropertyType>();
  for (const [name, t] of Object.entries(twins)) {
    if (t === null || has(name)) continue;
    const wire = t.metadata?.type ?? 'string';
    if (wire === 'deleted') continue;
    const type = ADHOC_TYPES[wire] ?? 'STRING'; // keys are checked by decodeTwinUpdate
    for (const side of ['expected', 'actual'] as const) {
      const v = t[side]?.value;
      if (v === undefined) continue;
      try {
        coerceValue(type, v);
      } catch (err) {
        throw new EdgeTwinError('ET_BAD_VALUE', `twin ${name}: ${side} value: ${errorMessage(err)}`, {
          details: { path: `/twin/${name}/${side}/value`, type: wire },
        });
      }
    }
    out.set(name, type);
  }
  return out;
}
