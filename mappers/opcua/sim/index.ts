/** @edgetwin/mapper-opcua/sim: the OPC UA plant simulator (tests, the quickstart, `edgetwin-opcua-sim`). */
export {
  startOpcuaSimulator,
  SIM_RESOURCE_PATH,
  type OpcuaSimulator,
  type OpcuaSimulatorOptions,
  type SimMonitoredItem,
  type SimSecurityPolicy,
} from './server.js';
export {
  plantNodes,
  TypedVariables,
  PLANT_NAMESPACE_URI,
  type Plant,
  type PlantState,
  type TypedVariable,
} from './plant.js';
