/** Publishing on the edge broker, counting what went out and what failed. */
import type { MqttConnection } from '@edgetwin/sdk/mqtt';
import type { Logger } from 'pino';
import type { MetricsRegistry, Counter } from '../metrics.js';

export interface PublishOptions {
  /** QoS 2 (allowed in a property's pushMethod.mqtt) is sent as QoS 1: at least once. */
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export class Publisher {
  private readonly published: Counter;
  private readonly failed: Counter;
  constructor(
    private readonly client: MqttConnection,
    private readonly log: Logger,
    metrics: MetricsRegistry,
  ) {
    this.published = metrics.counter(
      'edgetwin_mqtt_published_total',
      'Messages the twin published on the edge broker.',
    );
    this.failed = metrics.counter('edgetwin_mqtt_publish_errors_total', 'Publishes the broker did not accept.');
  }

  /** QoS 1 publishes the broker has not acknowledged yet. */
  get unacked(): number {
    return this.client.unackedCount;
  }

  /** Fire-and-forget: failures are logged and counted, never thrown. */
  publish(topic: string, payload: unknown, opts: PublishOptions = {}): void {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    this.published.inc();
    const qos = opts.qos === 0 ? 0 : 1;
    this.client.publish(topic, body, qos, opts.retain ?? false, qos === 0 ? undefined : this.onPublished);
  }

  /** One callback for every QoS 1 publish (no closure per message). */
  private readonly onPublished = (err?: Error): void => {
    if (!err) return;
    this.failed.inc();
    this.log.warn({ err: err.message }, 'publish failed');
  };
}
