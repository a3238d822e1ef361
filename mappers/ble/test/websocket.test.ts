/**
 * The simulator as a separate server: noble's own websocket bindings (the ones NOBLE_WEBSOCKET=1
 * selects) talk to `startBleSimulator` on ws://localhost:2846, as in the quickstart. A refused
 * write comes back through the ATT error extension of the protocol (src/transport/websocket-att.ts);
 * a server without the extension still serves plain reads and writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import type { MapperDriver } from '@edgetwin/sdk/mapper';
import { waitFor } from '@edgetwin/sdk/testing';
import { createBleDriver, type BleProtocolConfig, type BleVisitorConfig } from '@edgetwin/mapper-ble';
import { DEMO, NOBLE_WEBSOCKET_PORT, startBleSimulator, type BleSimulator } from '@edgetwin/mapper-ble/sim';
import { exampleDevice, lockedLight, recordingHooks, signal, testContext } from './helpers.js';

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

describe('ATT errors over the websocket protocol', () => {
  const scene = (s: BleSimulator) =>
    s.world.get(DEMO.light.address)!.characteristic(DEMO.light.service, DEMO.light.scene)!;

  it('a refused write comes back with its ATT name; the grant characteristic lets the next one through', async () => {
    const server = await startBleSimulator({ port: NOBLE_WEBSOCKET_PORT, notifyIntervalMs: 1000 });
    const d = createBleDriver(testContext(), { bindings: 'websocket', operationTimeoutMs: 5000 });
    try {
      const device = lockedLight();
      const session = await d.connect(device, recordingHooks(), signal());
      const [grant, sceneProp] = device.properties;
      const err = await session.write(sceneProp!, 9, signal()).catch((e: unknown) => e);
      expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
      expect((err as { details: Record<string, unknown> }).details).toMatchObject({
        status: 'InsufficientAuthentication',
        attErrorCode: 5,
      });
      expect(scene(server).writeAttempts).toBe(1);
      await session.write(grant!, 'ON', signal());
      expect((await session.write(sceneProp!, 9, signal()))?.value).toBe(9);
      expect(scene(server).value).toEqual(Buffer.from([9]));

      // A refused read: noble alone would hand back no bytes; the extension names the refusal.
      scene(server).readError = 0x02;
      const read = (await session.read!([sceneProp!], signal())).get(sceneProp!.name);
      expect(isEdgeTwinError(read, 'ET_PROTOCOL')).toBe(true);
      expect((read as unknown as { details: Record<string, unknown> }).details).toMatchObject({
        status: 'ReadNotPermitted',
        attRequestOpcode: 0x0a,
      });
      await session.close();
    } finally {
      await d.stop();
      await server.stop();
    }
  });

  it('a server without the extension still serves writes; a refusal it cannot report is a timeout', async () => {
    const server = await startBleSimulator({ port: NOBLE_WEBSOCKET_PORT, notifyIntervalMs: 1000, attErrors: false });
    const d = createBleDriver(testContext(), { bindings: 'websocket', operationTimeoutMs: 1000 });
    try {
      const light = exampleDevice('ble-light-1');
      const session = await d.connect(light, recordingHooks(), signal());
      expect((await session.write(light.properties[1]!, 40, signal()))?.value).toBe(40);
      const locked = lockedLight();
      const err = await session.write(locked.properties[1]!, 9, signal()).catch((e: unknown) => e);
      expect(isEdgeTwinError(err, 'ET_TIMEOUT')).toBe(true);
      expect(scene(server).writeAttempts).toBe(1);
      await session.close();
    } finally {
      await d.stop();
      await server.stop();
    }
  });
});
