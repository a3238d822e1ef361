import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { type Device, type DeviceModel } from '@edgetwin/sdk';
import {
  toMapperDevice,
  type MapperContext,
  type MapperDevice,
  type Reading,
  type SessionHooks,
} from '@edgetwin/sdk/mapper';
import { systemClock } from '@edgetwin/sdk/util';
import { bleMapper, type BleProtocolConfig, type BleVisitorConfig } from '@edgetwin/mapper-ble';

export const EXAMPLES = fileURLToPath(new URL('../examples/ble-demo.yaml', import.meta.url));

export type BleDevice = MapperDevice<BleProtocolConfig, BleVisitorConfig>;

export function loadExamples(): { devices: Device[]; models: DeviceModel[] } {
  const docs = parseAllDocuments(readFileSync(EXAMPLES, 'utf8')).map((d) => d.toJS() as Device | DeviceModel);
  return {
    devices: docs.filter((d): d is Device => d.kind === 'Device'),
    models: docs.filter((d): d is DeviceModel => d.kind === 'DeviceModel'),
  };
}

/** The example device `name` as the driver sees it, optionally with changed visitor configData. */
export function exampleDevice(name: string, patch: (device: Device) => void = () => undefined): BleDevice {
  const { devices, models } = loadExamples();
  const device = devices.find((d) => d.metadata.name === name);
  if (!device) throw new Error(`no example device ${name}`);
  patch(device);
  const model = models.find((m) => m.metadata.name === device.spec.deviceModelRef.name);
  if (!model) throw new Error(`no model for ${name}`);
  return toMapperDevice(bleMapper, { device, model });
}

/**
 * The demo light with its properties pointed at `grant` (power: ff14, dataWrite ON/OFF) and
 * `scene` (brightness: ff13, uint8), which refuses writes with InsufficientAuthentication until granted.
 */
export function lockedLight(): BleDevice {
  return exampleDevice('ble-light-1', (d) => {
    d.spec.properties[0]!.visitors!.configData!.characteristicUUID = 'ff14';
    d.spec.properties[1]!.visitors!.configData!.characteristicUUID = 'ff13';
  });
}

export function testContext(): MapperContext {
  return {
    nodeName: 'test-node',
    dataDir: '/tmp',
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    clock: systemClock,
    mqtt: {
      publish: () => Promise.reject(new Error('the BLE driver does not use MQTT')),
      subscribe: () => Promise.reject(new Error('the BLE driver does not use MQTT')),
    },
  };
}

export interface RecordingHooks extends SessionHooks {
  readings: { property: string; reading: Reading }[];
  lost: Error[];
  valuesOf(property: string): Reading['value'][];
}

export function recordingHooks(): RecordingHooks {
  const readings: { property: string; reading: Reading }[] = [];
  const lost: Error[] = [];
  return {
    readings,
    lost,
    onReading: (property, reading) => readings.push({ property, reading }),
    onLost: (err) => lost.push(err),
    valuesOf: (property) => readings.filter((r) => r.property === property).map((r) => r.reading.value),
  };
}

export const signal = (): AbortSignal => new AbortController().signal;
