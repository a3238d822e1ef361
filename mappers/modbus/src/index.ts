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
export { valueSpec, decodeRegisters, decodeBits, encodeRegisters, type ValueSpec } from './codec.js';
export { planReads, type PlanItem, type PlanOptions, type ReadRequest } from './planner.js';
export { createModbusDriver, endpointOf, type ModbusDriver, type ModbusDriverOptions } from './driver.js';
export { ModbusSession } from './session.js';
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
export { startModbusSimulator, type ModbusSimulator, type SimulatorOptions } from './sim/simulator.js';
export {
  SimulatorConfigSchema,
  loadSimulatorConfig,
  parseSimulatorConfig,
  type SimulatorConfig,
  type SimulatorConfigInput,
  type SimSlaveInput,
  type SimRegisterInput,
  type SimBitInput,
  type SimSlaveConfig,
  type SimRegister,
  type SimBit,
} from './sim/config.js';
export { SimSlave } from './sim/slave.js';
