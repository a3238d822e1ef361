/**
 * The MQTT clients the conformance suite (mqtt-conformance.test.ts) runs against, behind one small
 * interface: the sdk's MqttConnection (edgecore's) and mqtt.js (the mappers' and apps'), each
 * configured as its user configures it (clean session, QoS 1, automatic reconnect).
 */
import { connectAsync } from 'mqtt';
import { MqttConnection } from '@edgetwin/sdk/mqtt';
import { LEAN_MQTT_OPTIONS } from '../../bench/lean-mqtt.js';

export interface ClientUnderTest {
  /** QoS 1; resolves at the PUBACK, rejects if the client gives the message up. */
  publish(topic: string, payload: string): Promise<void>;
  subscribe(filter: string): Promise<void>;
  /** Payloads received, in order. */
  readonly received: string[];
  /** Connections made after the first. */
  readonly reconnects: number;
  end(): Promise<void>;
}

export interface ClientOptions {
  /** How long messages may wait without a PUBACK before the connection is replaced (if the client can tell). */
  ackTimeoutMs: number;
}

export interface ClientKind {
  name: string;
  connect(url: string, opts: ClientOptions): Promise<ClientUnderTest>;
}

const clientId = (name: string) => `conformance-${name}-${Math.random().toString(36).slice(2, 8)}`;

export const sdkClient: ClientKind = {
  name: 'the sdk MqttConnection (edgecore)',
  async connect(url, opts) {
    const conn = new MqttConnection({
      url,
      clientId: clientId('sdk'),
      ackTimeoutMs: opts.ackTimeoutMs,
      reconnect: { initialMs: 100, maxMs: 400 },
    });
    const received: string[] = [];
    let reconnects = -1;
    conn.on('connect', () => reconnects++);
    conn.setMessageHandler((_topic, payload, done) => {
      received.push(payload.toString('utf8'));
      done();
    });
    await conn.open();
    return {
      publish: (topic, payload) => conn.publishAsync(topic, payload, 1),
      subscribe: (filter) => conn.subscribe([filter], 1),
      received,
      get reconnects() {
        return reconnects;
      },
      end: () => conn.end(100),
    };
  },
};

export const mqttJsClient: ClientKind = {
  name: 'mqtt.js',
  async connect(url) {
    const c = await connectAsync(url, {
      clientId: clientId('mqttjs'),
      reconnectPeriod: 200,
      ...LEAN_MQTT_OPTIONS,
    });
    const received: string[] = [];
    let reconnects = 0;
    c.on('connect', () => reconnects++);
    c.on('message', (_topic, payload) => received.push(payload.toString('utf8')));
    return {
      publish: async (topic, payload) => {
        await c.publishAsync(topic, payload, { qos: 1 });
      },
      subscribe: async (filter) => {
        await c.subscribeAsync(filter, { qos: 1 });
      },
      received,
      get reconnects() {
        return reconnects;
      },
      end: () => c.endAsync(true),
    };
  },
};
