/** edgecore: the edge daemon's composition root (`EdgeCore`) and the parts it is made of. */
export { EdgeCore, type EdgeCoreOptions } from './edge/edgecore.js';
export { EmbeddedBroker } from './broker/embedded-broker.js';
export {
  MapperSupervisor,
  type MapperSupervisorOptions,
  type MapperProcessStatus,
  mapperDmiTokenFile,
} from './supervisor/mapper-supervisor.js';
export { DMI_ANONYMOUS_MODES, type DmiAnonymous } from './dmi/dmi-anonymous.js';
export { findMapperCommand, MAPPER_PACKAGES, type MapperCommand } from './supervisor/mapper-commands.js';
export { MAPPER_NODE_FLAGS, mapperNodeFlags } from './supervisor/mapper-node-flags.js';
export { loadDeviceDirectory, type DirectoryContents } from './devices/device-directory.js';
export { installedMapperConfigs, type ConfigSchemaLookup } from './devices/mapper-config-schemas.js';
export { parseResourceFile, type LoadProblem } from './devices/yaml-documents.js';
export { EdgeHub, type EdgeHubOptions, type EdgeHubHandler, type TokenStore } from './hub/edge-hub.js';
export { EdgeCloudSync, type EdgeCloudSyncOptions } from './hub/edge-cloud-sync.js';
export { EdgePodRelay, type EdgePodRelayOptions } from './hub/edge-pod-relay.js';
export { NodeCredentials, RENEW_AT, type NodeCert } from './hub/node-credentials.js';
export * from './cloud-sync/index.js';
export * from './security/index.js';
