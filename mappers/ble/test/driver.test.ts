/**
 * The driver through the DeviceSession interface, with the REAL noble library driven by simulated
 * peripherals through noble's bindings contract (no Bluetooth radio exists on a CI machine).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { type DeviceSession, type MapperDriver, type Reading } from '@edgetwin/sdk/mapper';
import { waitFor } from '@edgetwin/sdk/testing';
import { createBleDriver, type BleProtocolConfig, type BleVisitorConfig } from '@edgetwin/mapper-ble';
import {
  DEMO,
  SimBindings,
  SimWorld,
  addDemoPeripherals,
  runSensor,
  type DemoPeripherals,
} from '@edgetwin/mapper-ble/sim';
import { exampleDevice, recordingHooks, signal, testContext, type BleDevice } from './helpers.js';

type Driver = MapperDriver<BleProtocolConfig, BleVisitorConfig>;
type Session = DeviceSession<BleVisitorConfig>;

let world: SimWorld;
let demo: DemoPeripherals;
let driver: Driver;
const sessions: Session[] = [];

function start(opts: { notifyIntervalMs?: number } = {}): void {
  world = new SimWorld();
  demo = addDemoPeripherals(world);
  runSensor(world, demo.sensor, opts.notifyIntervalMs ?? 50);
  driver = createBleDriver(testContext(), { bindings: new SimBindings(world), operationTimeoutMs: 3000 });
}

async function open(device: BleDevice, hooks = recordingHooks()): Promise<Session> {
  const s = await driver.connect(device, hooks, signal());
  sessions.push(s);
  return s;
}

function value(results: Map<string, Reading | Error>, name: string): Reading['value'] {
  const r = results.get(name);
  if (!r || r instanceof Error) throw r ?? new Error(`no result for ${name}`);
  return r.value;
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await driver.stop();
  await world.stop();
});

describe('BLE driver over noble', () => {
  it('finds the thermometer by its MAC address among other advertisers and reads its temperature', async () => {
    start();
    const device = exampleDevice('ble-thermometer-1');
    const session = await open(device);
    expect(demo.thermometer.connected).toBe(true);
    expect(demo.light.connected).toBe(false);
    const results = await session.read!(device.properties, signal());
    const t = value(results, 'temperature');
    expect(typeof t).toBe('number');
    expect(t).toBeGreaterThanOrEqual(22.25);
    expect(t).toBeLessThanOrEqual(23.25);
    expect(value(results, 'temperature-enable')).toBe('ON');
  });

  it('a KubeEdge dataConverter from existing YAML reads the same characteristic', async () => {
    start();
    const device = exampleDevice('ble-thermometer-1', (d) => {
      // KubeEdge style: the ambient high byte (index 3) times 2 gives whole degrees.
      d.spec.properties[0]!.visitors!.configData = {
        characteristicUUID: DEMO.thermometer.data,
        dataConverter: {
          startIndex: 3,
          endIndex: 3,
          orderOfOperations: [{ operationType: 'Multiply', operationValue: 2 }],
        },
      };
    });
    const session = await open(device);
    expect(value(await session.read!(device.properties, signal()), 'temperature')).toBe(22);
  });

  it('subscribes to notifying characteristics and pushes each new value', async () => {
    start();
    const device = exampleDevice('ble-env-sensor-1');
    const hooks = recordingHooks();
    const session = await open(device, hooks);
    const polled = await session.subscribe!(device.properties, signal());
    expect(polled).toEqual([]);
    await waitFor(() => new Set(hooks.valuesOf('temperature')).size >= 3, 10_000, 'three different temperatures');
    for (const t of hooks.valuesOf('temperature')) {
      expect(t).toBeGreaterThanOrEqual(20);
      expect(t).toBeLessThanOrEqual(23);
    }
    expect(hooks.valuesOf('humidity').length).toBeGreaterThan(0);
  });

  it('properties that cannot notify are handed back to be polled', async () => {
    start();
    const device = exampleDevice('ble-thermometer-1');
    const session = await open(device);
    expect(await session.subscribe!(device.properties, signal())).toEqual(['temperature', 'temperature-enable']);
  });

  it('writes a desired value through dataWrite and the typed codec, and returns what the device then holds', async () => {
    start();
    const device = exampleDevice('ble-light-1');
    const session = await open(device);
    const [power, brightness] = device.properties;
    const afterPower = await session.write(power!, 'ON', signal());
    expect(afterPower?.value).toBe('ON');
    expect(demo.light.characteristic(DEMO.light.service, DEMO.light.power)?.value).toEqual(Buffer.from([1]));
    const afterBrightness = await session.write(brightness!, 80, signal());
    expect(afterBrightness?.value).toBe(80);
    expect(demo.light.characteristic(DEMO.light.service, DEMO.light.brightness)?.value).toEqual(Buffer.from([80]));
    expect(value(await session.read!(device.properties, signal()), 'power')).toBe('ON');
  });

  it('turning the thermometer OFF through dataWrite makes it read zeros, as a SensorTag does', async () => {
    start();
    const device = exampleDevice('ble-thermometer-1');
    const session = await open(device);
    await session.write(device.properties[1]!, 'OFF', signal());
    expect(value(await session.read!(device.properties, signal()), 'temperature')).toBe(0);
  });

  it('a value missing from dataWrite is refused with the accepted values and nothing is written', async () => {
    start();
    const device = exampleDevice('ble-light-1');
    const session = await open(device);
    const err = await session.write(device.properties[0]!, 'BLINK', signal()).catch((e: unknown) => e as Error);
    expect(isEdgeTwinError(err, 'ET_BAD_VALUE')).toBe(true);
    expect((err as Error).message).toContain('"ON", "OFF"');
    expect(demo.light.characteristic(DEMO.light.service, DEMO.light.power)?.value).toEqual(Buffer.from([0]));
  });

  it('a wrong characteristic UUID fails that property with an error listing what the peripheral has', async () => {
    start();
    const device = exampleDevice('ble-env-sensor-1', (d) => {
      d.spec.properties[1]!.visitors!.configData!.characteristicUUID = '2a1f';
    });
    const session = await open(device);
    const results = await session.read!(device.properties, signal());
    expect(typeof value(results, 'temperature')).toBe('number');
    const err = results.get('humidity');
    expect(isEdgeTwinError(err, 'ET_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('has no characteristic 2a1f in service 181a');
    expect((err as Error).message).toContain('181a/2a6e, 181a/2a6f');
    expect(await session.subscribe!(device.properties, signal())).toEqual(['humidity']);
  });

  it('a wrong service UUID names the services the peripheral has', async () => {
    start();
    const device = exampleDevice('ble-light-1', (d) => {
      d.spec.properties[0]!.visitors!.configData!.serviceUUID = '0000ff20-0000-1000-8000-00805f9b34fb';
    });
    const session = await open(device);
    const err = await session.write(device.properties[0]!, 'ON', signal()).catch((e: unknown) => e as Error);
    expect((err as Error).message).toContain('has no service 0000ff2000001000800000805f9b34fb; its services are ff10');
  });

  it('serves several peripherals at once over one adapter', async () => {
    start();
    const names = ['ble-env-sensor-1', 'ble-thermometer-1', 'ble-light-1'];
    const devices = names.map((n) => exampleDevice(n));
    const opened = await Promise.all(devices.map((d) => open(d)));
    expect([demo.sensor, demo.thermometer, demo.light].every((p) => p.connected)).toBe(true);
    const results = await Promise.all(opened.map((s, i) => s.read!(devices[i]!.properties, signal())));
    expect(typeof value(results[0]!, 'humidity')).toBe('number');
    expect(typeof value(results[1]!, 'temperature')).toBe('number');
    expect(value(results[2]!, 'brightness')).toBe(50);
  });

  it('a peripheral that drops the link and comes back is reconnected and re-subscribed', async () => {
    start();
    const device = exampleDevice('ble-env-sensor-1', (d) => {
      d.spec.protocol!.configData!.reconnectIntervalMs = 0;
    });
    const hooks = recordingHooks();
    const first = await open(device, hooks);
    await first.subscribe!(device.properties, signal());
    await waitFor(() => hooks.valuesOf('temperature').length > 0, 10_000, 'a first notification');

    demo.sensor.goAway();
    await waitFor(() => hooks.lost.length === 1, 10_000, 'the lost link to be reported');
    expect(hooks.lost[0]!.message).toContain('disconnected');
    await first.close();

    // Out of range: a reconnect attempt fails with a clear reason.
    const tooSoon = await driver
      .connect({ ...device, protocol: { ...device.protocol, scanTimeoutMs: 300 } }, recordingHooks(), signal())
      .catch((e: unknown) => e as Error);
    expect(isEdgeTwinError(tooSoon, 'ET_UNAVAILABLE')).toBe(true);
    expect((tooSoon as Error).message).toContain('did not advertise within 300 ms');

    demo.sensor.comeBack();
    const again = recordingHooks();
    const second = await open(device, again);
    expect(await second.subscribe!(device.properties, signal())).toEqual([]);
    const before = again.valuesOf('temperature').length;
    await waitFor(() => again.valuesOf('temperature').length >= before + 3, 10_000, 'notifications after reconnect');
    expect(again.lost).toEqual([]);
  });

  it('a read in flight when the link drops fails with the lost link instead of hanging', async () => {
    start();
    await driver.stop();
    // Operation timeouts far beyond the test timeout: only the link loss can end the read.
    driver = createBleDriver(testContext(), { bindings: new SimBindings(world), operationTimeoutMs: 600_000 });
    const device = exampleDevice('ble-thermometer-1');
    const hooks = recordingHooks();
    const session = await open(device, hooks);
    const reading = session.read!(device.properties, signal());
    demo.thermometer.goAway();
    const results = await reading;
    await waitFor(() => hooks.lost.length === 1, 5000, 'the lost link');
    const failed = [...results.values()].filter((r): r is Error => r instanceof Error);
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) {
      expect(isEdgeTwinError(e, 'ET_UNAVAILABLE')).toBe(true);
      expect(e.message).toContain('peripheral e7:00:00:00:00:02 disconnected');
    }
  });
});

describe('BLE driver without a usable adapter', () => {
  it('a powered-off adapter fails every read with the reason, and the session ends when power comes back', async () => {
    world = new SimWorld();
    demo = addDemoPeripherals(world);
    world.adapterState = 'poweredOff';
    driver = createBleDriver(testContext(), { bindings: new SimBindings(world), adapterTimeoutMs: 300 });
    const device = exampleDevice('ble-light-1');
    const hooks = recordingHooks();
    const session = await open(device, hooks);
    const results = await session.read!(device.properties, signal());
    for (const name of ['power', 'brightness']) {
      const err = results.get(name);
      expect(isEdgeTwinError(err, 'ET_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain('no usable Bluetooth adapter: the adapter is powered off');
    }
    await expect(session.write(device.properties[0]!, 'ON', signal())).rejects.toThrow(/powered off/);
    world.setAdapterState('poweredOn');
    await waitFor(() => hooks.lost.length === 1, 5000, 'the session to ask for a reconnect');
  });

  it('an adapter without LE support is reported as such', async () => {
    world = new SimWorld();
    addDemoPeripherals(world);
    world.adapterState = 'unsupported';
    driver = createBleDriver(testContext(), { bindings: new SimBindings(world), adapterTimeoutMs: 300 });
    const device = exampleDevice('ble-thermometer-1');
    const session = await open(device);
    const err = (await session.read!(device.properties, signal())).get('temperature');
    expect((err as Error).message).toContain('does not support Bluetooth Low Energy');
  });
});
