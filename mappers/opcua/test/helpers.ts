/** Shared test helpers: devices as the runtime hands them to the driver, and a hooks recorder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { type PropertyType } from '@edgetwin/sdk';
import {
  type MapperContext,
  type MapperDevice,
  type MapperProperty,
  type Reading,
  type SessionHooks,
} from '@edgetwin/sdk/mapper';
import { systemClock } from '@edgetwin/sdk/util';
import { waitFor } from '@edgetwin/sdk/testing';
import { trustServerCertificate, type OpcuaProtocolConfig, type OpcuaVisitorConfig } from '@edgetwin/mapper-opcua';
import { type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';

const made: string[] = [];
// Registered on the root suite of each test file importing this module (files are isolated).
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `edgetwin-opcua-${prefix}-`));
  made.push(dir);
  return dir;
}

export function context(dataDir: string): MapperContext {
  return {
    nodeName: 'test-node',
    dataDir,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    clock: systemClock,
    mqtt: {
      publish: () => Promise.reject(new Error('the OPC UA driver publishes nothing itself')),
      subscribe: () => Promise.reject(new Error('the OPC UA driver subscribes to nothing itself')),
    },
  };
}

export function prop(
  name: string,
  type: PropertyType,
  visitor: Partial<OpcuaVisitorConfig>,
  opts: { collectCycle?: number; readOnly?: boolean } = {},
): MapperProperty<OpcuaVisitorConfig> {
  return {
    name,
    model: { name, type, accessMode: opts.readOnly ? 'ReadOnly' : 'ReadWrite' },
    visitor: { collect: 'subscribe', deadbandType: 'None', deadbandValue: 0, ...visitor },
    collectCycle: opts.collectCycle ?? 100,
    reportCycle: 1000,
  };
}

export function device(
  protocol: Partial<OpcuaProtocolConfig> & { url: string },
  properties: MapperProperty<OpcuaVisitorConfig>[],
  name = 'plant',
): MapperDevice<OpcuaProtocolConfig, OpcuaVisitorConfig> {
  return {
    id: `default/${name}`,
    namespace: 'default',
    name,
    protocol: { securityMode: 'None', timeoutMs: 10_000, keepAliveMs: 5_000, ...protocol },
    properties,
    device: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name, namespace: 'default' },
      spec: { deviceModelRef: { name: 'plant-model' }, properties: [] },
    },
    model: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'plant-model', namespace: 'default' },
      spec: { properties: properties.map((p) => p.model) },
    },
  };
}

/** Hooks that remember every pushed reading and every lost-link report. */
export class Recorder implements SessionHooks {
  readonly readings: { property: string; reading: Reading }[] = [];
  readonly lost: Error[] = [];
  onReading = (property: string, reading: Reading): void => {
    this.readings.push({ property, reading });
  };
  onLost = (err: Error): void => {
    this.lost.push(err);
  };
  of(property: string): Reading[] {
    return this.readings.filter((r) => r.property === property).map((r) => r.reading);
  }
  /** The first value ever pushed for `property`, waiting for it. */
  async first(property: string, timeoutMs = 20_000): Promise<Reading> {
    return waitFor(() => this.of(property)[0], timeoutMs, `a pushed value of ${property}`);
  }
  /** The next value pushed for `property` after this call (matching `pred`). */
  async next(property: string, timeoutMs = 20_000, pred: (r: Reading) => boolean = () => true): Promise<Reading> {
    const start = this.of(property).length;
    return waitFor(() => this.of(property).slice(start).find(pred), timeoutMs, `a pushed value of ${property}`);
  }
}

/** Puts the simulator's certificate into the mapper's trust list (what an operator does once). */
export async function trustServer(sim: OpcuaSimulator, pkiDir: string): Promise<void> {
  await trustServerCertificate(sim.certificateFile, pkiDir);
}

export function signal(): AbortSignal {
  return new AbortController().signal;
}
