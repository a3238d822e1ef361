/**
 * A host without a Bluetooth stack (like this CI machine): noble's default entry throws
 * EAFNOSUPPORT at import. The mapper package must still load, and each device must get the reason.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { bleMapper, createBleDriver } from '@edgetwin/mapper-ble';
import { exampleDevice, recordingHooks, signal, testContext } from './helpers.js';

/** The kernel has a Bluetooth stack (noble's import then succeeds): this test is about hosts without one. */
const hasBluetoothStack = existsSync('/sys/class/bluetooth') || existsSync('/proc/net/bluetooth');

describe.skipIf(hasBluetoothStack)('BLE mapper on a host without Bluetooth', () => {
  it('loads without touching noble, and each device reads fail with "no Bluetooth adapter" and what to do', async () => {
    expect(bleMapper.protocol).toBe('bluetooth');
    await expect(import('@abandonware/noble')).rejects.toThrow(/EAFNOSUPPORT|Address family/);

    const driver = createBleDriver(testContext(), { bindings: 'hci' });
    try {
      const device = exampleDevice('ble-thermometer-1');
      const session = await driver.connect(device, recordingHooks(), signal());
      const err = (await session.read!(device.properties, signal())).get('temperature');
      expect(isEdgeTwinError(err, 'ET_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain('no Bluetooth adapter: noble could not open the HCI socket');
      expect((err as Error).message).toContain('EDGETWIN_BLE_BINDINGS=sim');
      await session.close();
    } finally {
      await driver.stop();
    }
  });
});
