export { EdgeCore, type EdgeCoreOptions } from './edge/edgecore.js';
export { EmbeddedBroker } from './broker/embedded-broker.js';
export {
  MapperSupervisor,
  type MapperSupervisorOptions,
  type MapperProcessStatus,
} from './supervisor/mapper-supervisor.js';
export { findMapperCommand, MAPPER_PACKAGES, type MapperCommand } from './supervisor/mapper-commands.js';
export { MAPPER_NODE_FLAGS, mapperNodeFlags } from './supervisor/mapper-node-flags.js';
export { loadDeviceDirectory, type DirectoryContents } from './devices/device-directory.js';
export { parseResourceFile, type LoadProblem } from './devices/yaml-documents.js';
export * from './cloud/index.js';
export * from './hub/index.js';
export {
  PodAgent,
  logsCommand,
  imagesCommand,
  imagesImportCommand,
  parsePod,
  type PodAgentOptions,
  type PodAgentEvents,
  type PodView,
  type ApplyResult,
  type PodStatus,
  type Pod,
  type PodSource,
} from './agent/index.js';
export * from './security/index.js';
