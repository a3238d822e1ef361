/**
 * The mapper side of KubeEdge's `$hw` twin protocol: twin/update (wait for the result), twin/get,
 * state/update and membership/get. Results are matched to requests by `event_id`: a result
 * carrying another `event_id` (or an empty one: the answer to someone's unreadable request) is
 * another client's and ignored; only a result with no `event_id` field at all (a peer that does
 * not echo it) answers the oldest open request on that result topic.
 */
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage } from '../errors.js';
import { hwTopics, parseDeviceId, type DeviceRef } from '../hw/topics.js';
import { newEventId, type HwMsgTwin } from '../hw/messages.js';
import type { BrokerLink } from './broker-link.js';

export type DeviceState = 'online' | 'offline' | 'unhealthy';

interface Pending {
  resultTopic: string;
  resolve: (v: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface HwClientOptions {
  link: BrokerLink;
  nodeName: string;
  logger: Logger;
  /** How long to wait for edgecore's answer, default 5000 ms. */
  resultTimeoutMs?: number;
}

export class HwClient {
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribers: (() => Promise<void>)[] = [];
  private closing = false;

  constructor(private readonly opts: HwClientOptions) {}

  async start(): Promise<void> {
    const onResult = (topic: string, payload: Buffer) => this.onResult(topic, payload);
    for (const filter of [
      '$hw/events/device/+/+/twin/update/result',
      '$hw/events/device/+/+/twin/get/result',
      hwTopics.membershipGetResult(this.opts.nodeName),
    ]) {
      this.unsubscribers.push(await this.opts.link.subscribe(filter, onResult));
    }
  }

  /** Reports twin values and waits for edgecore's result; rejects when edgecore refuses them. */
  async twinUpdate(d: DeviceRef, twin: Record<string, HwMsgTwin>): Promise<void> {
    await this.request(hwTopics.twinUpdate(d), hwTopics.twinUpdateResult(d), { twin });
  }

  /** The device's twin as edgecore holds it (`twin` of the get result). */
  async twinGet(d: DeviceRef): Promise<Record<string, HwMsgTwin>> {
    const res = await this.request(hwTopics.twinGet(d), hwTopics.twinGetResult(d), {});
    const twin = res.twin;
    return typeof twin === 'object' && twin !== null ? (twin as Record<string, HwMsgTwin>) : {};
  }

  /** Device ids (`ns/name`) edgecore lists as members of this node. */
  async membership(): Promise<string[]> {
    const node = this.opts.nodeName;
    const res = await this.request(hwTopics.membershipGet(node), hwTopics.membershipGetResult(node), {});
    const devices = Array.isArray(res.devices) ? (res.devices as unknown[]) : [];
    return devices.flatMap((d) => {
      const id = (d as { id?: unknown; name?: unknown }).id ?? (d as { name?: unknown }).name;
      return typeof id === 'string' ? [normalizeId(id)] : [];
    });
  }

  async publishState(d: DeviceRef, state: DeviceState): Promise<void> {
    const body = { event_id: newEventId(), timestamp: Date.now(), state };
    await this.opts.link.publish(hwTopics.stateUpdate(d), JSON.stringify(body));
  }

  private async request(topic: string, resultTopic: string, body: object): Promise<Record<string, unknown>> {
    const eventId = newEventId();
    if (this.closing) {
      // Shutting down: deliver the last reports but do not wait for answers.
      await this.opts.link.publish(topic, JSON.stringify({ event_id: eventId, timestamp: Date.now(), ...body }));
      return {};
    }
    const ms = this.opts.resultTimeoutMs ?? 5000;
    const result = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(eventId);
        reject(new EdgeTwinError('ET_TIMEOUT', `no answer on ${resultTopic} within ${ms} ms; is edgecore running?`));
      }, ms);
      this.pending.set(eventId, { resultTopic, resolve, reject, timer });
    });
    result.catch(() => undefined); // may settle before the caller awaits it; the caller still sees it
    try {
      await this.opts.link.publish(topic, JSON.stringify({ event_id: eventId, timestamp: Date.now(), ...body }));
    } catch (err) {
      this.settle(eventId)?.reject(err as Error);
    }
    return result;
  }

  private settle(eventId: string): Pending | undefined {
    const p = this.pending.get(eventId);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(eventId);
    return p;
  }

  private onResult(topic: string, payload: Buffer): void {
    let msg: Record<string, unknown>;
    try {
      const parsed = JSON.parse(payload.toString('utf8')) as unknown;
      msg = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch (err) {
      this.opts.logger.warn({ topic }, `ignoring a result on ${topic} that is not JSON: ${errorMessage(err)}`);
      return;
    }
    const id = 'event_id' in msg ? msg.event_id : this.oldestFor(topic);
    if (typeof id !== 'string' || !this.pending.has(id)) return; // an answer to another client
    const p = this.settle(id);
    if (!p) return;
    if (typeof msg.code === 'number' && typeof msg.reason === 'string' && msg.code >= 300) {
      p.reject(
        new EdgeTwinError('ET_PROTOCOL', `edgecore answered ${msg.code} on ${topic}: ${msg.reason}`, {
          details: { code: msg.code, reason: msg.reason },
        }),
      );
    } else p.resolve(msg);
  }

  private oldestFor(resultTopic: string): string | undefined {
    for (const [id, p] of this.pending) if (p.resultTopic === resultTopic) return id;
    return undefined;
  }

  /** The mapper is stopping: open requests end now and new ones do not wait for results. */
  beginClosing(): void {
    this.closing = true;
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new EdgeTwinError('ET_ABORTED', 'the mapper is stopping'));
    }
  }

  async stop(): Promise<void> {
    this.closing = true;
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new EdgeTwinError('ET_ABORTED', 'the mapper is stopping'));
    }
    await Promise.all(this.unsubscribers.splice(0).map((u) => u().catch(() => undefined)));
  }
}

/** KubeEdge-era ids without a namespace belong to `default`. */
export function normalizeId(id: string): string {
  const d = parseDeviceId(id);
  return `${d.namespace}/${d.name}`;
}
