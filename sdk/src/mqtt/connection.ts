/**
 * A small MQTT 3.1.1 client for a daemon's one long-lived broker connection (edgecore's): QoS 0
 * and 1, over TCP or TLS, with reconnect and back-pressure built in.
 *
 * Why not mqtt.js here: under 10,000 twin reports/s, mqtt.js's per-packet work (a packet object
 * kept in its outgoing store until PUBACK, stream plumbing, debug calls) was most of edgecore's CPU
 * and nearly all the garbage that survived into the old generation, which is what sets edgecore's
 * RSS (`npm run bench:twin`). This client keeps, per unacknowledged QoS 1 message, only the
 * encoded packet and its callback.
 *
 * What it does:
 * - Connects with a clean session; after a dropped connection it reconnects with backoff
 *   (1 s doubling to 30 s, reset by a CONNACK), subscribes again to every filter it holds and
 *   re-sends, with DUP set and in their order, the QoS 1 messages not acknowledged yet.
 * - QoS 1 messages published while disconnected wait for the next connection; QoS 0 ones are
 *   dropped (at most once) and counted in `droppedQos0`.
 * - Sends PINGREQ every keepalive period; if the PINGRESP has not come by the next one, the
 *   connection is taken as dead and replaced.
 * - Back-pressure: each received message is handed to the handler with a `done` callback. With
 *   `maxInFlight` messages not done, or `maxBufferedBytes` waiting to be written, reading stops
 *   (the broker holds the backlog) until they drain.
 * - Packets written in the same tick leave in one write (the socket is corked until the next
 *   tick), so a burst of PUBACKs and results costs one system call.
 * - Incoming QoS 1 messages are acknowledged when they are handed to the handler.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { errorMessage } from '../errors.js';
import { Backoff } from '../util/backoff.js';
import {
  CONNACK_REASONS,
  DISCONNECT,
  PINGREQ,
  PacketReader,
  PacketType,
  encodeConnect,
  encodePuback,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  markDuplicate,
  type IncomingPacket,
  type QoS,
} from './codec.js';

export type { QoS } from './codec.js';

export interface MqttConnectionOptions {
  /** `mqtt://host:port` or `tcp://` (plain), `mqtts://` or `ssl://` (TLS); user:password@ allowed. */
  url: string;
  clientId: string;
  /** Keepalive in seconds (default 30). */
  keepaliveSeconds?: number;
  /** How long a connection attempt may take until CONNACK, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Received messages not done yet before reading pauses (default 256). */
  maxInFlight?: number;
  /** Bytes waiting to be written before reading pauses (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Reconnect delays (default 1 s doubling to 30 s, 20 % jitter). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Extra TLS options for mqtts:// (a private CA, for example). */
  tls?: { ca?: string | Buffer };
}

/** Receives a message; call `done` when it has been handled (it frees a place for the next one). */
export type MessageHandler = (topic: string, payload: Buffer, done: () => void) => void;

export type PublishCallback = (err?: Error) => void;

export interface MqttConnectionEvents {
  /** A CONNACK accepted the connection (the first one and after every reconnect). */
  connect: [];
  /** The connection was lost or could not be made; a new attempt follows after `retryInMs`. */
  offline: [err: Error, retryInMs: number];
}

interface Unacked {
  packet: Buffer;
  callback: PublishCallback | undefined;
  /** Written to a connection at least once (a re-send then carries DUP). */
  sent: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class MqttError extends Error {
  override readonly name = 'MqttError';
  /** Retrying cannot help: a bad URL, or a broker that refused these credentials or this client. */
  readonly permanent: boolean;
  constructor(message: string, opts: { cause?: unknown; permanent?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.permanent = opts.permanent ?? false;
  }
}

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ssl:': 8883 };

/** Connects and resolves at the first CONNACK; rejects if that first attempt fails. */
export async function connectMqtt(opts: MqttConnectionOptions): Promise<MqttConnection> {
  const conn = new MqttConnection(opts);
  await conn.open();
  return conn;
}

export class MqttConnection extends EventEmitter<MqttConnectionEvents> {
  private readonly target: URL;
  private readonly keepaliveMs: number;
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private readonly backoff: Backoff;
  private socket: Socket | undefined;
  private readonly reader = new PacketReader();
  private isConnected = false;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private awaitingPingresp = false;
  private connectWaiter: Waiter | undefined;

  private handler: MessageHandler | undefined;
  private inFlight = 0;
  /** Reading stopped for back-pressure (not for lack of a connection). */
  private readPaused = false;

  private nextId = 0;
  /** QoS 1 publishes without PUBACK yet, by packet id, in the order they were first sent. */
  private readonly unacked = new Map<number, Unacked>();
  /** SUBSCRIBE and UNSUBSCRIBE packets waiting for their ack. */
  private readonly controlAcks = new Map<number, Waiter>();
  /** Subscribe calls waiting for a connection (they are answered by the resubscription). */
  private subscribeWaiters: Waiter[] = [];
  /** The filters held, and their QoS: restored after every reconnect. */
  private readonly subscriptions = new Map<string, QoS>();
  private corked = false;

  /** QoS 0 messages dropped because there was no connection. */
  droppedQos0 = 0;

  constructor(private readonly opts: MqttConnectionOptions) {
    super();
    this.target = parseBrokerUrl(opts.url);
    this.keepaliveMs = (opts.keepaliveSeconds ?? 30) * 1000;
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.backoff = new Backoff({
      initialMs: opts.reconnect?.initialMs ?? 1000,
      maxMs: opts.reconnect?.maxMs ?? 30_000,
    });
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** QoS 1 messages published and not acknowledged by the broker yet. */
  get unackedCount(): number {
    return this.unacked.size;
  }

  /** Received messages handed to the handler and not done yet. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /** The broker URL without credentials, for logs. */
  get safeUrl(): string {
    return `${this.target.protocol}//${this.target.host}`;
  }

  /** The first connection: resolves at its CONNACK, rejects (and gives up) if it fails. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      this.dial();
    });
  }

  setMessageHandler(handler: MessageHandler | undefined): void {
    this.handler = handler;
  }

  publish(topic: string, payload: string | Buffer, qos: QoS, retain: boolean, callback?: PublishCallback): void {
    if (this.closing) {
      callback?.(new MqttError('the MQTT connection is closed'));
      return;
    }
    if (qos === 0) {
      if (!this.isConnected) {
        this.droppedQos0++;
        return;
      }
      this.write(encodePublish(topic, payload, 0, retain));
      return;
    }
    const id = this.allocateId();
    if (id === 0) {
      callback?.(new MqttError('65,535 QoS 1 messages are waiting for their PUBACK; the broker is not acknowledging'));
      return;
    }
    const packet = encodePublish(topic, payload, 1, retain, id);
    this.unacked.set(id, { packet, callback, sent: this.isConnected });
    if (this.isConnected) this.write(packet);
  }

  /** Publishes and resolves at the PUBACK (QoS 1) or once written (QoS 0). */
  publishAsync(topic: string, payload: string | Buffer, qos: QoS = 1, retain = false): Promise<void> {
    if (qos === 0) {
      this.publish(topic, payload, 0, retain);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.publish(topic, payload, qos, retain, (err) => (err ? reject(err) : resolve())),
    );
  }

  /**
   * Adds filters (kept across reconnects) and resolves at the broker's SUBACK, rejecting if the
   * broker refused one. Without a connection, resolves once the next one has subscribed.
   */
  subscribe(filters: readonly string[], qos: QoS = 1): Promise<void> {
    for (const f of filters) this.subscriptions.set(f, qos);
    return new Promise((resolve, reject) => {
      if (this.closing) {
        reject(new MqttError('the MQTT connection is closed'));
        return;
      }
      if (!this.isConnected) {
        this.subscribeWaiters.push({ resolve, reject });
        return;
      }
      this.sendSubscribe(filters, qos, { resolve, reject });
    });
  }

  /** Drops filters; resolves at the UNSUBACK (at once without a connection: nothing to undo). */
  unsubscribe(filters: readonly string[]): Promise<void> {
    for (const f of filters) this.subscriptions.delete(f);
    if (!this.isConnected || filters.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const id = this.allocateId();
      this.controlAcks.set(id, { resolve, reject });
      this.write(encodeUnsubscribe(id, filters));
    });
  }

  /**
   * Closes: waits up to `graceMs` for outstanding PUBACKs, sends DISCONNECT and ends the socket.
   * Publishes still unacknowledged then fail.
   */
  async end(graceMs = 2000): Promise<void> {
    if (this.closing) return;
    const deadline = Date.now() + graceMs;
    while (this.isConnected && this.unacked.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.stopKeepalive();
    const socket = this.socket;
    if (socket && this.isConnected) {
      this.uncork();
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end(DISCONNECT);
        setTimeout(() => socket.destroy(), 1000).unref();
      });
    } else {
      socket?.destroy();
    }
    this.isConnected = false;
    this.failAll(new MqttError('the MQTT connection was closed'));
  }

  // --- connection life cycle -------------------------------------------------------------

  private dial(): void {
    const host = this.target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.target.port) || DEFAULT_PORTS[this.target.protocol]!;
    const tls = this.target.protocol === 'mqtts:' || this.target.protocol === 'ssl:';
    const socket = tls
      ? tlsConnect({
          host,
          port,
          // SNI takes host names only; the certificate is checked against the host either way.
          ...(isIP(host) ? {} : { servername: host }),
          ...(this.opts.tls?.ca ? { ca: this.opts.tls.ca } : {}),
        })
      : netConnect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.reader.reset();
    const timeout = setTimeout(
      () => socket.destroy(new MqttError(`no CONNACK within ${this.opts.connectTimeoutMs ?? 5000} ms`)),
      this.opts.connectTimeoutMs ?? 5000,
    );
    let failure: Error | undefined;
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      const username = this.target.username ? decodeURIComponent(this.target.username) : undefined;
      const password = this.target.password ? decodeURIComponent(this.target.password) : undefined;
      socket.write(
        encodeConnect({
          clientId: this.opts.clientId,
          keepaliveSeconds: Math.round(this.keepaliveMs / 1000),
          cleanSession: true,
          username,
          password,
        }),
      );
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk, timeout));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err: Error) => {
      failure ??= err;
    });
    socket.on('close', () => {
      clearTimeout(timeout);
      if (socket === this.socket) this.onClose(failure ?? new MqttError('the broker closed the connection'));
    });
  }

  private onData(socket: Socket, chunk: Buffer, connectTimeout: NodeJS.Timeout): void {
    if (socket !== this.socket) return;
    this.reader.push(chunk);
    try {
      if (!this.isConnected) {
        const first = this.reader.next();
        if (!first) return;
        clearTimeout(connectTimeout);
        this.onConnack(socket, first);
      }
      this.drainReader();
    } catch (err) {
      socket.destroy(err instanceof Error ? err : new MqttError(errorMessage(err)));
    }
  }

  private onConnack(socket: Socket, p: IncomingPacket): void {
    if (p.type !== PacketType.CONNACK) throw new MqttError(`expected CONNACK, got packet type ${p.type}`);
    if (p.returnCode !== 0) {
      const reason = CONNACK_REASONS[p.returnCode] ?? `return code ${p.returnCode}`;
      // "Server unavailable" (3) may pass; the others need a change of configuration.
      throw new MqttError(`the broker at ${this.safeUrl} refused the connection: ${reason}`, {
        permanent: p.returnCode !== 3,
      });
    }
    this.isConnected = true;
    this.backoff.reset();
    this.startKeepalive(socket);
    // Restore the subscriptions, then re-send what was not acknowledged (DUP), in order.
    const waiters = this.subscribeWaiters;
    this.subscribeWaiters = [];
    const byQos = new Map<QoS, string[]>();
    for (const [f, q] of this.subscriptions) byQos.set(q, [...(byQos.get(q) ?? []), f]);
    const groups = [...byQos];
    if (groups.length === 0) for (const w of waiters) w.resolve();
    groups.forEach(([qos, filters], i) =>
      this.sendSubscribe(filters, qos, {
        resolve: () => {
          if (i === groups.length - 1) for (const w of waiters) w.resolve();
        },
        reject: (err) => {
          for (const w of waiters) w.reject(err);
        },
      }),
    );
    for (const u of this.unacked.values()) {
      if (u.sent) markDuplicate(u.packet);
      u.sent = true;
      this.write(u.packet);
    }
    const first = this.connectWaiter;
    this.connectWaiter = undefined;
    first?.resolve();
    this.emit('connect');
  }

  private onClose(err: Error): void {
    const wasConnected = this.isConnected;
    this.isConnected = false;
    this.socket = undefined;
    this.corked = false;
    this.stopKeepalive();
    // Control packets die with the connection; the subscriptions themselves are restored on reconnect.
    for (const w of this.controlAcks.values()) w.resolve();
    this.controlAcks.clear();
    // Messages handed to the handler still complete; reading restarts with the new connection.
    this.readPaused = false;
    if (this.closing) return;
    if (!wasConnected && this.connectWaiter) {
      // The very first attempt failed: the caller decides what to do.
      const first = this.connectWaiter;
      this.connectWaiter = undefined;
      this.closing = true;
      this.failAll(err);
      first.reject(
        new MqttError(`cannot connect to the MQTT broker at ${this.safeUrl}: ${err.message}`, {
          cause: err,
          permanent: err instanceof MqttError && err.permanent,
        }),
      );
      return;
    }
    const delay = this.backoff.next();
    this.emit('offline', err, delay);
    this.reconnectTimer = setTimeout(() => this.dial(), delay);
  }

  private startKeepalive(socket: Socket): void {
    this.awaitingPingresp = false;
    this.keepaliveTimer = setInterval(() => {
      if (this.awaitingPingresp) {
        socket.destroy(new MqttError(`no PINGRESP within ${this.keepaliveMs / 1000} s`));
        return;
      }
      this.awaitingPingresp = true;
      this.write(PINGREQ);
    }, this.keepaliveMs);
    this.keepaliveTimer.unref();
  }

  private stopKeepalive(): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private failAll(err: Error): void {
    for (const u of this.unacked.values()) u.callback?.(err);
    this.unacked.clear();
    for (const w of this.controlAcks.values()) w.reject(err);
    this.controlAcks.clear();
    for (const w of this.subscribeWaiters) w.reject(err);
    this.subscribeWaiters = [];
  }

  // --- reading ----------------------------------------------------------------------------

  /** Handles packets until the buffer is empty or back-pressure says stop. */
  private drainReader(): void {
    while (!this.mustPause()) {
      const p = this.reader.next();
      if (!p) break;
      this.handlePacket(p);
    }
    if (this.mustPause() && !this.readPaused) {
      this.readPaused = true;
      this.socket?.pause();
    }
  }

  private mustPause(): boolean {
    return this.inFlight >= this.maxInFlight || (this.socket?.writableLength ?? 0) >= this.maxBuffered;
  }

  /** Reading resumes with some slack, so it does not flap at the threshold. */
  private canResume(): boolean {
    return this.inFlight <= this.maxInFlight / 2 && (this.socket?.writableLength ?? 0) <= this.maxBuffered / 2;
  }

  private maybeResume(): void {
    if (!this.readPaused || !this.canResume()) return;
    this.readPaused = false;
    const socket = this.socket;
    try {
      this.drainReader();
    } catch (err) {
      socket?.destroy(err instanceof Error ? err : new MqttError(errorMessage(err)));
      return;
    }
    if (!this.readPaused) socket?.resume();
  }

  private handlePacket(p: IncomingPacket): void {
    switch (p.type) {
      case PacketType.PUBLISH:
        return this.onPublish(p.topic, p.payload, p.qos, p.packetId);
      case PacketType.PUBACK: {
        const u = this.unacked.get(p.packetId);
        if (!u) return; // a late ack of a re-sent message
        this.unacked.delete(p.packetId);
        u.callback?.();
        return;
      }
      case PacketType.SUBACK: {
        const w = this.controlAcks.get(p.packetId);
        this.controlAcks.delete(p.packetId);
        if (!w) return;
        if (p.returnCodes.includes(0x80)) w.reject(new MqttError('the broker refused a subscription (SUBACK 0x80)'));
        else w.resolve();
        return;
      }
      case PacketType.UNSUBACK: {
        const w = this.controlAcks.get(p.packetId);
        this.controlAcks.delete(p.packetId);
        w?.resolve();
        return;
      }
      case PacketType.PINGRESP:
        this.awaitingPingresp = false;
        return;
      case PacketType.CONNACK:
        throw new MqttError('a second CONNACK on one connection');
    }
  }

  private onPublish(topic: string, payload: Buffer, qos: number, packetId: number): void {
    if (qos === 2) throw new MqttError('QoS 2 PUBLISH received, but no subscription asked for QoS 2');
    if (qos === 1) this.write(encodePuback(packetId));
    const handler = this.handler;
    if (!handler) return;
    this.inFlight++;
    let finished = false;
    handler(topic, payload, () => {
      if (finished) return;
      finished = true;
      this.inFlight--;
      this.maybeResume();
    });
  }

  // --- writing ----------------------------------------------------------------------------

  private write(packet: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => this.uncork());
    }
    socket.write(packet);
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket?.uncork();
  }

  private sendSubscribe(filters: readonly string[], qos: QoS, waiter: Waiter): void {
    const id = this.allocateId();
    this.controlAcks.set(id, waiter);
    this.write(encodeSubscribe(id, filters, qos));
  }

  /** The next free packet id (1..65535), or 0 when all are taken. */
  private allocateId(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      this.nextId = this.nextId >= 65_535 ? 1 : this.nextId + 1;
      if (!this.unacked.has(this.nextId) && !this.controlAcks.has(this.nextId)) {
        return this.nextId;
      }
    }
    return 0;
  }
}

/** Parses and checks a broker URL, naming what is wrong. */
export function parseBrokerUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MqttError(`"${url}" is not a broker URL; expected mqtt://host:port (or mqtts:// for TLS)`, {
      permanent: true,
    });
  }
  if (!(u.protocol in DEFAULT_PORTS)) {
    throw new MqttError(
      `broker URL "${url}": scheme ${u.protocol} is not supported here; use mqtt:// or tcp:// (plain) or mqtts:// or ssl:// (TLS)`,
      { permanent: true },
    );
  }
  if (!u.hostname) throw new MqttError(`broker URL "${url}" has no host`, { permanent: true });
  return u;
}
