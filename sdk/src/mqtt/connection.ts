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
 * - A bounded outgoing window: at most `window` QoS 1 messages wait for their PUBACK; more wait
 *   in order for a place (never dropped, never failed for lack of a packet id), and the ids left
 *   free keep every reconnect able to subscribe again and re-send (session.ts).
 * - Liveness (liveness.ts): a PINGREQ every keepalive period, and PUBACK progress: no PINGRESP by
 *   the next ping, or messages waiting with no PUBACK for `ackTimeoutMs`, and the connection is
 *   replaced (and what it had not acknowledged re-sent).
 * - Back-pressure (inbound.ts): each received message is handed to the handler with a `done`
 *   callback, and acknowledged (PUBACK) only then. With `maxInFlight` messages not done, or
 *   publishes waiting for the window, or `maxBufferedBytes` waiting to be written, handing stops
 *   and the broker holds the backlog; PUBACKs are still read meanwhile.
 * - Packets written in the same tick leave in one write (the socket is corked until the next
 *   tick), so a burst of PUBACKs and results costs one system call.
 *
 * This file is the socket's life cycle and the reading/writing; what outlives a connection
 * (packet ids, the window, subscriptions) is `MqttSession` (session.ts), the broker URL is parsed
 * once by `parseBrokerUrl` (broker-url.ts), the bytes are codec.ts, the options and events are
 * options.ts.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { errorMessage } from '../errors.js';
import { Backoff } from '../util/backoff.js';
import { MqttError, parseBrokerUrl, type BrokerAddress } from './broker-url.js';
import {
  CONNACK_REASONS,
  DISCONNECT,
  PINGREQ,
  PacketReader,
  PacketType,
  encodeConnect,
  encodePuback,
  encodePublish,
  type IncomingPacket,
  type QoS,
} from './codec.js';
import { Inbound, type MessageHandler } from './inbound.js';
import { Liveness } from './liveness.js';
import { MqttSession, type PublishCallback, type Waiter } from './session.js';
import type { MqttConnectionEvents, MqttConnectionOptions } from './options.js';

export type { QoS } from './codec.js';
export type { PublishCallback } from './session.js';
export type { MessageHandler } from './inbound.js';
export { MqttError, parseBrokerUrl, type BrokerAddress } from './broker-url.js';
export type { MqttConnectionEvents, MqttConnectionOptions } from './options.js';

/** Connects and resolves at the first CONNACK; rejects if that first attempt fails. */
export async function connectMqtt(opts: MqttConnectionOptions): Promise<MqttConnection> {
  const conn = new MqttConnection(opts);
  await conn.open();
  return conn;
}

export class MqttConnection extends EventEmitter<MqttConnectionEvents> {
  private readonly target: BrokerAddress;
  private readonly keepaliveMs: number;
  private readonly maxBuffered: number;
  private readonly backoff: Backoff;
  private socket: Socket | undefined;
  /** +1 per connection: a PUBACK for a message of an earlier connection is not sent. */
  private generation = 0;
  private readonly reader = new PacketReader();
  private isConnected = false;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectWaiter: Waiter | undefined;
  private readonly session: MqttSession;
  private readonly inbound: Inbound;
  private readonly liveness: Liveness;
  private socketPaused = false;
  private pumping = false;
  private pumpAgain = false;
  /** PUBACKs were read in this pump. */
  private acked = false;
  private corked = false;

  /** QoS 0 messages dropped because there was no connection. */
  droppedQos0 = 0;

  constructor(private readonly opts: MqttConnectionOptions) {
    super();
    this.target = parseBrokerUrl(opts.url);
    this.keepaliveMs = (opts.keepaliveSeconds ?? 30) * 1000;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.backoff = new Backoff({
      initialMs: opts.reconnect?.initialMs ?? 1000,
      maxMs: opts.reconnect?.maxMs ?? 30_000,
    });
    this.session = new MqttSession(opts.window ?? 1024);
    const maxInFlight = opts.maxInFlight ?? 256;
    this.inbound = new Inbound({
      maxInFlight,
      maxBufferedBytes: this.maxBuffered,
      maxHeld: opts.maxHeld ?? maxInFlight * 4,
      window: (opts.outgoing ?? this).window,
      readAhead: opts.outgoing === undefined,
      ackWhen: opts.ackWhen ?? 'done',
      outgoing: () => (opts.outgoing ?? this).outgoingLoad(),
      acknowledge: (packetId, generation) => {
        if (generation === this.generation && this.isConnected) this.write(encodePuback(packetId));
      },
      wake: () => this.pump(),
    });
    opts.outgoing?.on('acked', () => this.pump());
    this.liveness = new Liveness({
      keepaliveMs: this.keepaliveMs,
      ackTimeoutMs: opts.ackTimeoutMs ?? 20_000,
      unacked: () => this.session.unackedCount,
      sendPing: () => this.write(PINGREQ),
      fail: (err) => this.socket?.destroy(err),
    });
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** QoS 1 messages published and not acknowledged by the broker yet (in the window or waiting for it). */
  get unackedCount(): number {
    return this.session.unackedCount + this.session.queuedCount;
  }

  /** Places in the outgoing window (QoS 1 messages sent and not acknowledged at most). */
  get window(): number {
    return this.session.window;
  }

  /** How full the outgoing side is: publishes waiting for the window, in it, and bytes not written yet. */
  outgoingLoad(): { queued: number; unacked: number; writable: number } {
    return {
      queued: this.session.queuedCount,
      unacked: this.session.unackedCount,
      writable: this.socket?.writableLength ?? 0,
    };
  }

  /** QoS 1 messages waiting for a place in the outgoing window. */
  get queuedCount(): number {
    return this.session.queuedCount;
  }

  /** Received messages handed to the handler and not done yet. */
  get inFlightCount(): number {
    return this.inbound.inFlightCount;
  }

  /** Received messages read and held until handing resumes. */
  get heldCount(): number {
    return this.inbound.heldCount;
  }

  /** The largest queue depths so far: publishes waiting for the window, received messages held and in flight. */
  get peaks(): { queued: number; held: number; inFlight: number } {
    return { queued: this.session.peakQueued, held: this.inbound.peakHeld, inFlight: this.inbound.peakInFlight };
  }

  /** The broker URL without credentials, for logs. */
  get safeUrl(): string {
    return this.target.safeUrl;
  }

  /** The first connection: resolves at its CONNACK, rejects (and gives up) if it fails. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      this.dial();
    });
  }

  setMessageHandler(handler: MessageHandler | undefined): void {
    this.inbound.handler = handler;
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
    const packet = this.session.publish(topic, payload, retain, callback, this.isConnected);
    if (packet && this.isConnected) this.write(packet);
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
    return new Promise((resolve, reject) => {
      if (this.closing) reject(new MqttError('the MQTT connection is closed'));
      else if (this.isConnected) this.write(this.session.subscribe(filters, qos, { resolve, reject }));
      else this.session.subscribeLater(filters, qos, { resolve, reject });
    });
  }

  /** Drops filters; resolves at the UNSUBACK (at once without a connection: nothing to undo). */
  unsubscribe(filters: readonly string[]): Promise<void> {
    if (!this.isConnected || filters.length === 0) {
      this.session.unsubscribe(filters);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.write(this.session.unsubscribe(filters, { resolve, reject })!));
  }

  /**
   * Closes: waits up to `graceMs` for outstanding PUBACKs, sends DISCONNECT and ends the socket.
   * Publishes still unacknowledged then fail.
   */
  async end(graceMs = 2000): Promise<void> {
    if (this.closing) return;
    if (this.isConnected) await this.session.whenAcknowledged(graceMs);
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.liveness.stop();
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
    this.session.failAll(new MqttError('the MQTT connection was closed'));
    // An open() still waiting for the broker (waitForBroker) ends too.
    const first = this.connectWaiter;
    this.connectWaiter = undefined;
    first?.reject(new MqttError('the MQTT connection was closed before it connected'));
  }

  /** Resolves once every QoS 1 message published so far has its PUBACK, or after `timeoutMs`. */
  whenAcknowledged(timeoutMs: number): Promise<void> {
    return this.session.whenAcknowledged(timeoutMs);
  }

  // --- connection life cycle -------------------------------------------------------------

  private dial(): void {
    const { host, port, tls, servername } = this.target;
    const socket = tls
      ? tlsConnect({
          host,
          port,
          ...(servername ? { servername } : {}),
          ...(this.opts.tls?.ca ? { ca: this.opts.tls.ca } : {}),
          ...(this.opts.tls?.cert ? { cert: this.opts.tls.cert } : {}),
          ...(this.opts.tls?.key ? { key: this.opts.tls.key } : {}),
        })
      : netConnect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.socketPaused = false;
    this.generation++;
    this.reader.reset();
    const timeout = setTimeout(
      () => socket.destroy(new MqttError(`no CONNACK within ${this.opts.connectTimeoutMs ?? 5000} ms`)),
      this.opts.connectTimeoutMs ?? 5000,
    );
    let failure: Error | undefined;
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.write(
        encodeConnect({
          clientId: this.opts.clientId,
          keepaliveSeconds: Math.round(this.keepaliveMs / 1000),
          cleanSession: true,
          username: this.opts.username ?? this.target.username,
          password: this.opts.password ?? this.target.password,
        }),
      );
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk, timeout));
    socket.on('drain', () => this.pump());
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
        this.onConnack(first);
      }
    } catch (err) {
      socket.destroy(err instanceof Error ? err : new MqttError(errorMessage(err)));
      return;
    }
    this.pump();
  }

  private onConnack(p: IncomingPacket): void {
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
    this.liveness.start();
    // Restore the subscriptions, then re-send what was not acknowledged (DUP), in order.
    for (const packet of this.session.resume()) this.write(packet);
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
    this.liveness.stop();
    this.session.connectionLost();
    // Messages handed or held still complete (their PUBACKs are not sent: that connection is gone).
    if (this.closing) return;
    const permanent = err instanceof MqttError && err.permanent;
    if (!wasConnected && this.connectWaiter && (permanent || !this.opts.waitForBroker)) {
      // The very first attempt failed: the caller decides what to do.
      const first = this.connectWaiter;
      this.connectWaiter = undefined;
      this.closing = true;
      this.session.failAll(err);
      first.reject(
        new MqttError(`cannot connect to the MQTT broker at ${this.safeUrl}: ${err.message}`, {
          cause: err,
          permanent,
        }),
      );
      return;
    }
    const delay = this.backoff.next();
    this.emit('offline', err, delay);
    this.reconnectTimer = setTimeout(() => this.dial(), delay);
  }

  // --- reading ----------------------------------------------------------------------------

  /**
   * Hands held messages while the flow allows, reads packets while fewer than `maxHeld` are held,
   * and pauses or resumes the socket accordingly. Re-entered calls (a handler calling `done` at
   * once, a PUBACK freeing the window) run once more at the end instead of nesting.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const socket = this.socket;
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.inbound.flush();
        while (this.isConnected && this.inbound.canRead) {
          const p = this.reader.next();
          if (!p) break;
          this.handlePacket(p);
        }
      } while (this.pumpAgain);
    } catch (err) {
      socket?.destroy(err instanceof Error ? err : new MqttError(errorMessage(err)));
      return;
    } finally {
      this.pumping = false;
    }
    if (this.acked) {
      this.acked = false;
      this.emit('acked');
    }
    if (!socket || socket !== this.socket) return;
    if (!this.inbound.canRead) {
      if (!this.socketPaused) {
        this.socketPaused = true;
        socket.pause();
      }
    } else if (this.socketPaused) {
      this.socketPaused = false;
      socket.resume();
    }
  }

  private handlePacket(p: IncomingPacket): void {
    switch (p.type) {
      case PacketType.PUBLISH:
        if (p.qos === 2) throw new MqttError('QoS 2 PUBLISH received, but no subscription asked for QoS 2');
        return this.inbound.receive(p, this.generation);
      case PacketType.PUBACK: {
        this.liveness.progress();
        const admitted = this.session.puback(p.packetId, this.isConnected);
        if (admitted) for (const packet of admitted) this.write(packet);
        this.pumpAgain = true; // the window has room: handing may resume
        this.acked = true;
        return;
      }
      case PacketType.SUBACK:
        return this.session.controlAcknowledged(p.packetId, p.returnCodes.includes(0x80));
      case PacketType.UNSUBACK:
        return this.session.controlAcknowledged(p.packetId);
      case PacketType.PINGRESP:
        return this.liveness.pingresp();
      case PacketType.CONNACK:
        throw new MqttError('a second CONNACK on one connection');
    }
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
}
