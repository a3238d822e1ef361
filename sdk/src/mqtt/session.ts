/**
 * What an MqttConnection keeps across connections: the filters it subscribed, the QoS 1
 * messages the broker has not acknowledged, the ones still waiting for a place in the window, and
 * the SUBSCRIBE/UNSUBSCRIBE packets waiting for their ack, keyed by packet id.
 *
 * The outgoing window: at most `window` QoS 1 messages (far below the 65,535 packet ids) are sent
 * and not acknowledged at any time. A publish beyond it waits in `queued`, in order, and takes
 * the place a PUBACK frees. Nothing is dropped for lack of a packet id, and the ids left over are
 * always enough for the SUBSCRIBE a new connection starts with, so a reconnect under any backlog
 * restores the subscriptions and re-sends.
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

interface Queued {
  topic: string;
  payload: string | Buffer;
  retain: boolean;
  callback: PublishCallback | undefined;
}

/** Packet ids the window may use at most: the rest stay free for SUBSCRIBE/UNSUBSCRIBE. */
export const MAX_WINDOW = 60_000;

export class MqttSession {
  private nextId = 0;
  /** In the order they were first published. */
  private readonly unacked = new Map<number, Unacked>();
  /** Publishes waiting for a place in the window (a FIFO: `queued[queuedHead..]`). */
  private queued: (Queued | undefined)[] = [];
  private queuedHead = 0;
  private readonly controlAcks = new Map<number, Waiter>();
  private readonly subscriptions = new Map<string, QoS>();
  /** subscribe() calls made without a connection: answered by the next connection's SUBSCRIBE. */
  private subscribeWaiters: Waiter[] = [];
  private acknowledgedWaiters: (() => void)[] = [];
  /** Largest number of publishes waiting for a place in the window so far. */
  peakQueued = 0;

  constructor(readonly window = 1024) {
    if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
      throw new MqttError(`the outgoing window must be 1..${MAX_WINDOW} messages, not ${window}`, { permanent: true });
    }
  }

  get unackedCount(): number {
    return this.unacked.size;
  }

  get queuedCount(): number {
    return this.queued.length - this.queuedHead;
  }

  /**
   * A QoS 1 PUBLISH: with room in the window it gets a packet id and is returned for sending now
   * when `sending` (kept until its PUBACK); otherwise it waits in the queue and undefined is
   * returned.
   */
  publish(
    topic: string,
    payload: string | Buffer,
    retain: boolean,
    callback: PublishCallback | undefined,
    sending: boolean,
  ): Buffer | undefined {
    if (this.unacked.size >= this.window || this.queuedCount > 0) {
      this.queued.push({ topic, payload, retain, callback });
      this.peakQueued = Math.max(this.peakQueued, this.queuedCount);
      return undefined;
    }
    return this.admit(topic, payload, retain, callback, sending);
  }

  /**
   * A PUBACK: frees its place in the window. Returns the queued publishes that took the places
   * freed (to be written now when `sending`).
   */
  puback(packetId: number, sending: boolean): Buffer[] | undefined {
    const u = this.unacked.get(packetId);
    if (!u) return undefined; // a late ack of a re-sent message
    this.unacked.delete(packetId);
    u.callback?.();
    const admitted = this.queuedCount > 0 ? this.admitQueued(sending) : undefined;
    if (this.unacked.size === 0 && this.queuedCount === 0) {
      const waiters = this.acknowledgedWaiters;
      this.acknowledgedWaiters = [];
      for (const w of waiters) w();
    }
    return admitted;
  }

  /** Resolves once every QoS 1 message (queued ones included) has its PUBACK, or after `timeoutMs`. */
  whenAcknowledged(timeoutMs: number): Promise<void> {
    if (this.unacked.size === 0 && this.queuedCount === 0) return Promise.resolve();
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
   * those sent before. The window never holds every packet id, so the SUBSCRIBE always gets one.
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
    const queued = this.queued;
    const head = this.queuedHead;
    this.queued = [];
    this.queuedHead = 0;
    for (let i = head; i < queued.length; i++) queued[i]?.callback?.(err);
    for (const w of this.controlAcks.values()) w.reject(err);
    this.controlAcks.clear();
    for (const w of this.subscribeWaiters) w.reject(err);
    this.subscribeWaiters = [];
    this.acknowledgedWaiters.forEach((w) => w());
    this.acknowledgedWaiters = [];
  }

  private admit(
    topic: string,
    payload: string | Buffer,
    retain: boolean,
    callback: PublishCallback | undefined,
    sending: boolean,
  ): Buffer {
    const id = this.allocateId();
    const packet = encodePublish(topic, payload, 1, retain, id);
    this.unacked.set(id, { packet, callback, sent: sending });
    return packet;
  }

  /** Moves queued publishes into the window while it has room. */
  private admitQueued(sending: boolean): Buffer[] {
    const out: Buffer[] = [];
    while (this.unacked.size < this.window && this.queuedHead < this.queued.length) {
      const q = this.queued[this.queuedHead]!;
      this.queued[this.queuedHead++] = undefined; // let it be collected
      out.push(this.admit(q.topic, q.payload, q.retain, q.callback, sending));
    }
    if (this.queuedHead === this.queued.length) {
      this.queued = [];
      this.queuedHead = 0;
    } else if (this.queuedHead > 4096 && this.queuedHead * 2 > this.queued.length) {
      this.queued = this.queued.slice(this.queuedHead);
      this.queuedHead = 0;
    }
    return out;
  }

  private control(waiter: Waiter, encode: (packetId: number) => Buffer): Buffer {
    const id = this.allocateId();
    this.controlAcks.set(id, waiter);
    return encode(id);
  }

  /**
   * The next free packet id (1..65535). The window holds at most MAX_WINDOW of them and control
   * packets a few, so one is always free.
   */
  private allocateId(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      this.nextId = this.nextId >= 65_535 ? 1 : this.nextId + 1;
      if (!this.unacked.has(this.nextId) && !this.controlAcks.has(this.nextId)) return this.nextId;
    }
    throw new MqttError('no free packet id: 65,535 messages are waiting for the broker');
  }
}
