/**
 * Refusals the peripheral answers with an ATT Error Response, through the real noble library
 * over the simulator's in-process bindings: the demo light's `scene` characteristic advertises
 * `write` but answers InsufficientAuthentication until `grant` is written. The session fails the
 * write with ET_PROTOCOL and the spec name (final for the runtime), the peripheral counts one
 * attempt, and after the grant the same write goes through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { type DeviceSession, type MapperDriver } from '@edgetwin/sdk/mapper';
import { createBleDriver, type BleProtocolConfig, type BleVisitorConfig } from '@edgetwin/mapper-ble';
import { DEMO, SimBindings, SimWorld, addDemoPeripherals, type DemoPeripherals } from '@edgetwin/mapper-ble/sim';
import { lockedLight, recordingHooks, signal, testContext, type BleDevice } from './helpers.js';

let world: SimWorld;
let demo: DemoPeripherals;
let driver: MapperDriver<BleProtocolConfig, BleVisitorConfig>;
let session: DeviceSession<BleVisitorConfig> | undefined;

afterEach(async () => {
  await session?.close();
  await driver.stop();
  await world.stop();
});

async function open(device: BleDevice): Promise<DeviceSession<BleVisitorConfig>> {
  world = new SimWorld();
  demo = addDemoPeripherals(world);
  driver = createBleDriver(testContext(), { bindings: new SimBindings(world), operationTimeoutMs: 3000 });
  session = await driver.connect(device, recordingHooks(), signal());
  return session;
}

const details = (err: unknown): Record<string, unknown> => (err as { details: Record<string, unknown> }).details;

describe('ATT Error Responses from the simulated peripheral', () => {
  it('a write the peripheral refuses fails with its ATT name once; after the grant the same write is applied', async () => {
    const device = lockedLight();
    const s = await open(device);
    const [grant, scene] = device.properties;
    const c = demo.light.characteristic(DEMO.light.service, DEMO.light.scene)!;
    expect(c.properties).toContain('write');

    const err = await s.write(scene!, 7, signal()).catch((e: unknown) => e);
    expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
    expect(details(err)).toMatchObject({
      status: 'InsufficientAuthentication',
      attErrorCode: 5,
      attRequestOpcode: 0x12,
    });
    expect((err as Error).message).toContain('refused the write of characteristic ff13 with ATT error 0x05');
    expect(c.writeAttempts).toBe(1);
    expect(c.value).toEqual(Buffer.from([0]));

    expect(await s.write(grant!, 'ON', signal())).toBeUndefined(); // write-only: nothing to read back
    expect((await s.write(scene!, 7, signal()))?.value).toBe(7);
    expect(c.writeAttempts).toBe(2);
    expect(c.value).toEqual(Buffer.from([7]));
  });

  it('a read the peripheral refuses fails with ReadNotPermitted while the other properties read', async () => {
    const device = lockedLight();
    const s = await open(device);
    demo.light.characteristic(DEMO.light.service, DEMO.light.scene)!.readError = 0x02;
    const results = await s.read!([device.properties[1]!], signal());
    const err = results.get('brightness');
    expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
    expect(details(err)).toMatchObject({ status: 'ReadNotPermitted', attRequestOpcode: 0x0a });
    demo.light.characteristic(DEMO.light.service, DEMO.light.scene)!.grantReads();
    expect((await s.read!([device.properties[1]!], signal())).get('brightness')).toEqual({ value: 0 });
  });
});
