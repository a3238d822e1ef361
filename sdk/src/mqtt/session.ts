/**
 * What an MqttConnection keeps across connections: the filters it subscribed, the QoS 1
 * messages the broker has not acknowledged, and the SUBSCRIBE/UNSUBSCRIBE packets waiting for
 * their ack, keyed by packet id. Per unacknowledged message it keeps the encoded packet (to send
 * again after a reconnect) and its callback, nothing more.
 */
import { MqttError } from './broker-url.js';
import { encodePublish, encodeSubscribe, encodeUnsubscribe, markDuplicate, type QoS } from './codec.js';

export type PublishCallback = (err?: Error) => void;

export interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Unacked {
  packet: Buffer;
  callback: PublishCallback | undefined;
  /** Written to a connection at least once (a re-send then carries DUP). */
  sent: boolean;
}

export class MqttSession {
  private nextId = 0;
  /** In the order they were first published. */
  private readonly unacked = new Map<number, Unacked>();
  private readonly controlAcks = new Map<number, Waiter>();
  private readonly subscriptions = new Map<string, QoS>();
  /** subscribe() calls made without a connection: answered by the next connection's SUBSCRIBE. */
  private subscribeWaiters: Waiter[] = [];
  private acknowledgedWaiters: (() => void)[] = [];

  get unackedCount(): number {
    return this.unacked.size;
  }

  /**
   * A QoS 1 PUBLISH under a free packet id, kept until its PUBACK. `sending` says whether it goes
   * out now. Fails the callback (and returns undefined) when all 65,535 ids are waiting.
   */
  publish(
    topic: string,
    payload: string | Buffer,
    retain: boolean,
    callback: PublishCallback | undefined,
    sending: boolean,
  ): Buffer | undefined {
    const id = this.allocateId();
    if (id === 0) {
      callback?.(new MqttError('65,535 QoS 1 messages are waiting for their PUBACK; the broker is not acknowledging'));
      return undefined;
    }
    const packet = encodePublish(topic, payload, 1, retain, id);
    this.unacked.set(id, { packet, callback, sent: sending });
    return packet;
  }

  puback(packetId: number): void {
    const u = this.unacked.get(packetId);
    if (!u) return; // a late ack of a re-sent message
    this.unacked.delete(packetId);
    u.callback?.();
    if (this.unacked.size > 0) return;
    const waiters = this.acknowledgedWaiters;
    this.acknowledgedWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once every QoS 1 message has its PUBACK, or after `timeoutMs`. */
  whenAcknowledged(timeoutMs: number): Promise<void> {
    if (this.unacked.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs).unref();
      this.acknowledgedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Holds the filters (restored on every connection) and returns the SUBSCRIBE for them. */
  subscribe(filters: readonly string[], qos: QoS, waiter: Waiter): Buffer {
    for (const f of filters) this.subscriptions.set(f, qos);
    return this.control(waiter, (id) =>
      encodeSubscribe(
        id,
        filters.map((f) => [f, qos] as const),
      ),
    );
  }

  /** Holds the filters; `waiter` is answered by the next connection's SUBSCRIBE. */
  subscribeLater(filters: readonly string[], qos: QoS, waiter: Waiter): void {
    for (const f of filters) this.subscriptions.set(f, qos);
    this.subscribeWaiters.push(waiter);
  }

  /** Drops the filters; returns the UNSUBSCRIBE when `waiter` is given (there is a connection). */
  unsubscribe(filters: readonly string[], waiter?: Waiter): Buffer | undefined {
    for (const f of filters) this.subscriptions.delete(f);
    return waiter ? this.control(waiter, (id) => encodeUnsubscribe(id, filters)) : undefined;
  }

  /** A SUBACK or UNSUBACK arrived; `refused` for a SUBACK with a failure return code. */
  controlAcknowledged(packetId: number, refused = false): void {
    const w = this.controlAcks.get(packetId);
    this.controlAcks.delete(packetId);
    if (!w) return;
    if (refused) w.reject(new MqttError('the broker refused a subscription (SUBACK 0x80)'));
    else w.resolve();
  }

  /**
   * What a new connection starts with: one SUBSCRIBE for every filter held (it answers the
   * subscribe calls made meanwhile), then the unacknowledged publishes in their order, DUP set on
   * those sent before.
   */
  resume(): Buffer[] {
    const packets: Buffer[] = [];
    const waiters = this.subscribeWaiters;
    this.subscribeWaiters = [];
    const all: Waiter = {
      resolve: () => waiters.forEach((w) => w.resolve()),
      reject: (err) => waiters.forEach((w) => w.reject(err)),
    };
    if (this.subscriptions.size > 0) {
      packets.push(this.control(all, (id) => encodeSubscribe(id, [...this.subscriptions])));
    } else {
      all.resolve();
    }
    for (const u of this.unacked.values()) {
      if (u.sent) markDuplicate(u.packet);
      u.sent = true;
      packets.push(u.packet);
    }
    return packets;
  }

  /** The connection is gone: its SUBSCRIBE/UNSUBSCRIBE acks will not come (the filters are restored on the next). */
  connectionLost(): void {
    for (const w of this.controlAcks.values()) w.resolve();
    this.controlAcks.clear();
  }

  /** The session ends: everything still waiting fails with `err`. */
  failAll(err: Error): void {
    for (const u of this.unacked.values()) u.callback?.(err);
    this.unacked.clear();
    for (const w of this.controlAcks.values()) w.reject(err);
    this.controlAcks.clear();
    for (const w of this.subscribeWaiters) w.reject(err);
    this.subscribeWaiters = [];
    this.acknowledgedWaiters.forEach((w) => w());
    this.acknowledgedWaiters = [];
  }

  private control(waiter: Waiter, encode: (packetId: number) => Buffer): Buffer {
    const id = this.allocateId();
    if (id === 0) throw new MqttError('no free packet id: 65,535 messages are waiting for the broker');
    this.controlAcks.set(id, waiter);
    return encode(id);
  }

  /** The next free packet id (1..65535), or 0 when all are taken. */
  private allocateId(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      this.nextId = this.nextId >= 65_535 ? 1 : this.nextId + 1;
      if (!this.unacked.has(this.nextId) && !this.controlAcks.has(this.nextId)) return this.nextId;
    }
    return 0;
  }
}
