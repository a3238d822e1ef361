/** @edgetwin/mapper-modbus/sim: the Modbus TCP/RTU slave simulator (tests, the quickstart, `edgetwin-modbus-sim`). */
export { startModbusSimulator, type ModbusSimulator, type SimulatorOptions } from './simulator.js';
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
} from './config.js';
export { SimSlave } from './slave.js';
