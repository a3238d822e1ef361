export { opcuaMapper } from './mapper.js';
export {
  OpcuaProtocolConfigSchema,
  OpcuaVisitorConfigSchema,
  SecurityModeNames,
  SecurityPolicyNames,
  OpcuaDataTypeNames,
  resolveSecurity,
  type OpcuaProtocolConfig,
  type OpcuaVisitorConfig,
  type SecurityModeName,
  type SecurityPolicyName,
  type OpcuaDataTypeName,
} from './config.js';
export { createOpcuaDriver, defaultPkiDir, type OpcuaDriverOptions } from './driver/driver.js';
export { toVariant, fromVariant, toReading } from './codec/values.js';
export { certificateThumbprint, pkiLayout, readCertificateDer, trustServerCertificate } from './transport/pki.js';
export {
  startOpcuaSimulator,
  SIM_RESOURCE_PATH,
  type OpcuaSimulator,
  type OpcuaSimulatorOptions,
  type SimMonitoredItem,
  type SimSecurityPolicy,
} from './sim/server.js';
export {
  plantNodes,
  TypedVariables,
  PLANT_NAMESPACE_URI,
  type Plant,
  type PlantState,
  type TypedVariable,
} from './sim/plant.js';
