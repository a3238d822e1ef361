export { zigbeeMapper, zigbeeOptionsFromEnv } from './mapper.js';
export { ZigbeeDriver, type ZigbeeMapperOptions } from './driver.js';
export {
  ZigbeeProtocolConfigSchema,
  ZigbeeVisitorConfigSchema,
  type ZigbeeProtocolConfig,
  type ZigbeeVisitorConfig,
  type CoordinatorConfig,
} from './schema.js';
export { zigbeeTopics, PermitJoinRequestSchema, type PermitJoinResult, type UndeclaredDevice } from './pairing.js';
export { permitJoinOverMqtt } from './permit-join-client.js';
export { checkVisitor, planWrite, toTwin, toZcl, type WritePlan } from './codec.js';
export { loadOrCreateSecrets, type NetworkSecrets } from './network-key.js';
export { zigbeeError } from './session.js';
