/** The OPC UA mapper definition: devices whose protocolName is `opcua`. */
import { defineMapper } from '@edgetwin/sdk/mapper';
import { OpcuaProtocolConfigSchema, OpcuaVisitorConfigSchema } from './config.js';
import { createOpcuaDriver } from './driver/driver.js';

export const opcuaMapper = defineMapper({
  protocol: 'opcua',
  protocolConfigSchema: OpcuaProtocolConfigSchema,
  visitorConfigSchema: OpcuaVisitorConfigSchema,
  defaults: { collectCycleMs: 1000, reportCycleMs: 1000 },
  createDriver: (ctx) => createOpcuaDriver(ctx),
});
