/**
 * `runMapper`: the composition root of a mapper process. It connects to the broker, learns this
 * node's devices of the mapper's protocol from the retained spec topic, runs one DeviceWorker per
 * valid device, routes deltas to them and applies spec changes live. `stop()` undoes all of it.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { pino, type Level, type Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { HwMsgTwin } from '../hw/messages.js';
import { hwTopics, parseDeviceId, specTopics } from '../hw/topics.js';
import type { BackoffOptions } from '../util/backoff.js';
import { systemClock, type Clock } from '../util/clock.js';
import { BrokerLink } from './broker-link.js';
import { toMapperDevice } from './device-config.js';
import { DeviceWorker } from './device-worker.js';
import { HwClient, normalizeId, type DeviceState } from './hw-client.js';
import { SpecRegistry, type SpecEvent } from './spec-registry.js';
import type { MapperContext, MapperDefinition, MapperDriver } from './types.js';

export interface RunMapperOptions {
  /** Edge broker, e.g. `mqtt://127.0.0.1:1883`. */
  mqttUrl: string;
  /** Broker credentials (edgecore creates one identity per mapper). */
  mqttUsername?: string;
  mqttPassword?: string;
  /** PEM CA of an `mqtts://` broker. */
  mqttCa?: string;
  /** The node whose devices this mapper serves. */
  nodeName: string;
  /** Directory for driver state; created if missing. Default: `$TMPDIR/edgetwin-mapper-{protocol}`. */
  dataDir?: string;
  /** Level of the logger created when `logger` is not given (default `info`). */
  logLevel?: Level;
  logger?: Logger;
  clock?: Clock;
  /** MQTT client id (default: `edgetwin-mapper-{protocol}-{node}-{random}`). */
  clientId?: string;
  /** Device reconnect backoff (default 500 ms doubling up to 30 s, 20 % jitter). */
  backoff?: BackoffOptions;
  /** Broker reconnect backoff (default 500 ms doubling up to 10 s). */
  brokerBackoff?: BackoffOptions;
  /** Timeout of each driver call: connect, read, write, subscribe, close (default 10 000 ms). */
  callTimeoutMs?: number;
  /** How long to wait for edgecore's `$hw` results (default 5000 ms). */
  resultTimeoutMs?: number;
}

export interface MapperDeviceStatus {
  /** `{namespace}/{name}` */
  id: string;
  /** `invalid`: the spec or configData was rejected; `starting`: not connected yet. */
  state: DeviceState | 'starting' | 'invalid';
  /** The last problem, e.g. the configData error or the last failed read. */
  error?: string;
}

export interface MapperHandle {
  readonly protocol: string;
  readonly nodeName: string;
  /** True while the broker link is up. */
  connected(): boolean;
  /** The devices this mapper serves or rejected, with their state and last problem. */
  devices(): MapperDeviceStatus[];
  /** Stops every device worker, the driver and the broker link; clears every timer. */
  stop(): Promise<void>;
}

export async function runMapper<PS extends TSchema, VS extends TSchema>(
  definition: MapperDefinition<PS, VS>,
  options: RunMapperOptions,
): Promise<MapperHandle> {
  const { protocol } = definition;
  const { nodeName } = options;
  const root = options.logger ?? pino({ name: `mapper-${protocol}`, level: options.logLevel ?? 'info' });
  const log = root.child({ module: 'mapper' });
  const clock = options.clock ?? systemClock;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const dataDir = options.dataDir ?? join(tmpdir(), `edgetwin-mapper-${protocol}`);
  mkdirSync(dataDir, { recursive: true });

  const link = new BrokerLink({
    url: options.mqttUrl,
    logger: root.child({ module: 'broker-link' }),
    ...(options.mqttUsername === undefined ? {} : { username: options.mqttUsername }),
    ...(options.mqttPassword === undefined ? {} : { password: options.mqttPassword }),
    ...(options.mqttCa === undefined ? {} : { ca: options.mqttCa }),
    clientId: options.clientId ?? `edgetwin-mapper-${protocol}-${nodeName}-${Math.random().toString(16).slice(2, 8)}`,
    ...(options.brokerBackoff ? { backoff: options.brokerBackoff } : {}),
  });
  const hw = new HwClient({
    link,
    nodeName,
    logger: log,
    ...(options.resultTimeoutMs === undefined ? {} : { resultTimeoutMs: options.resultTimeoutMs }),
  });
  const ctx: MapperContext = {
    nodeName,
    dataDir,
    logger: root.child({ module: `driver-${protocol}` }),
    clock,
    mqtt: link,
  };
  const driver = definition.createDriver(ctx) as MapperDriver<unknown, unknown>;
  const workers = new Map<string, DeviceWorker>();
  const rejected = new Map<string, string>();
  const ops = new Map<string, Promise<void>>();
  let stopped = false;

  /** Runs spec changes of one device in order, so an old session is closed before a new one opens. */
  const serial = (id: string, fn: () => Promise<void>): void => {
    const next = (ops.get(id) ?? Promise.resolve())
      .then(fn)
      .catch((err) =>
        log.error({ device: id, err: errorMessage(err) }, `updating device ${id} failed: ${errorMessage(err)}`),
      );
    ops.set(id, next);
  };

  const onSpec = (e: SpecEvent): void =>
    serial(e.id, async () => {
      const old = workers.get(e.id);
      workers.delete(e.id);
      rejected.delete(e.id);
      if (old) {
        log.info(
          { device: e.id },
          e.kind === 'upsert' ? `spec of ${e.id} changed; restarting it` : `device ${e.id} removed`,
        );
        await old.stop({ flush: e.kind === 'upsert' });
      }
      if (stopped) return;
      if (e.kind === 'invalid') {
        reject(e.id, e.error.message);
        return;
      }
      if (e.kind === 'remove') return;
      let device;
      try {
        device = toMapperDevice(definition, e.spec);
      } catch (err) {
        log.error({ device: e.id, err: errorMessage(err) }, `device ${e.id} is not served: ${errorMessage(err)}`);
        reject(e.id, errorMessage(err));
        return;
      }
      const worker = new DeviceWorker({
        device,
        driver,
        hw,
        clock,
        logger: log,
        callTimeoutMs,
        ...(options.backoff ? { backoff: options.backoff } : {}),
      });
      workers.set(e.id, worker);
      log.info({ device: e.id, properties: device.properties.length }, `serving device ${e.id}`);
      worker.start();
    });

  const reject = (id: string, message: string): void => {
    rejected.set(id, message);
    hw.publishState(parseDeviceId(id), 'unhealthy').catch((err) =>
      log.debug({ device: id, err: errorMessage(err) }, `state of ${id} not sent: ${errorMessage(err)}`),
    );
  };

  const registry = new SpecRegistry(protocol, nodeName, onSpec, log);

  const onDelta = (topic: string, payload: Buffer): void => {
    const parts = topic.split('/');
    const id = `${parts[3]}/${parts[4]}`;
    const worker = workers.get(id);
    if (!worker) return;
    try {
      const msg = JSON.parse(payload.toString('utf8')) as { delta?: unknown; twin?: unknown };
      const twin = typeof msg.twin === 'object' && msg.twin !== null ? (msg.twin as Record<string, HwMsgTwin>) : {};
      if (typeof msg.delta === 'object' && msg.delta !== null)
        worker.onDelta(msg.delta as Record<string, unknown>, twin);
    } catch (err) {
      log.warn({ device: id, topic }, `ignoring a delta on ${topic} that is not JSON: ${errorMessage(err)}`);
    }
  };

  const onMembership = (_topic: string, payload: Buffer): void => {
    try {
      const msg = JSON.parse(payload.toString('utf8')) as { added_devices?: unknown; removed_devices?: unknown };
      for (const id of idsOf(msg.removed_devices)) registry.exclude(id);
      for (const id of idsOf(msg.added_devices)) registry.include(id);
    } catch (err) {
      log.warn(`ignoring a membership update that is not JSON: ${errorMessage(err)}`);
    }
  };

  const crossCheck = async (): Promise<void> => {
    try {
      const members = new Set(await hw.membership());
      for (const id of registry.ids()) {
        if (!members.has(id))
          log.warn(
            { device: id },
            `device ${id} has a spec but edgecore does not list it as a member of node ${nodeName}`,
          );
      }
    } catch (err) {
      log.debug({ err: errorMessage(err) }, `membership check skipped: ${errorMessage(err)}`);
    }
  };

  const unsubscribers = [
    await link.subscribe(specTopics.filter(nodeName), (t, p) => registry.handle(t, p)),
    await link.subscribe(hwTopics.deltaFilter, onDelta),
    await link.subscribe(hwTopics.membershipUpdated(nodeName), onMembership),
  ];
  await hw.start();
  link.onConnect(() => {
    for (const w of workers.values()) w.onBrokerConnected();
    for (const [id, message] of rejected) reject(id, message);
    void crossCheck();
  });
  link.start();
  log.info({ protocol, node: nodeName, mqttUrl: options.mqttUrl }, `mapper ${protocol} started for node ${nodeName}`);

  return {
    protocol,
    nodeName,
    connected: () => link.connected,
    devices: () => [
      ...[...workers.values()].map((w) => w.status()),
      ...[...rejected].map(([id, error]) => ({ id, state: 'invalid' as const, error })),
    ],
    async stop() {
      if (stopped) return;
      stopped = true;
      hw.beginClosing();
      await Promise.all(unsubscribers.map((u) => u().catch(() => undefined)));
      await Promise.all(ops.values());
      await Promise.all([...workers.values()].map((w) => w.stop({ publishOffline: true })));
      workers.clear();
      await hw.stop();
      try {
        await driver.stop();
      } catch (err) {
        log.warn({ err: errorMessage(err) }, `stopping the ${protocol} driver failed: ${errorMessage(err)}`);
      }
      await link.stop();
      log.info(`mapper ${protocol} stopped`);
    },
  };
}

function idsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((d: unknown) => {
    const o = d as { id?: unknown; name?: unknown } | string;
    const id = typeof o === 'string' ? o : (o?.id ?? o?.name);
    return typeof id === 'string' ? [normalizeId(id)] : [];
  });
}
