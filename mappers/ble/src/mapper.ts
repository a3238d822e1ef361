/**
 * The BLE mapper definition: devices whose `protocolName` is `bluetooth` (KubeEdge's name).
 */
import { defineMapper } from '@edgetwin/sdk/mapper';
import { BLE_PROTOCOL, BleProtocolConfigSchema, BleVisitorConfigSchema } from './config.js';
import { createBleDriver, type BleDriverOptions } from './driver/driver.js';

export function createBleMapper(opts: BleDriverOptions = {}) {
  return defineMapper({
    protocol: BLE_PROTOCOL,
    protocolConfigSchema: BleProtocolConfigSchema,
    visitorConfigSchema: BleVisitorConfigSchema,
    defaults: { collectCycleMs: 5_000, reportCycleMs: 5_000 },
    createDriver: (ctx) => createBleDriver(ctx, opts),
  });
}

/** The mapper with bindings chosen by EDGETWIN_BLE_BINDINGS (hci by default), read when the first device connects. */
export const bleMapper = createBleMapper();
