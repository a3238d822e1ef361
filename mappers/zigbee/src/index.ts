export { zigbeeMapper, zigbeeOptionsFromEnv } from './mapper.js';
export { ZigbeeDriver, type ZigbeeMapperOptions } from './driver/driver.js';
export {
  ZigbeeProtocolConfigSchema,
  ZigbeeVisitorConfigSchema,
  type ZigbeeProtocolConfig,
  type ZigbeeVisitorConfig,
  type CoordinatorConfig,
} from './config.js';
export {
  zigbeeTopics,
  PermitJoinRequestSchema,
  type PermitJoinResult,
  type UndeclaredDevice,
} from './pairing/pairing.js';
export { permitJoinOverMqtt } from './pairing/permit-join-client.js';
export { checkVisitor, planWrite, toTwin, toZcl, type WritePlan } from './codec/zcl.js';
export { loadOrCreateSecrets, type NetworkSecrets } from './transport/network-key.js';
export { zigbeeError } from './driver/session.js';
