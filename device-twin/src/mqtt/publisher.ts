/** Publishing on the edge broker through an mqtt.js client, counting what went out and what failed. */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MetricsRegistry, Counter } from '../metrics.js';

export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export class Publisher {
  private readonly published: Counter;
  private readonly failed: Counter;
  /** QoS 1/2 publishes the broker has not acknowledged yet. */
  unacked = 0;
  constructor(
    private readonly client: MqttClient,
    private readonly log: Logger,
    metrics: MetricsRegistry,
  ) {
    this.published = metrics.counter(
      'edgetwin_mqtt_published_total',
      'Messages the twin published on the edge broker.',
    );
    this.failed = metrics.counter('edgetwin_mqtt_publish_errors_total', 'Publishes the broker did not accept.');
  }

  /** Fire-and-forget: failures are logged and counted, never thrown. */
  publish(topic: string, payload: unknown, opts: PublishOptions = {}): void {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    this.published.inc();
    const qos = opts.qos ?? 1;
    const retain = opts.retain ?? false;
    if (qos === 0) {
      // No callback: mqtt.js would park one 'drain' listener per QoS 0 message on a full socket,
      // and the only error it can report for QoS 0 is "client disconnecting".
      this.client.publish(topic, body, { qos, retain });
      return;
    }
    this.unacked++;
    this.client.publish(topic, body, { qos, retain }, (err) => {
      this.unacked--;
      if (err) {
        this.failed.inc();
        this.log.warn({ topic, err: err.message }, 'publish failed');
      }
    });
  }

  /** Resolves when the broker acknowledged (QoS 1) the message. */
  publishAsync(topic: string, payload: unknown, opts: PublishOptions = {}): Promise<void> {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    this.published.inc();
    return this.client.publishAsync(topic, body, { qos: opts.qos ?? 1, retain: opts.retain ?? false }).then(
      () => undefined,
      (err: Error) => {
        this.failed.inc();
        throw err;
      },
    );
  }
}
