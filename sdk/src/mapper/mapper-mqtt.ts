/**
 * `ctx.mqtt` for drivers with topics of their own (the ZigBee mapper's permit-join requests): the
 * project's MQTT client (`src/mqtt`), connected on the first publish or subscribe, so a mapper
 * whose driver never uses MQTT opens no broker connection. Specs, desired values and reports never
 * travel here: they go over DMI.
 */
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage } from '../errors.js';
import type { MqttConnection } from '../mqtt/connection.js';
import { topicMatches } from './topic-filter.js';
import type { MapperMqtt } from './types.js';

export interface LazyMqttOptions {
  url: string | undefined;
  clientId: string;
  username?: string;
  password?: string;
  ca?: string;
  logger: Logger;
}

export class LazyMqtt implements MapperMqtt {
  private connection: Promise<MqttConnection> | undefined;
  /** The connection being opened or open: stop() ends it even while it still waits for the broker. */
  private current: MqttConnection | undefined;
  private readonly handlers = new Set<{ filter: string; handler: (topic: string, payload: Buffer) => void }>();
  private stopped = false;

  constructor(private readonly opts: LazyMqttOptions) {}

  private connect(): Promise<MqttConnection> {
    if (this.stopped) return Promise.reject(new EdgeTwinError('ET_ABORTED', 'the mapper is stopping'));
    if (!this.opts.url)
      return Promise.reject(
        new EdgeTwinError('ET_UNAVAILABLE', 'this driver needs MQTT but the mapper has no --mqtt-url'),
      );
    this.connection ??= (async () => {
      const { MqttConnection } = await import('../mqtt/connection.js');
      const conn = new MqttConnection({
        url: this.opts.url!,
        clientId: this.opts.clientId,
        waitForBroker: true,
        ...(this.opts.username === undefined ? {} : { username: this.opts.username }),
        ...(this.opts.password === undefined ? {} : { password: this.opts.password }),
        ...(this.opts.ca === undefined ? {} : { tls: { ca: this.opts.ca } }),
      });
      this.current = conn;
      conn.on('offline', (err, retryInMs) =>
        this.opts.logger.warn(
          { err: errorMessage(err), retryInMs },
          "the driver's MQTT connection was lost; reconnecting",
        ),
      );
      conn.setMessageHandler((topic, payload, done) => {
        for (const h of this.handlers) if (topicMatches(h.filter, topic)) h.handler(topic, payload);
        done();
      });
      await conn.open();
      return conn;
    })();
    return this.connection;
  }

  async publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    const conn = await this.connect();
    await conn.publishAsync(topic, payload, opts.qos ?? 0, opts.retain ?? false);
  }

  async subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>> {
    const conn = await this.connect();
    const entry = { filter, handler };
    this.handlers.add(entry);
    await conn.subscribe([filter], 1);
    return async () => {
      this.handlers.delete(entry);
      if (![...this.handlers].some((h) => h.filter === filter)) await conn.unsubscribe([filter]).catch(() => undefined);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Not awaiting `connection`: with no broker it waits forever (waitForBroker); ending stops that wait.
    const conn = this.current;
    this.current = undefined;
    this.connection?.catch(() => undefined);
    this.connection = undefined;
    await conn?.end();
  }
}
