/**
 * The simulator as a separate server: noble's own websocket bindings (the ones NOBLE_WEBSOCKET=1
 * selects) talk to `startBleSimulator` on ws://localhost:2846, as in the quickstart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MapperDriver } from '@edgetwin/sdk/mapper';
import { waitFor } from '@edgetwin/sdk/testing';
import { createBleDriver, type BleProtocolConfig, type BleVisitorConfig } from '@edgetwin/mapper-ble';
import { DEMO, NOBLE_WEBSOCKET_PORT, startBleSimulator, type BleSimulator } from '@edgetwin/mapper-ble/sim';
import { exampleDevice, recordingHooks, signal, testContext } from './helpers.js';

let sim: BleSimulator;
let driver: MapperDriver<BleProtocolConfig, BleVisitorConfig>;

describe('BLE simulator over noble websocket bindings', () => {
  beforeAll(async () => {
    sim = await startBleSimulator({ port: NOBLE_WEBSOCKET_PORT, notifyIntervalMs: 50 });
    driver = createBleDriver(testContext(), { bindings: 'websocket', operationTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await driver?.stop();
    await sim?.stop();
  });

  it('reads, writes and receives notifications from the simulator server', async () => {
    const light = exampleDevice('ble-light-1');
    const lightSession = await driver.connect(light, recordingHooks(), signal());
    expect((await lightSession.write(light.properties[1]!, 30, signal()))?.value).toBe(30);
    expect(sim.world.get(DEMO.light.address)?.characteristic(DEMO.light.service, DEMO.light.brightness)?.value[0]).toBe(
      30,
    );

    const sensor = exampleDevice('ble-env-sensor-1');
    const hooks = recordingHooks();
    const sensorSession = await driver.connect(sensor, hooks, signal());
    expect(await sensorSession.subscribe!(sensor.properties, signal())).toEqual([]);
    await waitFor(() => hooks.valuesOf('humidity').length >= 3, 10_000, 'humidity notifications');
    for (const h of hooks.valuesOf('humidity')) expect(h).toBeGreaterThan(39);

    await lightSession.close();
    await sensorSession.close();
    expect(sim.world.get(DEMO.light.address)?.connected).toBe(false);
  });
});
