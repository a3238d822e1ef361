/**
 * Serves the device twin on the edge broker through an MqttConnection: KubeEdge's `$hw` twin
 * protocol and the data topics for edge apps. Works with any MQTT 3.1.1/5 broker (the embedded
 * aedes, Mosquitto). Mappers get their device specs over DMI, not MQTT: the retained spec topics
 * (`edgetwin/v1/nodes/{node}/devices/{ns}/{name}`) that versions before DMI published are cleared
 * wherever they are found on this node, so device endpoints no longer sit on the broker.
 *
 * Back-pressure is the connection's: a request counts as in flight from its arrival until its
 * answer is published (commit included), is acknowledged to the broker only then, and the
 * connection stops handing requests at its `maxInFlight` or while its outgoing window is full.
 * Publishes are never dropped for a full window; they wait for a place in it.
 */
import type { Logger } from 'pino';
import {
  VALUE_LIMITS,
  errorMessage,
  hwTopics,
  newEventId,
  parseHwRequestTopic,
  specTopics,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import { type MqttConnection } from '@edgetwin/sdk/mqtt';
import { systemClock, type Clock } from '@edgetwin/sdk/util';
import type { TwinService } from '../engine/twin-service.js';
import type { Counter, Histogram, MetricsRegistry } from '../metrics.js';
import type { MembershipChange, TwinChangeEvent } from '../types.js';
import { DataTopics } from './data-topics.js';
import { HwRequests } from './hw-requests.js';
import { deltaOf, documentOf, membershipDevice } from './hw-payloads.js';
import { Publisher } from './publisher.js';

export interface TwinMqttHandlerOptions {
  twin: TwinService;
  /** Subscribes and receives requests. */
  client: MqttConnection;
  /**
   * Publishes answers, events and values (default: `client`). A second connection, made with
   * `outgoing: publisher` on `client`, keeps a full window's PUBACKs from waiting behind requests.
   */
  publisher?: MqttConnection;
  nodeName: string;
  /** Base of the data topics (default `devices`). */
  dataTopicBase?: string;
  logger: Logger;
  /** Defaults to the twin's registry. */
  metrics?: MetricsRegistry;
  clock?: Clock;
  /** QoS of data topic values when the property's pushMethod.mqtt says none (default 1). */
  dataQos?: 0 | 1;
  /** Largest `$hw` request or `/set` payload answered normally (default VALUE_LIMITS.maxPayloadBytes, 256 KiB); larger ones get code 413. */
  maxPayloadBytes?: number;
}

export class TwinMqttHandler {
  private readonly twin: TwinService;
  private readonly client: MqttConnection;
  private readonly publisher: MqttConnection;
  private readonly nodeName: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly pub: Publisher;
  private readonly hw: HwRequests;
  private readonly data: DataTopics;
  private readonly filters: string[];
  private readonly messages: Counter;
  private readonly errors: Counter;
  private readonly latency: Histogram;
  private pendingEvents: TwinChangeEvent[] = [];
  private eventTimer: NodeJS.Immediate | undefined;
  /** Added devices whose retained state is still to be published (see announceStates). */
  private statesToAnnounce: string[] = [];
  private announceTimer: NodeJS.Immediate | undefined;
  private running = false;

  constructor(opts: TwinMqttHandlerOptions) {
    this.twin = opts.twin;
    this.client = opts.client;
    this.publisher = opts.publisher ?? opts.client;
    this.nodeName = opts.nodeName;
    this.log = opts.logger.child({ module: 'twin-mqtt' });
    this.clock = opts.clock ?? systemClock;
    const metrics = opts.metrics ?? opts.twin.metrics;
    this.messages = metrics.counter('edgetwin_mqtt_messages_total', 'Requests received on the edge broker, by kind.');
    this.errors = metrics.counter('edgetwin_mqtt_request_errors_total', 'Requests answered with an error, by kind.');
    this.latency = metrics.histogram(
      'edgetwin_mqtt_request_seconds',
      'Time from receiving a $hw request to publishing its answer (commit included).',
    );
    this.pub = new Publisher(this.publisher, this.log, metrics);
    metrics.gauge(
      'edgetwin_mqtt_requests_in_flight',
      'MQTT requests received and not answered yet.',
      () => this.client.inFlightCount,
    );
    metrics.gauge(
      'edgetwin_mqtt_unacked_publishes',
      'QoS 1 publishes the broker has not acknowledged yet (in the outgoing window or waiting for a place in it).',
      () => this.pub.unacked,
    );
    metrics.gauge(
      'edgetwin_mqtt_publishes_queued',
      'QoS 1 publishes waiting for a place in the outgoing window.',
      () => this.publisher.queuedCount,
    );
    metrics.gauge(
      'edgetwin_mqtt_requests_held',
      'Requests read from the broker and held until the twin takes more (back-pressure).',
      () => this.client.heldCount,
    );
    const now = () => this.clock.now();
    const onError = (kind: string) => this.errors.inc({ kind });
    const maxBytes = opts.maxPayloadBytes ?? VALUE_LIMITS.maxPayloadBytes;
    this.hw = new HwRequests(this.twin, this.pub, this.log, now, onError, maxBytes);
    this.data = new DataTopics(
      this.twin,
      this.pub,
      opts.dataTopicBase ?? 'devices',
      now,
      onError,
      opts.dataQos ?? 1,
      maxBytes,
    );
    this.filters = [
      ...hwTopics.requestFilters.filter((f) => !f.includes('/membership/')),
      hwTopics.membershipGet(this.nodeName),
      this.data.topics.setFilter,
      specTopics.filter(this.nodeName),
    ];
  }

  /** Subscribes, then publishes the data and state of every device (retained) and pending deltas. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.client.setMessageHandler(this.onMessage);
    this.twin.on('change', this.onChange);
    this.twin.on('membership', this.onMembership);
    try {
      await this.client.subscribe(this.filters, 1);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.publishEverything();
    this.client.on('connect', this.onReconnect);
    this.log.info(
      { filters: this.filters.length, devices: this.twin.listDevices().length },
      'twin MQTT handler started',
    );
  }

  /**
   * Data values and states (retained) and pending deltas of every device: at start, and after
   * every reconnect, because a broker restarted without persistence has lost its retained messages.
   */
  private publishEverything(): void {
    const now = this.clock.now();
    for (const dev of this.twin.listDevices()) {
      const snap = this.twin.getTwin(dev.id);
      if (!snap) continue;
      this.data.publishAll(dev, snap);
      // Desired values set while nobody was listening still reach the mapper.
      if (Object.keys(snap.delta).length > 0) this.pub.publish(hwTopics.twinUpdateDelta(dev), deltaOf(dev, snap, now));
    }
  }

  private readonly onReconnect = (): void => {
    if (!this.running) return;
    this.log.info(
      { devices: this.twin.listDevices().length },
      'broker reconnected: publishing values and states again',
    );
    this.publishEverything();
  };

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.client.setMessageHandler(undefined);
    this.client.off('connect', this.onReconnect);
    this.twin.off('change', this.onChange);
    this.twin.off('membership', this.onMembership);
    if (this.eventTimer) clearImmediate(this.eventTimer);
    this.eventTimer = undefined;
    if (this.announceTimer) clearImmediate(this.announceTimer);
    this.announceTimer = undefined;
    this.statesToAnnounce = [];
    this.publishEvents();
    if (this.client.connected) {
      try {
        await this.client.unsubscribe(this.filters);
      } catch (err) {
        this.log.debug({ err: errorMessage(err) }, 'unsubscribe failed while stopping');
      }
    }
  }

  private readonly onMessage = (topic: string, payload: Buffer, done: () => void): void => {
    const req = parseHwRequestTopic(topic);
    if (req) {
      this.messages.inc({ kind: req.kind });
      const started = performance.now();
      const answered = () => {
        this.latency.observe((performance.now() - started) / 1000);
        done();
      };
      this.hw.handle(req, topic, payload).then(answered, answered);
      return;
    }
    const spec = specTopics.parse(topic);
    if (spec) {
      // A retained spec left by a version before DMI: clear it (it names the device's endpoint).
      if (payload.length > 0 && spec.node === this.nodeName) {
        this.pub.publish(topic, '', { retain: true });
      }
      done();
      return;
    }
    if (!this.data.topics.parseSet(topic)) {
      done(); // someone else's subscription on a shared connection
      return;
    }
    this.messages.inc({ kind: 'set' });
    this.data
      .handleSet(topic, payload)
      .catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'set failed'))
      .finally(done);
  };

  /** Change events are published after the current tick, so request results go out first. */
  private readonly onChange = (ev: TwinChangeEvent): void => {
    this.pendingEvents.push(ev);
    this.eventTimer ??= setImmediate(() => {
      this.eventTimer = undefined;
      this.publishEvents();
    });
  };

  private publishEvents(): void {
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (const ev of events) {
      const dev = this.twin.getDevice(ev.id);
      if (!dev) continue;
      const now = this.clock.now();
      if (ev.kind === 'state') {
        this.data.publishState(dev, ev.snapshot);
        continue;
      }
      for (const p of ev.writes ?? []) this.data.publishWrite(dev, p, ev.snapshot);
      if (ev.kind === 'write') continue;
      this.pub.publish(hwTopics.twinUpdateDocument(dev), documentOf(dev, ev, now));
      const deltaKeys = Object.keys(ev.snapshot.delta);
      const deltaTouched = ev.kind === 'desired' || ev.changed.some((p) => deltaKeys.includes(p));
      if (deltaKeys.length > 0 && deltaTouched) {
        this.pub.publish(hwTopics.twinUpdateDelta(dev), deltaOf(dev, ev.snapshot, now, ev.cause));
      }
      if (ev.kind === 'reported') {
        for (const p of ev.changed) {
          const e = ev.snapshot.reported[p];
          if (e) this.data.publishReported(dev, p, e);
        }
      }
    }
  }

  private readonly onMembership = (c: MembershipChange): void => {
    const now = this.clock.now();
    const added = c.added.map((id) => this.twin.getDevice(id)).filter((d): d is ResolvedDevice => d !== undefined);
    const updated = c.updated.map((id) => this.twin.getDevice(id)).filter((d): d is ResolvedDevice => d !== undefined);
    for (const id of c.removed) {
      const ref = { namespace: id.slice(0, id.indexOf('/')), name: id.slice(id.indexOf('/') + 1) };
      this.pub.publish(this.data.topics.state(ref), '', { retain: true });
    }
    this.pub.publish(hwTopics.membershipUpdated(this.nodeName), {
      event_id: newEventId(),
      timestamp: now,
      added_devices: added.map((d) => membershipDevice(d, this.twin.getTwin(d.id))),
      removed_devices: c.removed.map((id) => ({ id, name: id.slice(id.indexOf('/') + 1) })),
      updated_devices: updated.map((d) => membershipDevice(d, this.twin.getTwin(d.id))),
    });
    this.announceStates(added.map((d) => d.id));
  };

  /**
   * The retained states of added devices, `STATES_PER_TURN` per turn of the event loop. At
   * start-up 1,000 devices are added at once: published in one go, their states went out ahead of
   * the answers to requests already waiting (the first `twin/get` answer came about 70 ms later,
   * `npm run bench:startup`). A slice per turn lets requests read meanwhile be answered between
   * slices. Each slice publishes the state current at that moment.
   */
  private announceStates(ids: string[]): void {
    for (const id of ids) this.statesToAnnounce.push(id);
    this.announceTimer ??= setImmediate(this.announceSlice);
  }

  private readonly announceSlice = (): void => {
    this.announceTimer = undefined;
    for (const id of this.statesToAnnounce.splice(0, STATES_PER_TURN)) {
      const dev = this.twin.getDevice(id);
      const snap = dev && this.twin.getTwin(id);
      if (dev && snap) this.data.publishState(dev, snap);
    }
    if (this.statesToAnnounce.length > 0) this.announceTimer = setImmediate(this.announceSlice);
  };
}

/** Retained states of added devices published per turn of the event loop (see announceStates). */
const STATES_PER_TURN = 100;
