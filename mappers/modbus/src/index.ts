/** @edgetwin/mapper-modbus: the Modbus TCP/RTU mapper. The simulator is the `./sim` entry. */
export { modbusMapper } from './mapper.js';
export {
  ModbusProtocolConfigSchema,
  ModbusVisitorConfigSchema,
  RegisterTables,
  DataTypes,
  normalizeDataType,
  type ModbusProtocolConfig,
  type ModbusVisitorConfig,
  type RegisterTable,
  type DataType,
} from './config.js';
export { valueSpec, decodeRegisters, decodeBits, encodeRegisters, type ValueSpec } from './codec/registers.js';
export { planReads, type PlanItem, type PlanOptions, type ReadRequest } from './driver/planner.js';
export { createModbusDriver, endpointOf, type ModbusDriver, type ModbusDriverOptions } from './driver/driver.js';
export { ModbusSession } from './driver/session.js';
export {
  ModbusConnection,
  endpointKey,
  type Endpoint,
  type ModbusRequest,
  type ModbusResult,
  type ConnectionOptions,
} from './transport/connection.js';
export { ConnectionPool, type Lease } from './transport/pool.js';
export { EXCEPTION_NAMES } from './transport/errors.js';
