/**
 * The mapper contract. A protocol mapper is a `MapperDefinition`: two configData schemas and a
 * driver factory. The runtime (`runMapper`) does everything protocol-independent: the broker
 * connection, learning specs, validating configData, collect and report cycles, applying deltas,
 * device state, and reconnecting with backoff. A driver only moves values to and from devices.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Device, DeviceModel, ModelProperty } from '../schema/resources.js';
import type { TwinValue } from '../schema/values.js';
import type { Clock } from '../util/clock.js';

/** One value read from (or pushed by) a device. */
export interface Reading {
  value: TwinValue;
  /** Device clock, ms since epoch, when the device says when it measured. */
  sourceTime?: number;
  /** Protocol status, e.g. an OPC UA StatusCode name; absent means good. */
  quality?: string;
}

/** A property as the driver sees it: model data, validated visitor config, resolved cycles. */
export interface MapperProperty<V> {
  name: string;
  model: ModelProperty;
  /** The visitor configData, the model's merged with the device's, validated by the mapper's schema. */
  visitor: V;
  /** Milliseconds between reads (the default when the spec says 0 or nothing). */
  collectCycle: number;
  /** Milliseconds between reports. */
  reportCycle: number;
}

export interface MapperDevice<P, V> {
  /** `{namespace}/{name}` */
  id: string;
  namespace: string;
  name: string;
  /** The protocol configData, the model's merged with the device's, validated. */
  protocol: P;
  properties: readonly MapperProperty<V>[];
  device: Device;
  model: DeviceModel;
}

/** What a device is reported as while its connection is down. */
export type LostState = 'offline' | 'unhealthy';

/**
 * The state to report for a failed connect or a lost session: an error whose `details.deviceState`
 * is 'unhealthy' (set by drivers when the path to the device, not the device, is down) gives
 * 'unhealthy'; anything else 'offline'.
 */
export function lostStateOf(err: unknown, state?: LostState): LostState {
  if (state) return state;
  const d = (err as { details?: { deviceState?: unknown } } | undefined)?.details?.deviceState;
  return d === 'unhealthy' ? 'unhealthy' : 'offline';
}

/** Callbacks from a driver's session back into the runtime. */
export interface SessionHooks {
  /** A pushed value (subscription, notification, attribute report). */
  onReading(property: string, reading: Reading): void;
  /**
   * The connection to the device is gone; the runtime closes the session and reconnects with backoff.
   * `state` says what to report meanwhile: 'offline' (default: the device is unreachable) or
   * 'unhealthy' (the path to it is broken, e.g. a gateway, coordinator or radio adapter is down).
   */
  onLost(err: Error, state?: LostState): void;
}

/** A live connection to one device. */
export interface DeviceSession<V> {
  /**
   * Reads the given properties, batched as the protocol allows. A property that failed maps to an
   * Error (e.g. an EdgeTwinError 'ET_PROTOCOL' with the protocol status in `details`).
   */
  read?(properties: readonly MapperProperty<V>[], signal: AbortSignal): Promise<Map<string, Reading | Error>>;
  /**
   * Starts pushing values for the properties through `hooks.onReading`. Returns the names of the
   * properties it could NOT subscribe; the runtime polls those with `read`.
   */
  subscribe?(properties: readonly MapperProperty<V>[], signal: AbortSignal): Promise<string[]>;
  /**
   * Writes a desired value once; returns the value read back when the driver has it (else the
   * runtime reads it). When the device refuses, throw an EdgeTwinError 'ET_PROTOCOL' whose
   * `details.status` names the device's status (e.g. "BadUserAccessDenied", "IllegalDataAddress");
   * the runtime reports it as the write's `failed` outcome without retrying. Other errors
   * (timeouts, lost connections) are retried a bounded number of times.
   */
  write(property: MapperProperty<V>, value: TwinValue, signal: AbortSignal): Promise<Reading | undefined>;
  /**
   * The value the device holds after `value` is written, in the model type: float32 rounding,
   * register scale, fixed-point resolution. The runtime compares desired and read-back values
   * through it, so 21.3 written to a float32 counts as applied when 21.299999237060547 reads back.
   * Without it, values are compared by the model type only. Throwing means "cannot hold it".
   */
  represent?(property: MapperProperty<V>, value: TwinValue): TwinValue;
  close(): Promise<void>;
}

export interface MapperDriver<P, V> {
  connect(device: MapperDevice<P, V>, hooks: SessionHooks, signal: AbortSignal): Promise<DeviceSession<V>>;
  /**
   * Optional: device `id` (`ns/name`) was removed from this node (edgecore's RemoveDevice), after
   * its session was closed. Not called on reconnects or spec changes.
   */
  removed?(id: string): void;
  /** Releases everything the driver holds (shared connections, coordinators). */
  stop(): Promise<void>;
}

/** Extra MQTT access for drivers with their own topics (e.g. ZigBee permit-join requests). */
export interface MapperMqtt {
  publish(topic: string, payload: string | Buffer, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
}

export interface MapperContext {
  nodeName: string;
  /** A directory the mapper may keep state in (certificates, network keys). */
  dataDir: string;
  logger: Logger;
  clock: Clock;
  mqtt: MapperMqtt;
}

export interface MapperDefinition<PS extends TSchema = TSchema, VS extends TSchema = TSchema> {
  /** `spec.protocol.protocolName` of the devices this mapper serves, e.g. "modbus". */
  protocol: string;
  protocolConfigSchema: PS;
  visitorConfigSchema: VS;
  defaults?: { collectCycleMs?: number; reportCycleMs?: number };
  createDriver(ctx: MapperContext): MapperDriver<Static<PS>, Static<VS>>;
}

export function defineMapper<PS extends TSchema, VS extends TSchema>(
  def: MapperDefinition<PS, VS>,
): MapperDefinition<PS, VS> {
  return def;
}

/** A device and its DeviceModel, as a mapper gets them from edgecore (over DMI). */
export interface MapperSpecMessage {
  device: Device;
  model: DeviceModel;
}
