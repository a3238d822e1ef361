import { defineMapper } from '@edgetwin/sdk/mapper';
import { ModbusProtocolConfigSchema, ModbusVisitorConfigSchema } from './config.js';
import { createModbusDriver } from './driver/driver.js';

/** The Modbus mapper definition, for `runMapper` / `mapperCli` from @edgetwin/sdk. */
export const modbusMapper = defineMapper({
  protocol: 'modbus',
  protocolConfigSchema: ModbusProtocolConfigSchema,
  visitorConfigSchema: ModbusVisitorConfigSchema,
  defaults: { collectCycleMs: 1000, reportCycleMs: 1000 },
  createDriver: (ctx) => createModbusDriver({ logger: ctx.logger, clock: ctx.clock }),
});
