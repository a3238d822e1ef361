/** @edgetwin/mapper-opcua: the OPC UA mapper. The plant simulator is the `./sim` entry. */
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
