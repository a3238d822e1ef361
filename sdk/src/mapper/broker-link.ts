/**
 * The mapper's connection to the edge MQTT broker (mqtt.js). Reconnects with exponential backoff,
 * re-subscribes every filter after each reconnect (so retained specs arrive again), and dispatches
 * messages to handlers by filter. Publishing while disconnected fails fast with ET_UNAVAILABLE
 * instead of queueing stale messages.
 */
import { createRequire } from 'node:module';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage } from '../errors.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';
import { withDeadline } from '../util/deadline.js';
import { LEAN_MQTT_OPTIONS, disableMqttPacketIdCache } from '../mqtt/mqtt-packet-memory.js';
import type { MapperMqtt } from './types.js';
import { topicMatches } from './topic-filter.js';

export interface BrokerLinkOptions {
  url: string;
  logger: Logger;
  clientId?: string;
  username?: string;
  password?: string;
  /** PEM CA for an mqtts:// broker. */
  ca?: string;
  backoff?: BackoffOptions;
  /** Connect (CONNACK) timeout, default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Timeout of one publish (PUBACK for QoS 1), default 5000 ms. */
  publishTimeoutMs?: number;
}

type Handler = (topic: string, payload: Buffer) => void;

export class BrokerLink implements MapperMqtt {
  private client: MqttClient | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly connectListeners = new Set<() => void>();
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: BrokerLinkOptions) {
    this.backoff = new Backoff({ initialMs: 500, maxMs: 10_000, ...opts.backoff });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    disableMqttPacketIdCache();
    const client = loadMqtt().connect(this.opts.url, {
      reconnectPeriod: 0, // we reconnect ourselves, with backoff
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      clean: true,
      resubscribe: false,
      ...LEAN_MQTT_OPTIONS,
      ...(this.opts.clientId === undefined ? {} : { clientId: this.opts.clientId }),
      ...(this.opts.username === undefined ? {} : { username: this.opts.username }),
      ...(this.opts.password === undefined ? {} : { password: this.opts.password }),
      ...(this.opts.ca === undefined ? {} : { ca: this.opts.ca }),
    });
    this.client = client;
    client.on('connect', () => {
      this.backoff.reset();
      // Reports are small and latency matters (a `wait=reported` caller is waiting): no Nagle delay.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.opts.logger.info({ url: this.opts.url }, `connected to the MQTT broker at ${this.opts.url}`);
      const filters = [...this.handlers.keys()];
      if (filters.length > 0) {
        client.subscribe(filters, { qos: 1 }, (err) => {
          if (err)
            this.opts.logger.error(
              { err: errorMessage(err) },
              `subscribing after connect failed: ${errorMessage(err)}`,
            );
        });
      }
      for (const l of this.connectListeners) l();
    });
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    client.on('error', (err) =>
      this.opts.logger.warn({ err: errorMessage(err) }, `MQTT broker link: ${errorMessage(err)}`),
    );
    client.on('close', () => this.scheduleReconnect());
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.opts.logger.warn(
      { url: this.opts.url, retryInMs: delay },
      `not connected to the MQTT broker at ${this.opts.url}; retrying in ${delay} ms`,
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.client?.reconnect();
    }, delay);
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const [filter, set] of this.handlers) {
      if (!topicMatches(filter, topic)) continue;
      for (const h of set) {
        try {
          h(topic, payload);
        } catch (err) {
          this.opts.logger.error(
            { topic, err: errorMessage(err) },
            `handling a message on ${topic} failed: ${errorMessage(err)}`,
          );
        }
      }
    }
  }

  /** Adds a handler for `filter`; the returned function removes it (and unsubscribes when it was the last). */
  async subscribe(filter: string, handler: Handler): Promise<() => Promise<void>> {
    let set = this.handlers.get(filter);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(filter, set);
    }
    set.add(handler);
    if (isNew && this.client?.connected) await this.client.subscribeAsync(filter, { qos: 1 });
    return async () => {
      const s = this.handlers.get(filter);
      if (!s?.delete(handler) || s.size > 0) return;
      this.handlers.delete(filter);
      if (this.client?.connected) await this.client.unsubscribeAsync(filter).catch(() => undefined);
    };
  }

  /** Publishes (QoS 1 by default) and resolves once the broker has it; ET_UNAVAILABLE when disconnected. */
  async publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    const client = this.client;
    if (!client?.connected || this.stopped) {
      throw new EdgeTwinError(
        'ET_UNAVAILABLE',
        `not connected to the MQTT broker at ${this.opts.url}; the message to ${topic} was not sent (it is retried when the link is back)`,
      );
    }
    const ms = this.opts.publishTimeoutMs ?? 5000;
    await withDeadline(
      client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }),
      ms,
      () =>
        new EdgeTwinError('ET_TIMEOUT', `the MQTT broker did not acknowledge a message to ${topic} within ${ms} ms`),
    );
  }

  /** Called after every (re)connect, once subscriptions were sent. Returns a remover. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.handlers.clear();
    this.connectListeners.clear();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const force = !client.connected;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.endAsync(force),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          client.end(true);
          resolve();
        }, 3000);
      }),
    ]);
    clearTimeout(timer);
  }
}

/**
 * mqtt.js is loaded when a mapper first connects, not when the sdk is imported: edgecore imports
 * the sdk but speaks MQTT through its own MqttConnection, and mqtt.js with its dependencies costs
 * about 1.5 MB of heap in every process that loads it.
 */
function loadMqtt(): typeof import('mqtt') {
  return createRequire(import.meta.url)('mqtt') as typeof import('mqtt');
}
