/**
 * The BLE mapper under the sdk runtime (`runMapper`) against the sdk's DMI side (edgecore's
 * DeviceManagerService): devices arrive with RegisterDevice, values go out as ReportDeviceStatus,
 * desired values come back with UpdateDevice as writes. Peripherals are simulated behind the real
 * noble library.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { DmiSide, stopProcess, waitFor } from '@edgetwin/sdk/testing';
import { createBleMapper } from '@edgetwin/mapper-ble';
import {
  DEMO,
  SimBindings,
  SimWorld,
  addDemoPeripherals,
  runSensor,
  type DemoPeripherals,
} from '@edgetwin/mapper-ble/sim';
import { loadExamples } from './helpers.js';

const NODE = 'edge-ble';

/** The edgecore side of DMI (registration, device calls, reports), from the sdk testing kit. */
let twin: DmiSide;
let world: SimWorld;
let demo: DemoPeripherals;
let mapper: MapperHandle | undefined;

/** Reported values of `property` of device `name`, oldest first. */
function reported(name: string, property: string): string[] {
  return twin.updates({ namespace: 'default', name }).flatMap((u) => (u[property] === undefined ? [] : [u[property]]));
}

async function publishSpecs(names: string[]): Promise<void> {
  const { devices, models } = loadExamples();
  for (const name of names) {
    const device = devices.find((d) => d.metadata.name === name)!;
    device.spec.nodeName = NODE;
    const model = models.find((m) => m.metadata.name === device.spec.deviceModelRef.name)!;
    await twin.publishSpec(device, model);
  }
}

async function startMapper(adapter: 'poweredOn' | 'poweredOff' = 'poweredOn'): Promise<MapperHandle> {
  world = new SimWorld();
  world.adapterState = adapter;
  demo = addDemoPeripherals(world);
  runSensor(world, demo.sensor, 100);
  mapper = await runMapper(createBleMapper({ bindings: new SimBindings(world), adapterTimeoutMs: 500 }), {
    dmiSocket: twin.socketPath,
    nodeName: NODE,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    backoff: { initialMs: 100, maxMs: 500 },
    resultTimeoutMs: 500,
  });
  return mapper;
}

const state = (id: string) => mapper?.devices().find((d) => d.id === id);

describe('BLE mapper process behaviour (runMapper over DMI)', () => {
  beforeEach(async () => {
    twin = await DmiSide.start({ nodeName: NODE });
  });
  afterEach(async () => {
    await mapper?.stop();
    mapper = undefined;
    await world.stop();
    await twin.stop();
  });

  it('reports notified sensor values over DMI and a desired value switches the light on', async () => {
    await startMapper();
    await publishSpecs(['ble-env-sensor-1', 'ble-light-1', 'ble-thermometer-1']);
    await waitFor(() => reported('ble-env-sensor-1', 'temperature').length >= 2, 20_000, 'reported temperatures');
    for (const v of reported('ble-env-sensor-1', 'temperature')) expect(Number(v)).toBeGreaterThan(19);
    await waitFor(() => reported('ble-thermometer-1', 'temperature').length >= 1, 20_000, 'a polled thermometer value');
    await waitFor(() => state('default/ble-env-sensor-1')?.state === 'online', 20_000, 'the sensor to be online');

    await twin.setDesired({ namespace: 'default', name: 'ble-light-1' }, 'power', 'ON');
    await waitFor(
      () => demo.light.characteristic(DEMO.light.service, DEMO.light.power)?.value[0] === 1,
      20_000,
      'the light to be switched on',
    );
    await waitFor(() => reported('ble-light-1', 'power').includes('ON'), 20_000, 'power ON to be reported');
  });

  it('a dropped link reconnects and re-subscribes without restarting the mapper', async () => {
    await startMapper();
    await publishSpecs(['ble-env-sensor-1']);
    const id = 'default/ble-env-sensor-1';
    await waitFor(() => state(id)?.state === 'online', 20_000, 'the sensor to be online');
    demo.sensor.goAway();
    await waitFor(() => state(id)?.state === 'offline', 20_000, 'the sensor to be offline');
    expect(state(id)?.error).toContain('disconnected');
    demo.sensor.comeBack();
    await waitFor(() => state(id)?.state === 'online', 20_000, 'the sensor to be online again');
    const seen = reported('ble-env-sensor-1', 'temperature').length;
    await waitFor(
      () => reported('ble-env-sensor-1', 'temperature').length >= seen + 2,
      20_000,
      'notifications after the reconnect',
    );
    expect(demo.sensor.connected).toBe(true);
  });

  it('without a usable adapter each BLE device is unhealthy with the reason and the mapper keeps running', async () => {
    await startMapper('poweredOff');
    await publishSpecs(['ble-light-1', 'ble-thermometer-1']);
    for (const id of ['default/ble-light-1', 'default/ble-thermometer-1']) {
      await waitFor(() => state(id)?.state === 'unhealthy', 20_000, `${id} to be unhealthy`);
      expect(state(id)?.error).toContain('no usable Bluetooth adapter: the adapter is powered off');
    }
    expect(mapper!.connected()).toBe(true);
    // The radio comes up: the devices come online without a restart.
    world.setAdapterState('poweredOn');
    await waitFor(() => state('default/ble-light-1')?.state === 'online', 20_000, 'the light to be online');
  });

  it('the edgetwin-mapper-bluetooth process serves the simulated peripherals with EDGETWIN_BLE_BINDINGS=sim', async () => {
    world = new SimWorld(); // nothing in this process uses it; afterEach stops it
    const bin = fileURLToPath(new URL('../bin/edgetwin-mapper-bluetooth.js', import.meta.url));
    const child = spawn(
      process.execPath,
      [bin, '--dmi-socket', twin.socketPath, '--node-name', NODE, '--log-level', 'warn'],
      { env: { ...process.env, EDGETWIN_BLE_BINDINGS: 'sim' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    try {
      await publishSpecs(['ble-env-sensor-1', 'ble-thermometer-1']);
      await waitFor(
        () => reported('ble-env-sensor-1', 'humidity').length >= 1,
        20_000,
        'humidity from the mapper process',
      );
      await waitFor(
        () => reported('ble-thermometer-1', 'temperature').length >= 1,
        20_000,
        'temperature from the mapper process',
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    } finally {
      await stopProcess(child);
    }
  }, 60_000);
});
