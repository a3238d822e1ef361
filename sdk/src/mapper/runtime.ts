/**
 * `runMapper`: the composition root of a mapper process. It serves KubeEdge's DMI
 * DeviceMapperService on its own unix socket and registers with edgecore's DMI socket
 * (MapperRegister hands it this node's devices and models of its protocol), runs one DeviceWorker
 * per valid device, applies spec changes (RegisterDevice, UpdateDevice, RemoveDevice) live, passes
 * desired values (UpdateDevice) to the workers and reports twins and states over DMI. It registers
 * again, with backoff, after edgecore restarts. `stop()` undoes all of it.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { pino, type Level, type Logger } from 'pino';
import { fromPbDevice } from '../dmi/convert.js';
import type { PbDevice } from '../dmi/messages.js';
import { errorMessage } from '../errors.js';
import { parseDeviceId } from '../hw/topics.js';
import type { BackoffOptions } from '../util/backoff.js';
import { systemClock, type Clock } from '../util/clock.js';
import { collectGarbageNow } from '../util/heap.js';
import { toMapperDevice } from './device-config.js';
import { DeviceWorker, type DeviceState } from './device-worker.js';
import { DmiChannel } from './dmi-channel.js';
import { LazyMqtt } from './mapper-mqtt.js';
import type { MapperContext, MapperDefinition, MapperDriver } from './types.js';

export type { DeviceState };

export interface RunMapperOptions {
  /** edgecore's DMI socket (its DeviceManagerService), e.g. `<edgecore data dir>/dmi/dmi.sock`. */
  dmiSocket: string;
  /**
   * This mapper's own socket, where it serves DeviceMapperService (default
   * `<dataDir>/dmi-mapper.sock` when `dataDir` is given, else, or when that path is too long for a
   * socket, `$TMPDIR/edgetwin-mapper-{protocol}-{pid}.sock`).
   */
  mapperSocket?: string;
  /** Edge broker for drivers with topics of their own (`ctx.mqtt`), connected on first use. */
  mqttUrl?: string;
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
  /** MQTT client id of `ctx.mqtt` (default: `edgetwin-mapper-{protocol}-{node}-{random}`). */
  clientId?: string;
  /** Device reconnect backoff (default 500 ms doubling up to 30 s, 20 % jitter). */
  backoff?: BackoffOptions;
  /** Re-registration backoff after edgecore went away (default 500 ms doubling up to 10 s). */
  dmiBackoff?: BackoffOptions;
  /** Timeout of each driver call: connect, read, write, subscribe, close (default 10 000 ms). */
  callTimeoutMs?: number;
  /** Deadline of each DMI call to edgecore (default 5000 ms). */
  resultTimeoutMs?: number;
  /**
   * The DMI token edgecore made for this process (edgecore passes it in a 0600 file,
   * EDGETWIN_DMI_TOKEN_FILE). With it, the mapper sends it on its calls to edgecore and refuses
   * calls to its own socket without it; without it (started by hand) it takes any call, as before.
   */
  dmiToken?: string;
  /**
   * How long after its first registration with edgecore the mapper collects its start-up garbage
   * once (`collectGarbageNow`; default 5000 ms, 0: never). By then the protocol library is loaded
   * and the devices have arrived; what that left behind would otherwise stay in an idle mapper.
   */
  settleHeapAfterMs?: number;
}

/** Unix socket paths are limited to 107 bytes on Linux. */
const SOCKET_PATH_MAX = 100;

function defaultMapperSocket(dataDir: string | undefined, protocol: string): string {
  const inData = dataDir === undefined ? undefined : join(dataDir, 'dmi-mapper.sock');
  if (inData !== undefined && Buffer.byteLength(inData) <= SOCKET_PATH_MAX) return inData;
  // No data dir of its own (several mappers may share the default one), or a path too long.
  return join(tmpdir(), `edgetwin-mapper-${protocol}-${process.pid}.sock`);
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
  /** True while the mapper is registered with edgecore over DMI. */
  connected(): boolean;
  /** This mapper's DMI socket. */
  readonly mapperSocket: string;
  /** The devices this mapper serves or rejected, with their state and last problem. */
  devices(): MapperDeviceStatus[];
  /** Stops every device worker, the driver and the DMI channel; clears every timer. */
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

  const mapperSocket = options.mapperSocket ?? defaultMapperSocket(options.dataDir, protocol);
  const mqtt = new LazyMqtt({
    url: options.mqttUrl,
    logger: root.child({ module: 'driver-mqtt' }),
    clientId: options.clientId ?? `edgetwin-mapper-${protocol}-${nodeName}-${Math.random().toString(16).slice(2, 8)}`,
    ...(options.mqttUsername === undefined ? {} : { username: options.mqttUsername }),
    ...(options.mqttPassword === undefined ? {} : { password: options.mqttPassword }),
    ...(options.mqttCa === undefined ? {} : { ca: options.mqttCa }),
  });
  const ctx: MapperContext = {
    nodeName,
    dataDir,
    logger: root.child({ module: `driver-${protocol}` }),
    clock,
    mqtt,
  };
  const driver = definition.createDriver(ctx) as MapperDriver<unknown, unknown>;
  const workers = new Map<string, DeviceWorker>();
  const rejected = new Map<string, string>();
  const ops = new Map<string, Promise<void>>();
  let stopped = false;
  let settleHeap: NodeJS.Timeout | 'done' | undefined;
  const settleHeapAfterMs = options.settleHeapAfterMs ?? 5000;

  /** Runs spec changes of one device in order, so an old session is closed before a new one opens. */
  const serial = (id: string, fn: () => Promise<void>): void => {
    const next = (ops.get(id) ?? Promise.resolve())
      .then(fn)
      .catch((err) =>
        log.error({ device: id, err: errorMessage(err) }, `updating device ${id} failed: ${errorMessage(err)}`),
      );
    ops.set(id, next);
  };

  /** What each worker was started with (its spec without desired values), to tell spec changes from desired ones. */
  const specKeys = new Map<string, string>();

  const onDevice = (id: string, pb: PbDevice, model: Parameters<typeof fromPbDevice>[1]): void =>
    serial(id, async () => {
      if (stopped) return;
      let spec;
      try {
        spec = fromPbDevice(pb, model, nodeName);
      } catch (err) {
        log.error({ device: id, err: errorMessage(err) }, `device ${id} is not served: ${errorMessage(err)}`);
        await replace(id);
        reject(id, errorMessage(err));
        return;
      }
      const key = JSON.stringify([spec.device, spec.model]);
      const running = workers.get(id);
      if (running && specKeys.get(id) === key) {
        running.onDesired(spec.desired);
        return;
      }
      await replace(id, running ? `spec of ${id} changed; restarting it` : undefined);
      specKeys.set(id, key);
      if (stopped) return;
      const got = spec.device.spec.protocol?.protocolName;
      if (got !== protocol) {
        reject(id, `device ${id} has protocol ${JSON.stringify(got)}, not ${protocol}`);
        return;
      }
      let device;
      try {
        device = toMapperDevice(definition, spec);
      } catch (err) {
        log.error({ device: id, err: errorMessage(err) }, `device ${id} is not served: ${errorMessage(err)}`);
        reject(id, errorMessage(err));
        return;
      }
      const worker = new DeviceWorker({
        device,
        driver,
        channel: dmi,
        desired: spec.desired,
        clock,
        logger: log,
        callTimeoutMs,
        ...(options.backoff ? { backoff: options.backoff } : {}),
      });
      workers.set(id, worker);
      log.info({ device: id, properties: device.properties.length }, `serving device ${id}`);
      worker.start();
    });

  /** Stops the device's worker (a spec change flushes its last values; a removal does not). */
  const replace = async (id: string, why?: string): Promise<void> => {
    const old = workers.get(id);
    workers.delete(id);
    rejected.delete(id);
    specKeys.delete(id);
    if (!old) return;
    log.info({ device: id }, why ?? `device ${id} removed`);
    await old.stop({ flush: why !== undefined });
  };

  const reject = (id: string, message: string): void => {
    rejected.set(id, message);
    dmi
      .reportState(parseDeviceId(id), 'unhealthy')
      .catch((err: unknown) =>
        log.debug({ device: id, err: errorMessage(err) }, `state of ${id} not sent: ${errorMessage(err)}`),
      );
  };

  const pbDevices = new Map<string, PbDevice>();
  const dmi: DmiChannel = new DmiChannel({
    protocol,
    name: `edgetwin-mapper-${protocol}`,
    version: '0.1.0',
    dmiSocket: options.dmiSocket,
    mapperSocket,
    logger: root.child({ module: 'dmi' }),
    ...(options.dmiBackoff ? { backoff: options.dmiBackoff } : {}),
    ...(options.resultTimeoutMs === undefined ? {} : { callTimeoutMs: options.resultTimeoutMs }),
    ...(options.dmiToken === undefined ? {} : { token: options.dmiToken }),
    events: {
      device: (id, pb, model) => {
        pbDevices.set(id, pb);
        onDevice(id, pb, model);
      },
      remove: (id) => {
        pbDevices.delete(id);
        serial(id, async () => {
          await replace(id);
          try {
            driver.removed?.(id);
          } catch (err) {
            log.warn({ device: id, err: errorMessage(err) }, `the driver failed to forget ${id}: ${errorMessage(err)}`);
          }
        });
      },
      get: (id) => {
        const pb = pbDevices.get(id);
        if (!pb) return undefined;
        return { ...pb, status: { twins: workers.get(id)?.reportedTwins() ?? [] } };
      },
      registered: () => {
        for (const w of workers.values()) w.onEdgecoreConnected();
        for (const [id, message] of rejected) reject(id, message);
        if (settleHeap === undefined && settleHeapAfterMs > 0) {
          settleHeap = setTimeout(() => {
            settleHeap = 'done';
            collectGarbageNow();
            log.debug('collected the start-up garbage');
          }, settleHeapAfterMs).unref();
        }
      },
    },
  });
  await dmi.start();
  log.info(
    { protocol, node: nodeName, dmiSocket: options.dmiSocket, mapperSocket },
    `mapper ${protocol} started for node ${nodeName}`,
  );

  return {
    protocol,
    nodeName,
    mapperSocket,
    connected: () => dmi.connected,
    devices: () => [
      ...[...workers.values()].map((w) => w.status()),
      ...[...rejected].map(([id, error]) => ({ id, state: 'invalid' as const, error })),
    ],
    async stop() {
      if (stopped) return;
      stopped = true;
      if (settleHeap !== undefined && settleHeap !== 'done') clearTimeout(settleHeap);
      await Promise.all(ops.values());
      await Promise.all([...workers.values()].map((w) => w.stop({ publishOffline: true })));
      workers.clear();
      try {
        await driver.stop();
      } catch (err) {
        log.warn({ err: errorMessage(err) }, `stopping the ${protocol} driver failed: ${errorMessage(err)}`);
      }
      await mqtt.stop();
      await dmi.stop();
      log.info(`mapper ${protocol} stopped`);
    },
  };
}
