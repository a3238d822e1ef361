/** Resources and a ready TwinService for tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  API_VERSION,
  modelKey,
  resolveDevice,
  type Device,
  type DeviceModel,
  type ModelProperty,
  type ResolvedDevice,
} from '@edgetwin/sdk';
import { openTwinStore, TwinService, type TwinStore } from '@edgetwin/device-twin';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

export const thermostatProps: ModelProperty[] = [
  { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', minimum: '-40', maximum: '125' },
  { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '30' },
  { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' },
  { name: 'power', type: 'BOOLEAN', accessMode: 'ReadWrite' },
];

export function model(name: string, properties: ModelProperty[] = thermostatProps): DeviceModel {
  return {
    apiVersion: API_VERSION,
    kind: 'DeviceModel',
    metadata: { name, namespace: 'default' },
    spec: { protocol: 'modbus', properties },
  };
}

export function device(
  name: string,
  opts: {
    model?: string;
    desired?: Record<string, string>;
    props?: string[];
    nodeName?: string;
    pushTopic?: Record<string, string>;
  } = {},
): Device {
  const props = opts.props ?? thermostatProps.map((p) => p.name);
  return {
    apiVersion: API_VERSION,
    kind: 'Device',
    metadata: { name, namespace: 'default' },
    spec: {
      deviceModelRef: { name: opts.model ?? 'thermostat' },
      nodeName: opts.nodeName ?? 'edge-1',
      protocol: { protocolName: 'modbus', configData: {} },
      properties: props.map((p) => {
        const desired = opts.desired?.[p];
        const topic = opts.pushTopic?.[p];
        return {
          name: p,
          ...(desired !== undefined ? { desired: { value: desired } } : {}),
          ...(topic !== undefined ? { pushMethod: { mqtt: { topic } } } : {}),
        };
      }),
    },
  };
}

export function resolveAll(
  models: DeviceModel[],
  devices: Device[],
): { models: DeviceModel[]; devices: ResolvedDevice[] } {
  const byKey = new Map(models.map((m) => [modelKey(m.metadata.namespace, m.metadata.name), m]));
  return { models, devices: devices.map((d) => resolveDevice(d, byKey)) };
}

export interface TwinFixture {
  dir: string;
  file: string;
  store: TwinStore;
  twin: TwinService;
  close(): Promise<void>;
}

/** A TwinService on a fresh SQLite file (or on `file` to reopen one). */
export async function openTwin(file?: string): Promise<TwinFixture> {
  const dir = file ? '' : mkdtempSync(join(tmpdir(), 'edgetwin-twin-'));
  const path = file ?? join(dir, 'twin.db');
  const store = openTwinStore({ file: path });
  const twin = new TwinService({ store, logger, nodeName: 'edge-1' });
  await twin.start();
  return {
    dir,
    file: path,
    store,
    twin,
    async close() {
      await twin.stop();
      store.close();
    },
  };
}

export function removeDir(dir: string): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
